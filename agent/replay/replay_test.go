package replay

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tapwatch/tapwatch/agent/pipeline"
	"github.com/tapwatch/tapwatch/rules"
	"github.com/tapwatch/tapwatch/rules/decode"
	"github.com/tapwatch/tapwatch/rules/detect"
)

func TestParseArgs(t *testing.T) {
	o, err := ParseArgs([]string{"-r", "a.pcap", "-rb.pcap", "c.pcap", "-S", "x.rules", "-s", "y.rules", "-c", "s.yaml",
		"-l", "out", "-k", "none", "--set", "stream.midstream=true", "--set=a.b=c=d", "--simulate-ips", "--workers", "3",
		"--runmode=single", "-vv", "--strict-rule-keywords", "--no-progress"})
	if err != nil {
		t.Fatal(err)
	}
	want := &Options{Inputs: []string{"a.pcap", "b.pcap", "c.pcap"}, ExclusiveRules: []string{"x.rules"}, ExtraRules: []string{"y.rules"},
		Config: "s.yaml", OutDir: "out", Checksums: "none", Sets: []string{"stream.midstream=true", "a.b=c=d"}, SimulateIPS: true,
		Workers: 3, Runmode: "single", Verbose: 2, StrictRules: "all", NoProgress: true}
	if !reflect.DeepEqual(o, want) {
		t.Errorf("got  %+v\nwant %+v", o, want)
	}
	for _, bad := range [][]string{{}, {"-r"}, {"-k", "some", "x"}, {"--set", "novalue", "x"}, {"--workers", "0", "x"}, {"--bogus", "x"}} {
		if _, err := ParseArgs(bad); err == nil {
			t.Errorf("ParseArgs(%q) succeeded", bad)
		}
	}
}

func tcpFrame(src, dst [4]byte, sport, dport uint16, payload string) []byte {
	f := make([]byte, 14+20+20+len(payload))
	binary.BigEndian.PutUint16(f[12:], 0x0800)
	ip := f[14:]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(40+len(payload)))
	ip[8], ip[9] = 64, 6
	copy(ip[12:], src[:])
	copy(ip[16:], dst[:])
	tcp := ip[20:]
	binary.BigEndian.PutUint16(tcp[0:], sport)
	binary.BigEndian.PutUint16(tcp[2:], dport)
	tcp[12] = 5 << 4
	tcp[13] = decode.TCPAck | decode.TCPPsh
	copy(tcp[20:], payload)
	return f
}

