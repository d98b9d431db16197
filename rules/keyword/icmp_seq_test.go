package keyword

import (
	"testing"

	"github.com/tapwatch/tapwatch/rules/decode"
)

func TestParseICMPSeq(t *testing.T) {
	valid := map[string]NumCmp{
		"0":      {CmpEq, 0, 0},
		`"7"`:    {CmpEq, 7, 0},
		"!65535": {CmpNe, 65535, 0},
	}
	for in, want := range valid {
		m, err := parseICMPSeq(in)
		if err != nil || m.cmp != want {
			t.Errorf("parseICMPSeq(%q) = %+v, %v; want %+v", in, m.cmp, err, want)
		}
	}
	for _, in := range []string{"", "70000", "seq"} {
		hdrApplyErr(t, "icmp_seq", in)
	}
}

func TestICMPSeqMatch(t *testing.T) {
	echo := func(id, seq uint16) func(*decode.Packet) {
		return func(p *decode.Packet) { p.ICMPID, p.ICMPSeq, p.HasICMPID = id, seq, true }
	}
	hdrRunMatch(t, "icmp_seq", []hdrMatchCase{
		{"echo", "7", hdrSet(hdrICMP(hdrIPv4(), 8, 0), echo(1, 7)), true},
		{"echo other seq", "7", hdrSet(hdrICMP(hdrIPv4(), 8, 0), echo(7, 1)), false},
		{"reply", "<10", hdrSet(hdrICMP(hdrIPv6(), 129, 0), echo(1, 9)), true},
		{"time exceeded", "0", hdrICMP(hdrIPv4(), 11, 0), false},
	})
}
