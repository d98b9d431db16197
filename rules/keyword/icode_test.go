package keyword

import (
	"testing"

	"github.com/tapwatch/tapwatch/rules/decode"
)

func TestParseICode(t *testing.T) {
	valid := map[string]NumCmp{
		"3":   {CmpEq, 3, 0},
		"<5":  {CmpLt, 5, 0},
		"1-4": {CmpRange, 1, 4},
	}
	for in, want := range valid {
		m, err := parseICode(in)
		if err != nil || m.cmp != want {
			t.Errorf("parseICode(%q) = %+v, %v; want %+v", in, m.cmp, err, want)
		}
	}
	for _, in := range []string{"", "300", "x", "<0"} {
		hdrApplyErr(t, "icode", in)
	}
}

func TestICodeMatch(t *testing.T) {
	hdrRunMatch(t, "icode", []hdrMatchCase{
		{"port unreachable", "3", hdrICMP(hdrIPv4(), 3, 3), true},
		{"host unreachable", "3", hdrICMP(hdrIPv4(), 3, 1), false},
		{"icmpv6", ">0", hdrICMP(hdrIPv6(), 1, 4), true},
		{"udp", "0", hdrUDP(hdrIPv4()), false},
		{"no l4", "0", &decode.Packet{IPVersion: 4, IPProto: decode.ProtoICMP}, false},
	})
}
