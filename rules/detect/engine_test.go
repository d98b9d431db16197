package detect

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/tapwatch/tapwatch/rules"
	"github.com/tapwatch/tapwatch/rules/decode"
)

func engine(t *testing.T, opts Options, src string) *Engine {
	t.Helper()
	rs, errs := rules.ParseReader("t.rules", strings.NewReader(src), rules.DefaultVars())
	if len(errs) > 0 {
		t.Fatalf("parse: %v", errs)
	}
	e, err := Compile(rs, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Errors) > 0 {
		t.Fatalf("compile: %v", e.Errors)
	}
	return e
}

var t0 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// udp builds a decoded UDP packet; reply swaps the endpoints.
func udp(n int, reply bool, payload string) *decode.Packet {
	p := &decode.Packet{
		Timestamp: t0.Add(time.Duration(n) * time.Millisecond), Num: uint64(n),
		IPVersion: 4, IPProto: decode.ProtoUDP, TTL: 64,
		SrcIP: netip.MustParseAddr("10.0.0.1"), DstIP: netip.MustParseAddr("8.8.8.8"),
		SrcPort: 40000, DstPort: 53, L4Header: make([]byte, 8), Payload: []byte(payload),
	}
	if reply {
		p.SrcIP, p.DstIP = p.DstIP, p.SrcIP
		p.SrcPort, p.DstPort = p.DstPort, p.SrcPort
	}
	return p
}

type rec struct {
	sid    uint32
	num    uint64
	action string
}

func run(w *Worker, pkts ...*decode.Packet) (out []rec, verdicts []Verdict) {
	for _, p := range pkts {
		v := w.Process(p, 0, func(a *Alert) { out = append(out, rec{a.SID, a.Packet.Num, a.Action}) })
		verdicts = append(verdicts, v)
	}
	return out, verdicts
}

func sids(rs []rec) []uint32 {
	var s []uint32
	for _, r := range rs {
		s = append(s, r.sid)
	}
	return s
}

