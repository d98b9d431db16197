package keyword

import (
	"testing"

	"github.com/tapwatch/tapwatch/rules/decode"
)

func TestParseSeq(t *testing.T) {
	valid := map[string]NumCmp{
		"0":          {CmpEq, 0, 0},
		"4294967295": {CmpEq, 4294967295, 0},
		"!0":         {CmpNe, 0, 0},
	}
	for in, want := range valid {
		m, err := parseSeq(in)
		if err != nil || m.cmp != want {
			t.Errorf("parseSeq(%q) = %+v, %v; want %+v", in, m.cmp, err, want)
		}
	}
	for _, in := range []string{"", "4294967296", "seq", "1.5"} {
		hdrApplyErr(t, "seq", in)
	}
}

func TestSeqMatch(t *testing.T) {
	seq := func(v uint32) func(*decode.Packet) { return func(p *decode.Packet) { p.TCPSeq = v } }
	hdrRunMatch(t, "seq", []hdrMatchCase{
		{"tcp equal", "0", hdrTCP(hdrIPv4(), 0), true},
		{"tcp differ", "0", hdrSet(hdrTCP(hdrIPv4(), 0), seq(1)), false},
		{"tcp max", "4294967295", hdrSet(hdrTCP(hdrIPv6(), 0), seq(4294967295)), true},
		{"udp has no seq", "0", hdrUDP(hdrIPv4()), false},
		// An undecoded TCP fragment has no header to read.
		{"tcp fragment", "0", hdrSet(hdrIPv4(), func(p *decode.Packet) { p.IPProto, p.Fragment = decode.ProtoTCP, true }), false},
	})
}
