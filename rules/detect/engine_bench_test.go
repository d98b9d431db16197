package detect_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/tapwatch/tapwatch/rules"
	"github.com/tapwatch/tapwatch/rules/decode"
	"github.com/tapwatch/tapwatch/rules/detect"
	"github.com/tapwatch/tapwatch/test/testutil"
)

// benchFrame is one captured frame held in memory, so the benchmark
// measures decoding and detection, not the disk.
type benchFrame struct {
	data []byte
	ts   time.Time
	lt   decode.LinkType
}

// loadBenchFrames reads the Ethernet captures of the corpus (the set
// `make bench` replays), at most maxBytes of frames. Each capture keeps its
// own time line, as replay does; flows are not shared between files
// because their addresses rarely repeat.
func loadBenchFrames(tb testing.TB, maxBytes int) []benchFrame {
	tb.Helper()
	dir := testutil.CorpusPath(tb, "pcaps")
	raw, err := os.ReadFile(filepath.Join(dir, "MANIFEST.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var man struct {
		Files []struct {
			File      string `json:"file"`
			LinkTypes []int  `json:"linktypes"`
			Status    string `json:"parse_status"`
		} `json:"files"`
	}
	if err := json.Unmarshal(raw, &man); err != nil {
		tb.Fatalf("pcaps/MANIFEST.json: %v", err)
	}
	var out []benchFrame
	total := 0
	for _, f := range man.Files {
		if len(f.LinkTypes) != 1 || f.LinkTypes[0] != 1 || f.Status != "ok" {
			continue
		}
		r, err := decode.OpenPcap(filepath.Join(dir, f.File))
		if err != nil {
			continue
		}
		for total < maxBytes {
			data, ci, err := r.Next()
			if err != nil {
				if !errors.Is(err, io.EOF) {
					tb.Logf("%s: %v", f.File, err)
				}
				break
			}
			out = append(out, benchFrame{data: append([]byte(nil), data...), ts: ci.Timestamp, lt: ci.LinkType})
			total += len(data)
		}
		r.Close()
		if total >= maxBytes {
			break
		}
	}
	if len(out) == 0 {
		tb.Fatal("no Ethernet frames in the corpus")
	}
	return out
}

func compileDir(tb testing.TB, path string) *detect.Engine {
	tb.Helper()
	files, err := rules.ExpandPaths([]string{path})
	if err != nil {
		tb.Fatal(err)
	}
	rs, _ := rules.ParseFiles(files, rules.DefaultVars())
	e, err := detect.Compile(rs, detect.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

// BenchmarkEngine is the cost of a rule set on decoding plus detection,
// against no rules in the same run: frames of the corpus's Ethernet
// captures, held in memory, through a fresh Worker per round (one core).
// Rates are per CPU second of the process. The summary's et/none and snort3/none are the ratios `make bench` reports
// for replay; here without file reading and EVE output.
//
//	go test -run '^$' -bench BenchmarkEngine -benchtime 3x ./rules/detect
func BenchmarkEngine(b *testing.B) {
	frames := loadBenchFrames(b, 64<<20)
	var bytes int64
	for _, f := range frames {
		bytes += int64(len(f.data))
	}
	engines := []struct {
		name string
		e    *detect.Engine
	}{
		{"none", compileDir(b, filepath.Join(b.TempDir()))},
		{"et-open", compileDir(b, testutil.CorpusPath(b, "rules", "et-open"))},
		{"snort3", compileDir(b, testutil.CorpusPath(b, "rules", "snort3-community", "snort3-community.rules"))},
	}
	best := make([]float64, len(engines))
	for round := 1; round <= 3; round++ {
		for i, en := range engines {
			b.Run(fmt.Sprintf("%s/round%d", en.name, round), func(b *testing.B) {
				b.SetBytes(bytes)
				var alerts int
				var st detect.Stats // of the last pass: how well the prefilter works
				emit := func(*detect.Alert) { alerts++ }
				start, cpu0 := time.Now(), cpuTime()
				for n := 0; n < b.N; n++ {
					// Thresholds and xbits set by an earlier pass would
					// suppress this one's alerts and the work behind them.
					en.e.ResetHostState()
					w := en.e.NewWorker()
					dec := decode.NewDecoder(decode.Config{})
					var p decode.Packet
					for k := range frames {
						fr := &frames[k]
						p.Timestamp, p.Num, p.OrigLen = fr.ts, uint64(k), len(fr.data)
						dec.Decode(fr.lt, fr.data, &p)
						w.Process(&p, 0, emit)
					}
					w.Flush(emit, nil)
					st = w.Stats()
				}
				// CPU time of the process (GC included) is what the rules cost
				// the host, and robust to other load on a shared machine.
				pps := float64(len(frames)*b.N) / (cpuTime() - cpu0).Seconds()
				b.ReportMetric(pps, "pkts/cpu-s")
				b.ReportMetric(float64(len(frames)*b.N)/time.Since(start).Seconds(), "pkts/s")
				b.ReportMetric(float64(alerts)/float64(b.N), "alerts")
				b.ReportMetric(float64(st.Candidates)/float64(max(st.Packets, 1)), "cands/pkt")
				b.ReportMetric(float64(st.TxCandidates)/float64(max(st.Txs, 1)), "cands/tx")
				best[i] = max(best[i], pps)
			})
		}
	}
	b.Run("summary", func(b *testing.B) {
		b.ReportMetric(0, "ns/op")
		b.ReportMetric(best[1]/best[0], "et/none")
		b.ReportMetric(best[2]/best[0], "snort3/none")
	})
}

// cpuTime is the process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