func eq(a, b []uint32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestEngineRelativeBacktracking(t *testing.T) {
	e := engine(t, Options{}, `alert udp any any -> any any (msg:"rel"; content:"a"; content:"b"; within:1; sid:1;)
alert udp any any -> any any (msg:"neg"; content:"zzz"; content:!"a"; sid:2;)
`)
	got, _ := run(e.NewWorker(), udp(1, false, "a-ab"), udp(2, false, "a-a-"), udp(3, false, "zzz"))
	if !eq(sids(got), []uint32{1, 2}) || got[0].num != 1 || got[1].num != 3 {
		t.Errorf("got %+v", got)
	}
}

func TestEngineFlowbitsAcrossPackets(t *testing.T) {
	e := engine(t, Options{}, `alert udp any any -> any any (msg:"check"; flow:to_client; flowbits:isset,q; sid:2;)
alert udp any any -> any any (msg:"set"; flow:to_server; content:"query"; flowbits:set,q; flowbits:noalert; sid:1;)
alert udp any any -> any any (msg:"unset"; content:"bye"; flowbits:unset,q; flowbits:noalert; sid:3;)
`)
	got, _ := run(e.NewWorker(), udp(1, false, "early"), udp(2, false, "query"), udp(3, true, "answer"), udp(4, false, "bye"), udp(5, true, "again"))
	if !eq(sids(got), []uint32{2}) || got[0].num != 3 {
		t.Errorf("got %+v", got)
	}
}

func TestEngineThreshold(t *testing.T) {
	e := engine(t, Options{}, `alert udp any any -> any any (msg:"lim"; content:"x"; threshold:type limit,track by_src,count 2,seconds 60; sid:1;)
alert udp any any -> any any (msg:"thr"; content:"x"; threshold:type threshold,track by_src,count 3,seconds 60; sid:2;)
alert udp any any -> any any (msg:"df"; content:"x"; detection_filter:track by_src,count 4,seconds 60; sid:3;)
`)
	var pk []*decode.Packet
	for i := 1; i <= 6; i++ {
		pk = append(pk, udp(i, false, "x"))
	}
	got, _ := run(e.NewWorker(), pk...)
	count := map[uint32]int{}
	for _, r := range got {
		count[r.sid]++
	}
	if count[1] != 2 || count[2] != 2 || count[3] != 2 {
		t.Errorf("counts %v", count)
	}
}

func TestEnginePassAndIPSDrop(t *testing.T) {
	src := `alert udp any any -> any any (msg:"a"; content:"x"; sid:1;)
pass udp any any -> any any (msg:"p"; content:"ok"; sid:2;)
drop udp any any -> any any (msg:"d"; content:"bad"; sid:3;)
`
	// IPS: a packet-level drop blocks that packet only.
	e := engine(t, Options{IPS: true}, src)
	got, v := run(e.NewWorker(), udp(1, false, "bad x"), udp(2, false, "x"))
	want := []rec{{3, 1, "blocked"}, {1, 1, "allowed"}, {1, 2, "allowed"}}
	if len(got) != len(want) {
		t.Fatalf("IPS alerts %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("IPS alert %d: %+v want %+v", i, got[i], want[i])
		}
	}
	if v[0] != VerdictDrop || v[1] != VerdictPass {
		t.Errorf("IPS verdicts %v", v)
	}
	// IDS: drop is an alert and nothing is blocked.
	e = engine(t, Options{}, src)
	got, v = run(e.NewWorker(), udp(1, false, "bad"))
	if len(got) != 1 || got[0].action != "allowed" || v[0] != VerdictPass {
		t.Errorf("IDS %+v %v", got, v)
	}
	// pass outranks the others on its packet.
	got, _ = run(e.NewWorker(), udp(1, false, "ok x bad"), udp(2, false, "x"))
	if !eq(sids(got), []uint32{1}) || got[0].num != 2 {
		t.Errorf("pass: %+v", got)
	}
	// An IP-only pass rule passes the whole flow.
	e = engine(t, Options{IPS: true}, `pass ip 10.0.0.1 any -> any any (msg:"p"; sid:1;)
drop udp any any -> any any (msg:"d"; content:"bad"; sid:2;)
`)
	got, v = run(e.NewWorker(), udp(1, false, "hi"), udp(2, false, "bad"), udp(3, true, "bad"))
	if len(got) != 0 || v[1] != VerdictPass || v[2] != VerdictPass {
		t.Errorf("ip-only pass: %+v %v", got, v)
	}
}

func TestEngineIPOnlyAndPorts(t *testing.T) {
	e := engine(t, Options{}, `alert ip 8.8.8.8 any -> any any (msg:"from google"; sid:1;)
alert udp any any -> any 54 (msg:"wrong port"; sid:2;)
alert udp any any <> any 53 (msg:"bidir"; content:"r"; sid:3;)
`)
	got, _ := run(e.NewWorker(), udp(1, false, "q"), udp(2, true, "r"), udp(3, true, "r"))
	if !eq(sids(got), []uint32{1, 3, 3}) {
		t.Errorf("got %+v", got)
	}
}

func TestEngineAlertOrder(t *testing.T) {
	e := engine(t, Options{}, `alert udp any any -> any any (msg:"low"; content:"x"; priority:3; sid:1;)
alert udp any any -> any any (msg:"high"; content:"x"; priority:1; sid:2;)
`)
	got, _ := run(e.NewWorker(), udp(1, false, "x"))
	if !eq(sids(got), []uint32{2, 1}) {
		t.Errorf("got %+v", got)
	}
}

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	src := "alert tcp any any -> any any (msg:\"ok\"; sid:1;)\nalert tcp any any -> any any (foo; sid:2;)\nalert tcp any any -> any any (bar:1; sid:3;)\nalert tcp any any -> any any (foo; sid:4;)\n"
	if err := writeFile(dir+"/a.rules", src); err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	loaded, failed, err := Check([]string{dir}, rules.DefaultVars(), Options{}, &sb, false)
	if err != nil || loaded != 1 || failed != 3 {
		t.Fatalf("loaded %d failed %d err %v", loaded, failed, err)
	}
	out := sb.String()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if !strings.HasSuffix(lines[0], `a.rules:2:31: unsupported keyword "foo"`) ||
		lines[3] != `unsupported keyword "foo": 2 rules` || lines[4] != `unsupported keyword "bar": 1 rule` ||
		lines[len(lines)-1] != "1 loaded, 3 failed" {
		t.Errorf("output:\n%s", out)
	}
	if _, _, err := Check([]string{dir}, rules.DefaultVars(), Options{}, &sb, true); err == nil {
		t.Error("strict must fail")
	}
}

func TestEngineInspectTx(t *testing.T) {
	// sid 1's legacy modifier moves its content out of the sticky
	// http.uri into http.method, where "/evil" never occurs.
	e := engine(t, Options{}, `alert http any any -> any any (msg:"uri"; http.uri; content:"/evil"; http_method; sid:1;)
alert http any any -> any any (msg:"legacy"; content:"/evil"; http_uri; content:"POST"; http_method; sid:2;)
alert tcp any any -> any any (msg:"payload"; content:"zzz"; sid:3;)
`)
	w := e.NewWorker()
	var tx TxBuffers
	uri, _ := keywordBuffer("http.uri")
	method, _ := keywordBuffer("http.method")
	tx.Set(uri, []byte("/evil.php"))
	tx.Set(method, []byte("GET"))
	tx.TxID, tx.AppProto = 3, "http"
	p := udp(1, false, "")
	p.IPProto = decode.ProtoTCP
	var got []*Alert
	w.InspectTx(p, nil, 0, &tx, func(a *Alert) { c := *a; got = append(got, &c) })
	if len(got) != 0 {
		t.Fatalf("no rule can match a GET: got %+v", got)
	}
	tx.Set(method, []byte("POST"))
	w.InspectTx(p, nil, 0, &tx, func(a *Alert) { c := *a; got = append(got, &c) })
	if len(got) != 1 || got[0].SID != 2 || got[0].TxID != 3 || got[0].AppProto != "http" {
		t.Fatalf("got %+v", got)
	}
}