func writePcap(t *testing.T, path string, frames ...[]byte) {
	t.Helper()
	var b bytes.Buffer
	hdr := make([]byte, 24)
	binary.LittleEndian.PutUint32(hdr[0:], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(hdr[4:], 2)
	binary.LittleEndian.PutUint16(hdr[6:], 4)
	binary.LittleEndian.PutUint32(hdr[16:], 65535)
	binary.LittleEndian.PutUint32(hdr[20:], 1)
	b.Write(hdr)
	for i, f := range frames {
		rec := make([]byte, 16)
		binary.LittleEndian.PutUint32(rec[0:], uint32(1700000000+i))
		binary.LittleEndian.PutUint32(rec[8:], uint32(len(f)))
		binary.LittleEndian.PutUint32(rec[12:], uint32(len(f)))
		b.Write(rec)
		b.Write(f)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// fakeWorker alerts (sid 1) on every packet whose payload contains "EVIL".
type fakeWorker struct{ st detect.Stats }

func (w *fakeWorker) Process(p *decode.Packet, zone uint32, emit func(*detect.Alert)) detect.Verdict {
	w.st.Packets++
	if bytes.Contains(p.Payload, []byte("EVIL")) {
		w.st.Alerts++
		emit(&detect.Alert{Packet: p, GID: 1, SID: 1, Rev: 1, Msg: "evil", Action: "allowed", TxID: -1})
	}
	return detect.VerdictPass
}
func (w *fakeWorker) Flush(emit func(*detect.Alert), end detect.FlowEnd) {}
func (w *fakeWorker) Stats() detect.Stats                                { return w.st }

func fakeCompile(got *detect.Options, nrules *int) compileFunc {
	return func(rs []*rules.Rule, opts detect.Options) (func() detectWorker, error) {
		*got = opts
		*nrules = len(rs)
		return func() detectWorker { return &fakeWorker{} }, nil
	}
}

func TestRunWritesEveAndSummary(t *testing.T) {
	dir := t.TempDir()
	a, b := [4]byte{10, 0, 0, 1}, [4]byte{10, 0, 0, 2}
	writePcap(t, filepath.Join(dir, "one.pcap"),
		tcpFrame(a, b, 1000, 80, "hello"), tcpFrame(b, a, 80, 1000, "EVIL reply"), tcpFrame(a, b, 1000, 80, "bye"))
	writePcap(t, filepath.Join(dir, "two.pcap"), tcpFrame(a, b, 2000, 80, "EVIL again"))
	if err := os.WriteFile(filepath.Join(dir, "bad.pcap"), []byte("not a pcap at all, sorry"), 0o644); err != nil {
		t.Fatal(err)
	}
	rulesPath := filepath.Join(dir, "t.rules")
	if err := os.WriteFile(rulesPath, []byte("alert tcp any any -> any any (msg:\"x\"; content:\"EVIL\"; sid:1;)\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	var opts detect.Options
	var nrules int
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"-r", filepath.Join(dir, "one.pcap"), "-r", filepath.Join(dir, "bad.pcap"),
		filepath.Join(dir, "two.pcap"), "-S", rulesPath, "-l", out, "-k", "none", "--simulate-ips",
		"--set", "stream.midstream=true", "--workers", "2"}, &stdout, &stderr, fakeCompile(&opts, &nrules))
	if code != 1 {
		t.Errorf("exit code %d with a bad pcap, want 1; stderr: %s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "bad.pcap") {
		t.Errorf("stderr does not name the bad capture: %s", stderr.String())
	}
	if !opts.IPS || !opts.Midstream || opts.Settings["stream.checksum-validation"] != "no" {
		t.Errorf("options = %+v", opts)
	}
	f, err := os.Open(filepath.Join(out, "eve.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cnts []float64
	var stats map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("bad line %q: %v", sc.Text(), err)
		}
		switch m["event_type"] {
		case "alert":
			cnts = append(cnts, m["pcap_cnt"].(float64))
			if m["pcap_cnt"] == 2.0 && (m["src_ip"] != "10.0.0.2" || m["src_port"] != 80.0) {
				t.Errorf("alert src is not the packet's: %v", m)
			}
		case "stats":
			stats = m["stats"].(map[string]any)
		}
	}
	// pcap_cnt runs across files: two.pcap's only packet is number 4.
	if len(cnts) != 2 || !((cnts[0] == 2 && cnts[1] == 4) || (cnts[0] == 4 && cnts[1] == 2)) {
		t.Errorf("alert pcap_cnt = %v, want 2 and 4", cnts)
	}
	if stats == nil || stats["decoder"].(map[string]any)["pkts"] != 4.0 || stats["detect"].(map[string]any)["alert"] != 2.0 {
		t.Errorf("stats record = %v", stats)
	}
	s := stdout.String()
	for _, want := range []string{"packets:   4\n", "alerts:    2\n", "[1:1] evil", "packets/s"} {
		if !strings.Contains(s, want) {
			t.Errorf("summary lacks %q:\n%s", want, s)
		}
	}
}

type panicWorker struct{ fakeWorker }

func (w *panicWorker) Process(p *decode.Packet, zone uint32, emit func(*detect.Alert)) detect.Verdict {
	panic("engine bug")
}

func TestEnginePanicIsReported(t *testing.T) {
	dir := t.TempDir()
	var frames [][]byte
	for i := range 500 {
		frames = append(frames, tcpFrame([4]byte{1, 1, 1, 1}, [4]byte{2, 2, 2, 2}, uint16(1000+i), 80, "x"))
	}
	writePcap(t, filepath.Join(dir, "a.pcap"), frames...)
	var stdout, stderr bytes.Buffer
	done := make(chan int)
	go func() {
		done <- run(context.Background(), []string{"-l", dir, "--workers", "2", filepath.Join(dir, "a.pcap")}, &stdout, &stderr,
			func([]*rules.Rule, detect.Options) (func() detectWorker, error) {
				return func() detectWorker { return &panicWorker{} }, nil
			})
	}()
	select {
	case code := <-done:
		if code != 1 || !strings.Contains(stderr.String(), "engine bug") {
			t.Errorf("code %d stderr %s", code, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("replay hung after an engine panic")
	}
}

func TestSharderSymmetricAndSpread(t *testing.T) {
	s := pipeline.NewSharder(4)
	used := map[int]bool{}
	for i := range 200 {
		a, b := [4]byte{10, 0, byte(i), 1}, [4]byte{192, 168, 1, byte(i)}
		fwd := s.Worker(decode.LinkEthernet, tcpFrame(a, b, uint16(30000+i), 443, ""))
		rev := s.Worker(decode.LinkEthernet, tcpFrame(b, a, 443, uint16(30000+i), ""))
		if fwd != rev {
			t.Fatalf("flow %d: directions on workers %d and %d", i, fwd, rev)
		}
		used[fwd] = true
	}
	if len(used) != 4 {
		t.Errorf("200 flows used only workers %v", used)
	}
	frag := tcpFrame([4]byte{1, 2, 3, 4}, [4]byte{5, 6, 7, 8}, 1, 2, "")
	frag[14+6] = 0x20 // MF
	if w := s.Worker(decode.LinkEthernet, frag); w != 0 {
		t.Errorf("fragment on worker %d, want 0", w)
	}
	if w := s.Worker(decode.LinkEthernet, []byte{1, 2, 3}); w != 0 {
		t.Errorf("runt frame on worker %d", w)
	}
	raw := tcpFrame([4]byte{1, 2, 3, 4}, [4]byte{5, 6, 7, 8}, 1, 2, "")[14:]
	h1, ok1 := pipeline.FlowHash(decode.LinkRaw, raw)
	h2, ok2 := pipeline.FlowHash(decode.LinkEthernet, tcpFrame([4]byte{1, 2, 3, 4}, [4]byte{5, 6, 7, 8}, 1, 2, ""))
	if !ok1 || !ok2 || h1 != h2 {
		t.Errorf("raw and ethernet hash differ: %x %v, %x %v", h1, ok1, h2, ok2)
	}
}

func BenchmarkFlowHash(b *testing.B) {
	f := tcpFrame([4]byte{10, 0, 0, 1}, [4]byte{10, 0, 0, 2}, 40000, 80, "payload")
	for b.Loop() {
		pipeline.FlowHash(decode.LinkEthernet, f)
	}
}

// State dropped at the engine's caps is reported, and nothing is said
// when none was.
func TestSummaryStateDrops(t *testing.T) {
	var b bytes.Buffer
	s := summary{rules: 1, packets: 10}
	printSummary(&b, s)
	if bytes.Contains(b.Bytes(), []byte("state:")) {
		t.Errorf("state line with nothing dropped:\n%s", b.String())
	}
	b.Reset()
	s.det.State = detect.StateDrops{Thresholds: 3, Xbits: 2, Flowints: 1}
	printSummary(&b, s)
	if !bytes.Contains(b.Bytes(), []byte("state:     dropped at their caps: 3 threshold counters, 2 xbits, 1 flowint changes")) {
		t.Errorf("summary:\n%s", b.String())
	}
}
