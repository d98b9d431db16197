package flow

import (
	"testing"

	"github.com/tapwatch/tapwatch/rules/decode"
)

// A session picked up midstream takes its client from the ports when the
// first packet plainly comes from a service port (Suricata reverses such
// flows once protocol detection sees a response).
func TestMidstreamDirectionFromPorts(t *testing.T) {
	psh := decode.TCPPsh
	for _, tc := range []struct {
		name       string
		midstream  bool
		sp, dp     uint16
		flags      uint8
		wantClient bool // the first packet's sender is the client
	}{
		{"server data first", true, 445, 49216, ack | psh, false},
		{"client data first", true, 49216, 445, ack | psh, true},
		{"both ephemeral", true, 40000, 50000, ack | psh, true},
		{"both well-known", true, 25, 80, ack | psh, true},
		{"server data without midstream", false, 445, 49216, ack | psh, true},
		{"syn/ack first", false, 80, 40000, synack, false},
		{"bare syn from low port", true, 80, 40000, syn, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tb := NewTable(Config{Midstream: tc.midstream})
			f, dir := tb.Lookup(tcp(srv, tc.sp, cli, tc.dp, tc.flags, 1, 1, "x", 0), 0)
			if (dir == ToServer) != tc.wantClient || (f.Key.Src == srv) != tc.wantClient {
				t.Errorf("dir %v key %v:%d -> %v:%d", dir, f.Key.Src, f.Key.SrcPort, f.Key.Dst, f.Key.DstPort)
			}
			if tc.midstream && tc.flags&decode.TCPSyn == 0 && !f.TCP.Established() {
				t.Error("midstream session not established")
			}
		})
	}
}
