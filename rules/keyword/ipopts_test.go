package keyword

import (
	"testing"

	"github.com/tapwatch/tapwatch/rules/decode"
)

func TestParseIPOpts(t *testing.T) {
	valid := map[string]uint16{
		"rr": ipoptRR, "eol": ipoptEOL, "nop": ipoptNOP, "ts": ipoptTS,
		"sec": ipoptSEC, "esec": ipoptESEC, "lsrr": ipoptLSRR, "ssrr": ipoptSSRR,
		"satid": ipoptSATID, "qs": ipoptQS, "rtralt": ipoptRTRALT, "cipso": ipoptCIPSO,
		"any": ipoptAny, " LSRR ": ipoptLSRR,
	}
	for in, want := range valid {
		m, err := parseIPOpts(in)
		if err != nil || m.opt != want {
			t.Errorf("parseIPOpts(%q) = %#x, %v; want %#x", in, m.opt, err, want)
		}
	}
	for _, in := range []string{"", "lsrr,ssrr", "record-route", "7"} {
		hdrApplyErr(t, "ipopts", in)
	}
}

func TestIPOptsMatch(t *testing.T) {
	opts := func(b ...byte) *decode.Packet {
		return hdrSet(hdrIPv4(), func(p *decode.Packet) { p.IPOptions = b })
	}
	rr := []byte{ipoptRR, 7, 4, 0, 0, 0, 0}
	hdrRunMatch(t, "ipopts", []hdrMatchCase{
		{"rr", "rr", opts(rr...), true},
		{"rr absent", "ts", opts(rr...), false},
		{"after nop", "lsrr", opts(ipoptNOP, ipoptLSRR, 7, 4, 0, 0, 0, 0), true},
		{"second tlv", "rtralt", opts(append(append([]byte{}, rr...), ipoptRTRALT, 4, 0, 0)...), true},
		{"nop", "nop", opts(ipoptNOP, ipoptNOP, ipoptNOP, ipoptEOL), true},
		{"eol", "eol", opts(ipoptNOP, ipoptEOL, 0, 0), true},
		{"eol absent", "eol", opts(rr[:4]...), false},
		// Bytes after EOL are padding, not options.
		{"after eol", "ssrr", opts(ipoptEOL, 2, ipoptSSRR, 3, 4), false},
		// A type byte that only appears inside another option's data.
		{"inside data", "ts", opts(ipoptRR, 7, 4, ipoptTS, 0, 0, 0), false},
		{"truncated tlv", "ts", opts(ipoptTS, 12, 5, 0), false},
		{"zero length", "ts", opts(ipoptSEC, 0, ipoptTS, 4, 5, 0), false},
		{"lone type byte", "sec", opts(ipoptSEC), false},
		{"any", "any", opts(rr...), true},
		{"any nop", "any", opts(ipoptNOP, ipoptEOL, 0, 0), true},
		{"any unknown only", "any", opts(0x9e, 4, 0, 0), false},
		{"any none", "any", hdrIPv4(), false},
		{"ipv6", "any", hdrSet(hdrIPv6(), func(p *decode.Packet) { p.IPOptions = rr }), false},
	})
}
