package detect

import (
	"testing"

	"github.com/tapwatch/tapwatch/rules/decode"
)

// Fast patterns bound to the buffer's start (depth, startswith) are
// prefiltered on its first bytes only, and rules naming a flow direction
// only for packets going that way: rules still fire exactly where they
// match, on packets and on the stream, and never beyond their depth.
func TestPayloadPrefilterSplits(t *testing.T) {
	e := engine(t, Options{}, `alert udp any any -> any any (msg:"anchored"; content:"|03 01|"; depth:2; sid:1;)
alert udp any any -> any any (msg:"startswith"; content:"HELO"; startswith; sid:2;)
alert udp any any -> any any (msg:"deep"; content:"MARK"; offset:40; depth:20; sid:3;)
alert tcp any any -> any 80 (msg:"stream anchored"; flow:to_server,established; content:"GET /a"; depth:6; sid:4;)
alert tcp any 80 -> any any (msg:"to client only"; flow:to_client,established; content:"SECRET"; sid:5;)
alert tcp any any -> any 80 (msg:"to server only"; flow:to_server,established; content:"SECRET"; sid:6;)
`)
	pad := func(n int) string { return string(make([]byte, n)) }
	for _, tc := range []struct {
		payload string
		want    []uint32
	}{
		{"\x03\x01 rest", []uint32{1}},
		{"x\x03\x01", nil}, // beyond depth 2
		{"HELO there", []uint32{2}},
		{" HELO", nil},
		{pad(45) + "MARK", []uint32{3}}, // ends at 49, within offset+depth 60
		{pad(58) + "MARK", nil},         // ends at 62
		{pad(80) + "\x03\x01HELO", nil},
	} {
		got, _ := run(e.NewWorker(), udp(1, false, tc.payload))
		if !eq(sids(got), tc.want) {
			t.Errorf("udp %q: alerts %v, want %v", tc.payload, sids(got), tc.want)
		}
	}

	syn := tcpSeg(1, false, decode.TCPSyn, 0, "")
	syn.TCPAck = 0
	got, _ := run(e.NewWorker(), syn, tcpSeg(2, true, decode.TCPSyn|decode.TCPAck, 0, ""), tcpSeg(3, false, decode.TCPAck, 1, ""),
		tcpSeg(4, false, decode.TCPAck|decode.TCPPsh, 1, "GET /a HTTP/1.0\r\n"),
		tcpSeg(5, true, decode.TCPAck|decode.TCPPsh, 1, "HTTP/1.0 200 OK\r\n\r\nSECRET"),
		tcpSeg(6, false, decode.TCPAck|decode.TCPPsh, 18, "x: GET /a\r\n"))
	var dirs []uint32
	for _, r := range got {
		dirs = append(dirs, r.sid)
		if r.sid == 4 && r.num != 4 {
			t.Errorf("anchored stream rule fired on packet %d, want 4 (its pattern is at the stream's start only there)", r.num)
		}
	}
	if !eq(dirs, []uint32{4, 5}) {
		t.Errorf("tcp: alerts %v, want [4 5] (SECRET goes to the client only)", dirs)
	}
}
