package keyword

import (
	"testing"

	"github.com/tapwatch/tapwatch/rules/decode"
)

func TestParseAck(t *testing.T) {
	valid := map[string]NumCmp{
		"1":       {CmpEq, 1, 0},
		">100000": {CmpGt, 100000, 0},
	}
	for in, want := range valid {
		m, err := parseAck(in)
		if err != nil || m.cmp != want {
			t.Errorf("parseAck(%q) = %+v, %v; want %+v", in, m.cmp, err, want)
		}
	}
	for _, in := range []string{"", "4294967296", "A"} {
		hdrApplyErr(t, "ack", in)
	}
}

func TestAckMatch(t *testing.T) {
	ack := func(v uint32) func(*decode.Packet) { return func(p *decode.Packet) { p.TCPAck = v } }
	hdrRunMatch(t, "ack", []hdrMatchCase{
		{"null scan", "0", hdrTCP(hdrIPv4(), 0), true},
		{"differ", "0", hdrSet(hdrTCP(hdrIPv4(), decode.TCPAck), ack(7)), false},
		{"equal", "7", hdrSet(hdrTCP(hdrIPv4(), decode.TCPAck), ack(7)), true},
		{"not tcp", "0", hdrICMP(hdrIPv4(), 8, 0), false},
	})
}
