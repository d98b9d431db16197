package keyword

import (
	"testing"

	"github.com/tapwatch/tapwatch/rules/decode"
)

func TestParseIType(t *testing.T) {
	valid := map[string]NumCmp{
		"8":    {CmpEq, 8, 0},
		">10":  {CmpGt, 10, 0},
		"3<>5": {CmpRange, 3, 5},
		"!0":   {CmpNe, 0, 0},
	}
	for in, want := range valid {
		m, err := parseIType(in)
		if err != nil || m.cmp != want {
			t.Errorf("parseIType(%q) = %+v, %v; want %+v", in, m.cmp, err, want)
		}
	}
	for _, in := range []string{"", "256", "echo", "5<>3", ">255"} {
		hdrApplyErr(t, "itype", in)
	}
}

func TestITypeMatch(t *testing.T) {
	hdrRunMatch(t, "itype", []hdrMatchCase{
		{"icmp echo", "8", hdrICMP(hdrIPv4(), 8, 0), true},
		{"icmp reply", "8", hdrICMP(hdrIPv4(), 0, 0), false},
		{"icmpv6 echo", "128", hdrICMP(hdrIPv6(), 128, 0), true},
		{"range", "2<>5", hdrICMP(hdrIPv4(), 3, 1), true},
		{"range bound", "3<>5", hdrICMP(hdrIPv4(), 3, 1), false},
		{"tcp", "0", hdrTCP(hdrIPv4(), 0), false},
		// ICMP over a fragment that was not decoded has no type.
		{"icmp fragment", "0", hdrSet(hdrIPv4(), func(p *decode.Packet) { p.IPProto, p.Fragment = decode.ProtoICMP, true }), false},
	})
}
