package keyword

import (
	"testing"

	"github.com/tapwatch/tapwatch/rules/decode"
)

func TestParseWindow(t *testing.T) {
	valid := map[string]NumCmp{
		"55808":  {CmpEq, 55808, 0},
		"!0":     {CmpNe, 0, 0},
		"! 1024": {CmpNe, 1024, 0},
	}
	for in, want := range valid {
		m, err := parseWindow(in)
		if err != nil || m.cmp != want {
			t.Errorf("parseWindow(%q) = %+v, %v; want %+v", in, m.cmp, err, want)
		}
	}
	for _, in := range []string{"", "65536", "!", "win"} {
		hdrApplyErr(t, "window", in)
	}
}

func TestWindowMatch(t *testing.T) {
	win := func(v uint16) func(*decode.Packet) { return func(p *decode.Packet) { p.TCPWin = v } }
	hdrRunMatch(t, "window", []hdrMatchCase{
		{"equal", "55808", hdrSet(hdrTCP(hdrIPv4(), decode.TCPSyn), win(55808)), true},
		{"differ", "55808", hdrSet(hdrTCP(hdrIPv4(), decode.TCPSyn), win(1024)), false},
		{"negated", "!0", hdrSet(hdrTCP(hdrIPv4(), 0), win(1)), true},
		{"negated zero window", "!0", hdrTCP(hdrIPv4(), 0), false},
		{"not tcp", "!0", hdrUDP(hdrIPv4()), false},
	})
}
