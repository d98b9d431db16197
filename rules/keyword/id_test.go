package keyword

import (
	"testing"

	"github.com/tapwatch/tapwatch/rules/decode"
)

func TestParseID(t *testing.T) {
	valid := map[string]NumCmp{
		"1":       {CmpEq, 1, 0},
		`"31337"`: {CmpEq, 31337, 0},
		"65535":   {CmpEq, 65535, 0},
		">1000":   {CmpGt, 1000, 0},
	}
	for in, want := range valid {
		m, err := parseID(in)
		if err != nil || m.cmp != want {
			t.Errorf("parseID(%q) = %+v, %v; want %+v", in, m.cmp, err, want)
		}
	}
	for _, in := range []string{"", "65536", "x", `"1`, "-3"} {
		hdrApplyErr(t, "id", in)
	}
}

func TestIDMatch(t *testing.T) {
	id := func(v uint32) func(*decode.Packet) { return func(p *decode.Packet) { p.IPID = v } }
	hdrRunMatch(t, "id", []hdrMatchCase{
		{"equal", "31337", hdrSet(hdrIPv4(), id(31337)), true},
		{"differ", "31337", hdrSet(hdrIPv4(), id(31338)), false},
		// The IPv6 fragment identification is 32 bits and not what id means.
		{"ipv6 fragment id", "31337", hdrSet(hdrIPv6(), id(31337)), false},
	})
}
