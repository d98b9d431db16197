package keyword

import (
	"testing"

	"github.com/tapwatch/tapwatch/rules/decode"
)

func TestParseFragBits(t *testing.T) {
	valid := map[string]fragbitsMatch{
		"M":    {bitsExact, ipFlagMF},
		"d":    {bitsExact, ipFlagDF},
		"MD":   {bitsExact, ipFlagMF | ipFlagDF},
		"+D":   {bitsPlus, ipFlagDF},
		"*MR":  {bitsAny, ipFlagMF | ipFlagRF},
		"!D":   {bitsNot, ipFlagDF},
		" ! R": {bitsNot, ipFlagRF},
	}
	for in, want := range valid {
		m, err := parseFragBits(in)
		if err != nil || m != want {
			t.Errorf("parseFragBits(%q) = %+v, %v; want %+v", in, m, err, want)
		}
	}
	for _, in := range []string{"", "G", "GM", "MG", "+", "+!D", "M+", "1"} {
		hdrApplyErr(t, "fragbits", in)
	}
}

func TestFragBitsMatch(t *testing.T) {
	flags := func(f uint8) func(*decode.Packet) { return func(p *decode.Packet) { p.IPFlags = f } }
	v4 := func(f uint8) *decode.Packet { return hdrSet(hdrIPv4(), flags(f)) }
	hdrRunMatch(t, "fragbits", []hdrMatchCase{
		{"exact", "D", v4(ipFlagDF), true},
		{"exact extra bit", "D", v4(ipFlagDF | ipFlagRF), false},
		{"exact missing", "MD", v4(ipFlagDF), false},
		{"plus alone", "+D", v4(ipFlagDF), true},
		{"plus others", "+D", v4(ipFlagDF | ipFlagMF), true},
		{"plus missing", "+MD", v4(ipFlagDF), false},
		{"any one", "*MR", v4(ipFlagMF | ipFlagDF), true},
		{"any none", "*MR", v4(ipFlagDF), false},
		{"not clear", "!D", v4(0), true},
		{"not set", "!D", v4(ipFlagDF), false},
		// Suricata's ! matches when not all the listed bits are set.
		{"not partial", "!MD", v4(ipFlagDF), true},
		{"reserved bit", "R", v4(ipFlagRF), true},
		{"ipv6 more fragments", "M", hdrSet(hdrIPv6(), flags(ipFlagMF)), false},
		{"ipv6 not", "!D", hdrIPv6(), false},
	})
}
