package keyword

import (
	"testing"

	"github.com/tapwatch/tapwatch/rules/decode"
)

func TestParseFragOffset(t *testing.T) {
	valid := map[string]NumCmp{
		"0":    {CmpEq, 0, 0},
		"300":  {CmpEq, 300, 0},
		">300": {CmpGt, 300, 0},
		"<5":   {CmpLt, 5, 0},
		"!0":   {CmpNe, 0, 0},
	}
	for in, want := range valid {
		m, err := parseFragOffset(in)
		if err != nil || m.cmp != want {
			t.Errorf("parseFragOffset(%q) = %+v, %v; want %+v", in, m.cmp, err, want)
		}
	}
	for _, in := range []string{"", "badc", "65536", "<0", ">"} {
		hdrApplyErr(t, "fragoffset", in)
	}
}

func TestFragOffsetMatch(t *testing.T) {
	frag := func(off uint16, mf bool) func(*decode.Packet) {
		return func(p *decode.Packet) {
			p.FragOff, p.Fragment = off, true
			if mf {
				p.IPFlags = ipFlagMF
			}
		}
	}
	hdrRunMatch(t, "fragoffset", []hdrMatchCase{
		// Suricata's own test: ip_off 0x2222 holds offset 546 (8-byte units).
		{"ipv4 raw units", "546", hdrSet(hdrIPv4(), frag(0x222, true)), true},
		{"ipv4 not bytes", "4368", hdrSet(hdrIPv4(), frag(0x222, true)), false},
		{"ipv4 first fragment", "0", hdrSet(hdrIPv4(), frag(0, true)), true},
		{"ipv4 whole datagram", "0", hdrIPv4(), true},
		{"ipv4 greater", ">0", hdrSet(hdrIPv4(), frag(185, false)), true},
		{"ipv4 not", "!0", hdrIPv4(), false},
		// IPv6: Suricata reads the fragment header's offset in bytes.
		{"ipv6 bytes", "1448", hdrSet(hdrIPv6(), frag(181, false)), true},
		{"ipv6 not units", "181", hdrSet(hdrIPv6(), frag(181, false)), false},
		{"ipv6 without fragment header", "0", hdrIPv6(), false},
		{"no ip", "0", &decode.Packet{}, false},
	})
}
