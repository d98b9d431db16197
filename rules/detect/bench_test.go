package detect

import (
	"github.com/tapwatch/tapwatch/test/testutil"
	"io"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/tapwatch/tapwatch/rules"
	"github.com/tapwatch/tapwatch/rules/decode"
)

// benchPackets decodes frames from corpus pcaps (up to maxBytes of
// frames) into packets that own their data.
func benchPackets(b *testing.B, maxBytes int) []*decode.Packet {
	dir := filepath.Join(testutil.Corpus(b), "pcaps")
	var files []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (filepath.Ext(p) == ".pcap" || filepath.Ext(p) == ".pcapng") {
			files = append(files, p)
		}
		return nil
	})
	sort.Strings(files)
	var out []*decode.Packet
	total := 0
	dec := decode.NewDecoder(decode.Config{})
	for _, f := range files {
		if total >= maxBytes {
			break
		}
		r, err := decode.OpenPcap(f)
		if err != nil {
			continue
		}
		for total < maxBytes {
			data, ci, err := r.Next()
			if err == io.EOF || err != nil {
				break
			}
			own := append([]byte(nil), data...)
			p := &decode.Packet{}
			dec.Decode(ci.LinkType, own, p)
			if p.IPVersion == 0 || p.Reassembled {
				continue
			}
			p.Timestamp = ci.Timestamp
			out = append(out, p)
			total += len(own)
		}
		r.Close()
	}
	if len(out) == 0 {
		b.Skip("no packets decoded from the corpus")
	}
	return out
}

func loadETOpen(b testing.TB) []*rules.Rule {
	files, _ := filepath.Glob(filepath.Join(testutil.Corpus(b), "rules", "et-open", "*.rules"))
	var rs []*rules.Rule
	for _, f := range files {
		r, _ := rules.ParseFile(f, rules.DefaultVars())
		rs = append(rs, r...)
	}
	return rs
}

func benchEngine(b *testing.B, rs []*rules.Rule) {
	pkts := benchPackets(b, 16<<20)
	e, err := Compile(rs, Options{Midstream: true})
	if err != nil {
		b.Fatal(err)
	}
	bytes := 0
	for _, p := range pkts {
		bytes += len(p.Data)
	}
	b.SetBytes(int64(bytes / len(pkts)))
	b.ReportMetric(float64(e.Len()), "rules")
	w := e.NewWorker()
	emit := func(*Alert) {}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j := i % len(pkts)
		if j == 0 && i > 0 {
			b.StopTimer()
			w = e.NewWorker()
			b.StartTimer()
		}
		w.Process(pkts[j], 0, emit)
	}
	st := w.Stats()
	b.ReportMetric(float64(st.Candidates)/float64(st.Packets), "cands/pkt")
	b.ReportMetric(float64(st.Txs)/float64(st.Packets), "txs/pkt")
	if st.Txs > 0 {
		b.ReportMetric(float64(st.TxCandidates)/float64(st.Txs), "cands/tx")
	}
}

// BenchmarkEngineNoRules is the baseline: flow tracking and reassembly only.
func BenchmarkEngineNoRules(b *testing.B) { benchEngine(b, nil) }

// BenchmarkEngineETOpen runs the whole ET Open set over corpus traffic.
func BenchmarkEngineETOpen(b *testing.B) { benchEngine(b, loadETOpen(b)) }
