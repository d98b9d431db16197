package replay

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tapwatch/tapwatch/test/testutil"
)

// TestReplayRealEngine runs the real engine end to end over a corpus
// capture: an IP-only rule must alert on every IPv4 packet, with pcap_cnt
// covering 1..N in order (one worker keeps order).
func TestReplayRealEngine(t *testing.T) {
	pcap := testutil.CorpusPath(t, "suricata-verify", "alert-testmyids-async", "input.pcap")
	dir := t.TempDir()
	rf := filepath.Join(dir, "t.rules")
	if err := os.WriteFile(rf, []byte("alert ip any any -> any any (msg:\"any ip\"; sid:1;)\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := Main(context.Background(), []string{"-r", pcap, "-S", rf, "-l", dir, "--workers", "1", "-k", "none"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d\nstderr: %s", code, stderr.String())
	}
	f, err := os.Open(filepath.Join(dir, "eve.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cnts []int
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("bad line: %v", err)
		}
		if m["event_type"] == "alert" {
			cnts = append(cnts, int(m["pcap_cnt"].(float64)))
		}
	}
	if len(cnts) == 0 {
		t.Fatalf("no alerts; summary:\n%s", stdout.String())
	}
	for i, c := range cnts {
		if c != i+1 {
			t.Fatalf("alert %d has pcap_cnt %d; want alerts on packets 1..N in order: %v", i, c, cnts)
		}
	}
	if !strings.Contains(stdout.String(), "[1:1] any ip") {
		t.Errorf("summary lacks the signature:\n%s", stdout.String())
	}
}

// BenchmarkReplay measures the whole path (read, shard, decode, detect,
// EVE) over a corpus capture with a content rule that rarely matches.
func BenchmarkReplay(b *testing.B) {
	pcaps := testutil.CorpusPath(b, "pcaps")
	dir := b.TempDir()
	rf := filepath.Join(dir, "t.rules")
	if err := os.WriteFile(rf, []byte("alert tcp any any -> any any (msg:\"x\"; content:\"tapwatch-bench-needle\"; sid:1;)\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	var packets uint64
	for b.Loop() {
		var stdout, stderr bytes.Buffer
		Main(context.Background(), []string{"-r", pcaps, "-S", rf, "-l", dir, "--no-progress"}, &stdout, &stderr)
		for _, l := range strings.Split(stdout.String(), "\n") {
			if v, ok := strings.CutPrefix(l, "packets:"); ok {
				var n uint64
				for _, c := range strings.TrimSpace(v) {
					n = n*10 + uint64(c-'0')
				}
				packets = n
			}
		}
	}
	b.ReportMetric(float64(packets), "packets/op")
}
