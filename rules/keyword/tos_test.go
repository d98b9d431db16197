package keyword

import (
	"testing"

	"github.com/tapwatch/tapwatch/rules/decode"
)

func TestParseTOS(t *testing.T) {
	valid := map[string]NumCmp{
		"8":     {CmpEq, 8, 0},
		"!8":    {CmpNe, 8, 0},
		"! 8":   {CmpNe, 8, 0},
		"x88":   {CmpEq, 0x88, 0},
		"X1f":   {CmpEq, 0x1f, 0},
		"!xB8":  {CmpNe, 0xb8, 0},
		"0x88":  {CmpEq, 0x88, 0},
		" 255 ": {CmpEq, 255, 0},
	}
	for in, want := range valid {
		m, err := parseTOS(in)
		if err != nil || m.cmp != want {
			t.Errorf("parseTOS(%q) = %+v, %v; want %+v", in, m.cmp, err, want)
		}
	}
	for _, in := range []string{"", "!", "256", "x100", "xg", "x", "<8", "8-10", "-1", "8a"} {
		hdrApplyErr(t, "tos", in)
	}
}

func TestTOSMatch(t *testing.T) {
	tos := func(v uint8) func(*decode.Packet) { return func(p *decode.Packet) { p.TOS = v } }
	hdrRunMatch(t, "tos", []hdrMatchCase{
		{"equal", "8", hdrSet(hdrIPv4(), tos(8)), true},
		{"differ", "8", hdrSet(hdrIPv4(), tos(4)), false},
		{"negated differ", "!8", hdrSet(hdrIPv4(), tos(4)), true},
		{"negated equal", "!8", hdrSet(hdrIPv4(), tos(8)), false},
		{"hex", "xb8", hdrSet(hdrIPv4(), tos(0xb8)), true},
		// Suricata's tos reads only IPv4, even for an equal traffic class.
		{"ipv6 traffic class", "8", hdrSet(hdrIPv6(), tos(8)), false},
		{"ipv6 negated", "!8", hdrSet(hdrIPv6(), tos(4)), false},
	})
}
