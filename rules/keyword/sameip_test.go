package keyword

import (
	"net/netip"
	"testing"

	"github.com/tapwatch/tapwatch/rules/decode"
)

func TestParseSameIP(t *testing.T) {
	if _, err := parseSameIP(""); err != nil {
		t.Errorf("parseSameIP(\"\"): %v", err)
	}
	if _, err := parseSameIP("  "); err != nil {
		t.Errorf("parseSameIP(blank): %v", err)
	}
	hdrApplyErr(t, "sameip", "1")
}

func TestSameIPMatch(t *testing.T) {
	same := func(a string) func(*decode.Packet) {
		return func(p *decode.Packet) { p.SrcIP, p.DstIP = netip.MustParseAddr(a), netip.MustParseAddr(a) }
	}
	hdrRunMatch(t, "sameip", []hdrMatchCase{
		{"ipv4 same", "", hdrSet(hdrIPv4(), same("192.0.2.7")), true},
		{"ipv4 differ", "", hdrIPv4(), false},
		{"ipv6 same", "", hdrSet(hdrIPv6(), same("2001:db8::7")), true},
		{"ipv6 differ", "", hdrIPv6(), false},
		// Zero addresses are equal, but a frame without IP has no addresses.
		{"no ip layer", "", &decode.Packet{}, false},
	})
}
