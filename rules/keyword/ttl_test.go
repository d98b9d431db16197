package keyword

import (
	"testing"

	"github.com/tapwatch/tapwatch/rules/decode"
)

func TestParseTTL(t *testing.T) {
	valid := map[string]NumCmp{
		"0":     {CmpEq, 0, 0},
		"<3":    {CmpLt, 3, 0},
		"3-5":   {CmpRange, 3, 5},
		">=250": {CmpGe, 250, 0},
	}
	for in, want := range valid {
		m, err := parseTTL(in)
		if err != nil || m.cmp != want {
			t.Errorf("parseTTL(%q) = %+v, %v; want %+v", in, m.cmp, err, want)
		}
	}
	for _, in := range []string{"", "256", "-1", "abc", "<0", "5-3", "=>5"} {
		hdrApplyErr(t, "ttl", in)
	}
}

func TestTTLMatch(t *testing.T) {
	hdrRunMatch(t, "ttl", []hdrMatchCase{
		{"ipv4 equal", "64", hdrIPv4(), true},
		{"ipv4 differ", "63", hdrIPv4(), false},
		{"ipv6 hop limit", "<65", hdrIPv6(), true},
		{"ipv6 hop limit out of range", "<64", hdrIPv6(), false},
		{"ttl 0", "0", hdrSet(hdrIPv4(), func(p *decode.Packet) { p.TTL = 0 }), true},
		{"no ip layer", "0", &decode.Packet{}, false},
	})
}
