package detect

import (
	"testing"

	"github.com/tapwatch/tapwatch/rules/decode"
)

// flushRec is one alert with what the EVE writer reads off its packet.
type flushRec struct {
	sid     uint32
	num     uint64
	src     decode.PktSrc
	gap     uint32
	payload string
	stream  bool
}

func runFlush(w *Worker, pkts ...*decode.Packet) []flushRec {
	var out []flushRec
	emit := func(a *Alert) {
		out = append(out, flushRec{a.SID, a.Packet.Num, a.Packet.Src, a.Packet.StreamGap, string(a.Packet.Payload), a.Stream})
	}
	for _, p := range pkts {
		w.Process(p, 0, emit)
	}
	w.Flush(emit, nil)
	return out
}

func TestFlushInspectsHeldStreamData(t *testing.T) {
	const sigs = `alert tcp-stream any any -> any any (content:"GOOD"; sid:1;)
alert tcp-pkt any any -> any any (content:"GOOD"; sid:2;)
alert tcp-stream any any -> any any (content:"EVIL"; sid:3;)
alert tcp-stream any any -> any any (content:"VERYGOOD"; sid:4;)
`
	hs := func() []*decode.Packet {
		syn := tcpSeg(1, false, decode.TCPSyn, 0, "")
		syn.TCPAck = 0
		return []*decode.Packet{syn, tcpSeg(2, true, decode.TCPSyn|decode.TCPAck, 0, ""), tcpSeg(3, false, decode.TCPAck, 1, "")}
	}
	serverAck := func(n int, rel uint32) *decode.Packet {
		p := tcpSeg(n, true, decode.TCPAck, 1, "")
		p.TCPAck = 1000 + rel
		return p
	}
	for _, tc := range []struct {
		name     string
		settings map[string]string
		ips      bool
		pkts     []*decode.Packet
		want     []flushRec
	}{
		{
			// IDS mode: data the server never acknowledged before the
			// capture ended is inspected at flow end; the first copy wins.
			name:     "unacknowledged at end",
			settings: map[string]string{"stream.inline": "auto"},
			pkts: append(hs(), tcpSeg(4, false, decode.TCPAck|decode.TCPPsh, 1, "GOOD"),
				tcpSeg(5, false, decode.TCPAck|decode.TCPPsh, 1, "EVIL")),
			want: []flushRec{{2, 4, decode.PktSrcWire, 0, "GOOD", false},
				{1, 0, decode.PktSrcFlowTimeout, 0, "GOOD", true}},
		},
		{
			// Acknowledged data is inspected on the sender's next packet.
			name:     "acknowledged",
			settings: map[string]string{"stream.inline": "no"},
			pkts: append(hs(), tcpSeg(4, false, decode.TCPAck|decode.TCPPsh, 1, "GOOD"), serverAck(5, 5),
				tcpSeg(6, false, decode.TCPAck, 5, "")),
			want: []flushRec{{2, 4, decode.PktSrcWire, 0, "GOOD", false}, {1, 6, decode.PktSrcWire, 0, "", true}},
		},
		{
			// Inline (IPS with stream.inline auto): inspected on arrival.
			name:     "inline",
			settings: map[string]string{"stream.inline": "auto"},
			ips:      true,
			pkts:     append(hs(), tcpSeg(4, false, decode.TCPAck|decode.TCPPsh, 1, "GOOD")),
			want:     []flushRec{{1, 4, decode.PktSrcWire, 0, "GOOD", true}, {2, 4, decode.PktSrcWire, 0, "GOOD", false}},
		},
		{
			// A segment the capture lost: what follows waits for the hole
			// until the flow ends, then is inspected after it.
			name: "leading gap",
			pkts: append(hs(), tcpSeg(4, false, decode.TCPAck|decode.TCPPsh, 5, "GOOD"),
				tcpSeg(5, false, decode.TCPAck|decode.TCPPsh, 9, "DATA")),
			want: []flushRec{{2, 4, decode.PktSrcWire, 0, "GOOD", false},
				{1, 0, decode.PktSrcFlowTimeout, 4, "GOODDATA", true}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := engine(t, Options{IPS: tc.ips, Settings: tc.settings}, sigs)
			got := runFlush(e.NewWorker(), tc.pkts...)
			if len(got) != len(tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("alert %d: got %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestAckGateSetting(t *testing.T) {
	for _, tc := range []struct {
		settings map[string]string
		ips      bool
		want     bool
	}{
		{nil, false, false},
		{map[string]string{"stream.inline": "auto"}, false, true},
		{map[string]string{"stream.inline": "auto"}, true, false},
		{map[string]string{"stream.inline": "yes"}, false, false},
		{map[string]string{"stream.inline": "no"}, true, true},
	} {
		if got := ackGate(Options{IPS: tc.ips, Settings: tc.settings}); got != tc.want {
			t.Errorf("%v ips=%v: %v, want %v", tc.settings, tc.ips, got, tc.want)
		}
	}
}
