package keyword

import (
	"testing"

	"github.com/tapwatch/tapwatch/rules/decode"
)

func TestParseTCPMSS(t *testing.T) {
	valid := map[string]NumCmp{
		"536":       {CmpEq, 536, 0},
		"<536":      {CmpLt, 536, 0},
		"1000-1500": {CmpRange, 1000, 1500},
	}
	for in, want := range valid {
		m, err := parseTCPMSS(in)
		if err != nil || m.cmp != want {
			t.Errorf("parseTCPMSS(%q) = %+v, %v; want %+v", in, m.cmp, err, want)
		}
	}
	for _, in := range []string{"", "65536", "mss"} {
		hdrApplyErr(t, "tcp.mss", in)
	}
}

func TestTCPMSSMatch(t *testing.T) {
	syn := func(opts ...byte) *decode.Packet {
		return hdrSet(hdrTCP(hdrIPv4(), decode.TCPSyn), func(p *decode.Packet) { p.TCPOpts = opts })
	}
	hdrRunMatch(t, "tcp.mss", []hdrMatchCase{
		{"mss 1460", "1460", syn(2, 4, 0x05, 0xb4), true},
		{"small mss", "<536", syn(2, 4, 0x01, 0x00), true},
		{"after nop and sack-permitted", "1460", syn(1, 1, 4, 2, 2, 4, 0x05, 0xb4), true},
		{"other value", "<536", syn(2, 4, 0x05, 0xb4), false},
		// Suricata: no option, no match, whatever the comparison.
		{"absent", "!0", syn(1, 1, 4, 2), false},
		{"after eol", "!0", syn(0, 2, 4, 0x05, 0xb4), false},
		{"bad length", "!0", syn(2, 3, 0x05), false},
		{"truncated", "!0", syn(2, 4, 0x05), false},
		{"udp", "!0", hdrUDP(hdrIPv4()), false},
	})
}