// tcp builds a TCP segment of an established 10.0.0.1:40000 -> 10.0.0.2:80
// connection (seq relative to ISN 1000/5000).
func tcpSeg(n int, reply bool, flags uint8, rel uint32, payload string) *decode.Packet {
	p := &decode.Packet{
		Timestamp: t0.Add(time.Duration(n) * time.Millisecond), Num: uint64(n),
		IPVersion: 4, IPProto: decode.ProtoTCP, TTL: 64,
		SrcIP: netip.MustParseAddr("10.0.0.1"), DstIP: netip.MustParseAddr("10.0.0.2"),
		SrcPort: 40000, DstPort: 80, L4Header: make([]byte, 20), Payload: []byte(payload),
		TCPFlags: flags, TCPSeq: 1000 + rel, TCPAck: 5001, TCPWin: 65535,
	}
	if reply {
		p.SrcIP, p.DstIP = p.DstIP, p.SrcIP
		p.SrcPort, p.DstPort = p.DstPort, p.SrcPort
		p.TCPSeq, p.TCPAck = 5000+rel, 1001
	}
	return p
}

func TestEngineStreamSplitPattern(t *testing.T) {
	e := engine(t, Options{}, `alert tcp any any -> any 80 (msg:"split"; flow:to_server,established; content:"EVILSTUFF"; sid:1;)
alert tcp-pkt any any -> any 80 (msg:"pkt"; content:"EVILSTUFF"; sid:2;)
`)
	syn := tcpSeg(1, false, decode.TCPSyn, 0, "")
	syn.TCPAck = 0
	synack := tcpSeg(2, true, decode.TCPSyn|decode.TCPAck, 0, "")
	ack := tcpSeg(3, false, decode.TCPAck, 1, "")
	got, _ := run(e.NewWorker(), syn, synack, ack,
		tcpSeg(4, false, decode.TCPAck|decode.TCPPsh, 1, "xxEVIL"),
		tcpSeg(5, false, decode.TCPAck|decode.TCPPsh, 7, "STUFFyy"),
		tcpSeg(6, false, decode.TCPAck|decode.TCPPsh, 14, "zz"))
	if !eq(sids(got), []uint32{1}) || got[0].num != 5 {
		t.Errorf("got %+v", got)
	}
}

// TestEngineActionOrderList: action-order given as a YAML list reaches the
// engine flattened to "action-order.N" keys (conf.Settings); it must rank
// rules as the comma form does (suricata-verify util-action-06/07/12,
// bug-4663-02).
func TestEngineActionOrderList(t *testing.T) {
	const sigs = `alert udp any any -> any any (msg:"a"; content:"Hi all"; sid:1;)
pass udp any any -> any any (msg:"p"; content:"Hi all"; sid:2;)
drop udp any any -> any any (msg:"d"; content:"Hi all"; sid:3;)
`
	list := func(items ...string) map[string]string {
		m := map[string]string{}
		for i, it := range items {
			m["action-order."+string(rune('0'+i))] = it
		}
		return m
	}
	for _, tc := range []struct {
		name     string
		settings map[string]string
		want     []uint32
		verdict  Verdict
	}{
		// Default order: pass first, so nothing alerts or drops.
		{"default", nil, nil, VerdictPass},
		// drop, pass, ...: the drop alerts and blocks, then pass stops the rest.
		{"drop-pass", list("drop", "pass", "reject", "alert"), []uint32{3}, VerdictDrop},
		// drop, alert, ..., pass: pass comes last and never applies.
		{"drop-alert", list("drop", "alert", "reject", "pass"), []uint32{3, 1}, VerdictDrop},
		// The comma form still wins over list items.
		{"comma", map[string]string{"action-order": "drop,alert,reject,pass", "action-order.0": "pass"},
			[]uint32{3, 1}, VerdictDrop},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := engine(t, Options{IPS: true, Settings: tc.settings}, sigs)
			w := e.NewWorker()
			got, vs := run(w, udp(1, false, "Hi all"))
			if !eq(sids(got), tc.want) || vs[0] != tc.verdict {
				t.Fatalf("alerts %v verdict %v, want %v %v", sids(got), vs[0], tc.want, tc.verdict)
			}
		})
	}
	if _, err := Compile(nil, Options{Settings: list("drop", "pass")}); err == nil {
		t.Fatal("an incomplete action-order list compiled")
	}
}
