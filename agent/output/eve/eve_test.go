package eve

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tapwatch/tapwatch/rules/decode"
	"github.com/tapwatch/tapwatch/rules/detect"
	"github.com/tapwatch/tapwatch/rules/flow"
)

func TestCommunityIDSpecVectors(t *testing.T) {
	a := netip.MustParseAddr
	// Published examples of the Community ID spec and its reference
	// implementations (seed 0).
	for _, c := range []struct {
		proto        uint8
		src, dst     string
		sport, dport uint16
		want         string
	}{
		{6, "128.232.110.120", "66.35.250.204", 34855, 80, "1:LQU9qZlK+B5F3KDmev6m5PMibrg="},
		{6, "66.35.250.204", "128.232.110.120", 80, 34855, "1:LQU9qZlK+B5F3KDmev6m5PMibrg="},
		{17, "192.168.1.52", "8.8.8.8", 54585, 53, "1:d/FP5EW3wiY1vCndhwleRRKHowQ="},
		{17, "8.8.8.8", "192.168.1.52", 53, 54585, "1:d/FP5EW3wiY1vCndhwleRRKHowQ="},
		{132, "192.168.170.8", "192.168.170.56", 7, 7, "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs="},
		{1, "192.168.0.89", "192.168.0.1", 8, 0, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk="},
		{1, "192.168.0.1", "192.168.0.89", 0, 0, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk="},
		{58, "fe80::260:97ff:fe07:69ea", "ff02::1", 134, 0, "1:pkvHqCL88/tg1k4cPigmZXUtL00="},
		{6, "2001:470:e5bf:dead:4957:2174:e82c:4887", "2607:f8b0:400c:c03::1a", 63943, 25, "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4="},
	} {
		if got := CommunityID(0, c.proto, a(c.src), a(c.dst), c.sport, c.dport); got != c.want {
			t.Errorf("CommunityID(%d %s:%d -> %s:%d) = %s, want %s", c.proto, c.src, c.sport, c.dst, c.dport, got, c.want)
		}
	}
	if CommunityID(1, 6, a("1.2.3.4"), a("5.6.7.8"), 1, 2) == CommunityID(0, 6, a("1.2.3.4"), a("5.6.7.8"), 1, 2) {
		t.Error("seed does not change the hash")
	}
}

func testAlert() *detect.Alert {
	ts := time.Date(2024, 3, 1, 12, 0, 1, 123456000, time.UTC)
	p := &decode.Packet{
		Timestamp: ts, Num: 7, LinkType: decode.LinkEthernet, IPVersion: 4,
		SrcIP: netip.MustParseAddr("10.0.0.2"), DstIP: netip.MustParseAddr("10.0.0.1"),
		IPProto: decode.ProtoTCP, SrcPort: 80, DstPort: 40000,
		L4Header: make([]byte, 20), Payload: []byte("GOOD\x01\"x"), Data: []byte{1, 2, 3},
	}
	f := &flow.Flow{ID: 99, Start: ts.Add(-time.Second), Last: ts,
		Key:  flow.Key{Proto: decode.ProtoTCP, Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2"), SrcPort: 40000, DstPort: 80},
		Pkts: [2]uint64{3, 2}, Bytes: [2]uint64{300, 200}, AppProto: "http"}
	return &detect.Alert{Packet: p, Flow: f, Dir: flow.ToClient, Action: "allowed", GID: 1, SID: 2001, Rev: 3,
		Msg: `bad "thing" \ here`, Category: "Misc activity", Severity: 3, TxID: 0, AppProto: "http",
		Metadata: map[string][]string{"created_at": {"2020_01_01"}},
		App:      map[string]any{"http": map[string]any{"hostname": "example.com", "status": 200}}}
}

func decodeLine(t *testing.T, line []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(line, &m); err != nil {
		t.Fatalf("invalid JSON %q: %v", line, err)
	}
	return m
}

func TestWriteAlertSchema(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf, Options{CommunityID: true, Payload: true, PayloadPrintable: true, Packet: true, Location: time.UTC})
	err := w.WriteAlert(testAlert(), Field{"vm", map[string]any{"name": "web1", "role": "src"}})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(buf.Bytes(), []byte("}\n")) || bytes.Count(buf.Bytes(), []byte("\n")) != 1 {
		t.Fatalf("not one line: %q", buf.String())
	}
	m := decodeLine(t, buf.Bytes())
	alert := m["alert"].(map[string]any)
	fl := m["flow"].(map[string]any)
	checks := map[string]any{
		"timestamp": "2024-03-01T12:00:01.123456+0000", "event_type": "alert", "flow_id": 99.0, "pcap_cnt": 7.0,
		"src_ip": "10.0.0.2", "src_port": 80.0, "dest_ip": "10.0.0.1", "dest_port": 40000.0, "proto": "TCP",
		"direction": "to_client", "app_proto": "http", "tx_id": 0.0, "payload": "R09PRAEieA==", "payload_printable": `GOOD."x`,
		"community_id": CommunityID(0, 6, netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2"), 40000, 80),
		"packet":       "AQID", "stream": 0.0,
	}
	for k, want := range checks {
		if m[k] != want {
			t.Errorf("%s = %#v, want %#v", k, m[k], want)
		}
	}
	for k, want := range map[string]any{"action": "allowed", "gid": 1.0, "signature_id": 2001.0, "rev": 3.0,
		"signature": `bad "thing" \ here`, "category": "Misc activity", "severity": 3.0} {
		if alert[k] != want {
			t.Errorf("alert.%s = %#v, want %#v", k, alert[k], want)
		}
	}
	if md := alert["metadata"].(map[string]any)["created_at"].([]any); md[0] != "2020_01_01" {
		t.Errorf("metadata = %v", md)
	}
	for k, want := range map[string]any{"pkts_toserver": 3.0, "pkts_toclient": 2.0, "bytes_toserver": 300.0, "bytes_toclient": 200.0,
		"start": "2024-03-01T12:00:00.123456+0000", "src_ip": "10.0.0.1"} {
		if fl[k] != want {
			t.Errorf("flow.%s = %#v, want %#v", k, fl[k], want)
		}
	}
	if h := m["http"].(map[string]any); h["hostname"] != "example.com" || h["status"] != 200.0 {
		t.Errorf("http = %v", h)
	}
	if vm := m["vm"].(map[string]any); vm["name"] != "web1" {
		t.Errorf("vm = %v", vm)
	}
	if w.Records() != 1 || w.Errors() != 0 {
		t.Errorf("records %d errors %d", w.Records(), w.Errors())
	}
}

func TestProtoAndICMP(t *testing.T) {
	for p, want := range map[uint8]string{6: "TCP", 17: "UDP", 1: "ICMP", 58: "IPv6-ICMP", 4: "IP-in-IP", 200: "200"} {
		if got := ProtoName(p); got != want {
			t.Errorf("ProtoName(%d) = %q, want %q", p, got, want)
		}
	}
	var buf bytes.Buffer
	w := NewWriter(&buf, Options{Location: time.UTC})
	a := &detect.Alert{Packet: &decode.Packet{IPVersion: 4, SrcIP: netip.MustParseAddr("1.1.1.1"), DstIP: netip.MustParseAddr("2.2.2.2"),
		IPProto: 1, L4Header: make([]byte, 8), ICMPType: 8}, TxID: -1, GID: 1, SID: 1}
	if err := w.WriteAlert(a); err != nil {
		t.Fatal(err)
	}
	m := decodeLine(t, buf.Bytes())
	if m["proto"] != "ICMP" || m["icmp_type"] != 8.0 || m["src_port"] != nil || m["flow_id"] != nil || m["tx_id"] != nil || m["community_id"] != nil {
		t.Errorf("icmp alert = %s", buf.String())
	}
}

func TestEscapingStaysValidJSON(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf, Options{})
	nasty := "a\x00b\xff\xfe\u2028c\td\\\"/"
	if err := w.WriteEvent("test", time.Unix(0, 0), Field{"s", nasty}, Field{"b", []byte{0xc3, 0x28}}); err != nil {
		t.Fatal(err)
	}
	m := decodeLine(t, buf.Bytes())
	if m["s"] != "a\x00b\ufffd\ufffd\u2028c\td\\\"/" {
		t.Errorf("s = %q", m["s"])
	}
}

type failWriter struct{ n int }

func (f *failWriter) Write(p []byte) (int, error) { f.n++; return 0, errors.New("disk full") }

func TestWriteErrorsCounted(t *testing.T) {
	fw := &failWriter{}
	w := NewWriter(fw, Options{})
	for range 3 {
		if err := w.WriteStats(time.Now(), map[string]any{"decoder": map[string]any{"pkts": 1}}); err == nil {
			t.Fatal("no error returned")
		}
	}
	if w.Errors() != 3 || w.Records() != 0 {
		t.Errorf("errors %d records %d", w.Errors(), w.Records())
	}
}

func TestStatsRecord(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf, Options{})
	err := w.WriteStats(time.Now(), map[string]any{"decoder": map[string]any{"pkts": uint64(7)}, "detect": map[string]any{"alert": 3}})
	if err != nil {
		t.Fatal(err)
	}
	m := decodeLine(t, buf.Bytes())
	s := m["stats"].(map[string]any)
	if m["event_type"] != "stats" || s["decoder"].(map[string]any)["pkts"] != 7.0 || s["detect"].(map[string]any)["alert"] != 3.0 {
		t.Errorf("stats = %s", buf.String())
	}
}

func TestFlowRecord(t *testing.T) {
	a := testAlert()
	a.Flow.Key.Proto = decode.ProtoUDP
	var buf bytes.Buffer
	w := NewWriter(&buf, Options{Location: time.UTC})
	if err := w.WriteAlert(a); err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	if err := w.WriteFlow(a.Flow, "timeout"); err != nil {
		t.Fatal(err)
	}
	m := decodeLine(t, buf.Bytes())
	f := m["flow"].(map[string]any)
	if m["event_type"] != "flow" || m["src_ip"] != "10.0.0.1" || m["proto"] != "UDP" || f["alerted"] != true || f["reason"] != "timeout" || f["age"] != 1.0 {
		t.Errorf("flow record = %s", buf.String())
	}
	buf.Reset()
	if err := w.WriteFlow(a.Flow, "shutdown"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"alerted":false`) {
		t.Errorf("alerted flag not reset: %s", buf.String())
	}
}

func TestRotatingFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "eve.json")
	r, err := OpenRotating(p, 25, 2)
	if err != nil {
		t.Fatal(err)
	}
	line := []byte("0123456789\n") // 11 bytes: two fit in 25
	for range 7 {
		if _, err := r.Write(line); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	sizes := map[string]int{}
	for _, n := range []string{"eve.json", "eve.json.1", "eve.json.2", "eve.json.3"} {
		if b, err := os.ReadFile(filepath.Join(dir, n)); err == nil {
			sizes[n] = len(b)
		}
	}
	want := map[string]int{"eve.json": 11, "eve.json.1": 22, "eve.json.2": 22}
	if len(sizes) != len(want) {
		t.Fatalf("files = %v, want %v", sizes, want)
	}
	for k, v := range want {
		if sizes[k] != v {
			t.Errorf("%s = %d bytes, want %d", k, sizes[k], v)
		}
	}
}

func BenchmarkWriteAlert(b *testing.B) {
	w := NewWriter(io.Discard, Options{CommunityID: true, Location: time.UTC})
	a := testAlert()
	a.App = nil
	b.ReportAllocs()
	for b.Loop() {
		if err := w.WriteAlert(a); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriteAlertWithApp(b *testing.B) {
	w := NewWriter(io.Discard, Options{CommunityID: true, Payload: true, Location: time.UTC})
	a := testAlert()
	b.ReportAllocs()
	for b.Loop() {
		if err := w.WriteAlert(a, Field{"vm", map[string]any{"name": "web1"}}); err != nil {
			b.Fatal(err)
		}
	}
}

func TestAppendTimeMatchesLayout(t *testing.T) {
	locs := []*time.Location{time.UTC, time.FixedZone("x", -(3*3600 + 30*60)), time.FixedZone("y", 5*3600+45*60)}
	for _, loc := range locs {
		for _, ts := range []time.Time{time.Date(2003, 12, 16, 13, 21, 44, 891921999, time.UTC), time.Date(1999, 1, 2, 3, 4, 5, 6000, time.UTC), time.Unix(0, 0)} {
			got := string(appendTime(nil, ts, loc))
			want := `"` + ts.In(loc).Format(TimeLayout) + `"`
			if got != want {
				t.Errorf("appendTime(%v, %v) = %s, want %s", ts, loc, got, want)
			}
		}
	}
}

func TestIPv6ExpandedAndEther(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf, Options{Ethernet: true, Packet: true})
	p := &decode.Packet{IPVersion: 6, SrcIP: netip.MustParseAddr("2001:db8:85a3::8a2e:370:7334"), DstIP: netip.MustParseAddr("fe80::20c:29ff:faf2:ab42"),
		IPProto: decode.ProtoUDP, L4Header: make([]byte, 8), HasEth: true, SrcMAC: [6]byte{0x0c, 0x86, 0x10, 0xed, 0xd7, 0xc6},
		DstMAC: [6]byte{0, 0x25, 0x90, 0xe3, 0xd2, 0xe1}, LinkType: decode.LinkSLL, Data: []byte{1}}
	if err := w.WriteAlert(&detect.Alert{Packet: p, TxID: -1}); err != nil {
		t.Fatal(err)
	}
	m := decodeLine(t, buf.Bytes())
	if m["src_ip"] != "2001:0db8:85a3:0000:0000:8a2e:0370:7334" || m["dest_ip"] != "fe80:0000:0000:0000:020c:29ff:faf2:ab42" {
		t.Errorf("ipv6 = %v %v", m["src_ip"], m["dest_ip"])
	}
	e := m["ether"].(map[string]any)
	if e["src_mac"] != "0c:86:10:ed:d7:c6" || e["dest_mac"] != "00:25:90:e3:d2:e1" {
		t.Errorf("ether = %v", e)
	}
	if pi := m["packet_info"].(map[string]any); pi["linktype"] != 113.0 || pi["linktype_name"] != "LINUX_SLL" {
		t.Errorf("packet_info = %v", pi)
	}
}

func TestFlowIDFitsInADouble(t *testing.T) {
	id := uint64(1)<<60 | 12345
	if got := FlowID(id); got != 12345 || float64(FlowID(^uint64(0))) != float64(1<<53-1) {
		t.Errorf("FlowID(%x) = %d", id, got)
	}
}

// WriteAlertFunc hands the sink exactly the record the file got, and the
// alert counts for the flow record like any other.
func TestWriteAlertFunc(t *testing.T) {
	a := testAlert()
	var buf bytes.Buffer
	w := NewWriter(&buf, Options{Location: time.UTC})
	var got []byte
	if err := w.WriteAlertFunc(a, func(line []byte) { got = append(got, line...) }); err != nil {
		t.Fatal(err)
	}
	if want := strings.TrimSuffix(buf.String(), "\n"); string(got) != want || want == "" {
		t.Fatalf("sink got %q, file got %q", got, buf.String())
	}
	buf.Reset()
	if err := w.WriteFlow(a.Flow, "timeout"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"alerted":true`) {
		t.Errorf("flow of an alert written through WriteAlertFunc: %s", buf.String())
	}
}
