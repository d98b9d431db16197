package keyword

import (
	"testing"

	"github.com/tapwatch/tapwatch/rules/decode"
)

func TestParseICMPID(t *testing.T) {
	valid := map[string]NumCmp{
		"0":     {CmpEq, 0, 0},
		`"0"`:   {CmpEq, 0, 0},
		"65535": {CmpEq, 65535, 0},
		">100":  {CmpGt, 100, 0},
	}
	for in, want := range valid {
		m, err := parseICMPID(in)
		if err != nil || m.cmp != want {
			t.Errorf("parseICMPID(%q) = %+v, %v; want %+v", in, m.cmp, err, want)
		}
	}
	for _, in := range []string{"", "65536", "id", `"`} {
		hdrApplyErr(t, "icmp_id", in)
	}
}

func TestICMPIDMatch(t *testing.T) {
	echo := func(id, seq uint16) func(*decode.Packet) {
		return func(p *decode.Packet) { p.ICMPID, p.ICMPSeq, p.HasICMPID = id, seq, true }
	}
	hdrRunMatch(t, "icmp_id", []hdrMatchCase{
		{"echo", "1234", hdrSet(hdrICMP(hdrIPv4(), 8, 0), echo(1234, 1)), true},
		{"echo other id", "1234", hdrSet(hdrICMP(hdrIPv4(), 8, 0), echo(1, 1234)), false},
		{"icmpv6 echo", "1234", hdrSet(hdrICMP(hdrIPv6(), 128, 0), echo(1234, 1)), true},
		// Destination unreachable has no identifier; zero there is not an id.
		{"unreachable", "0", hdrICMP(hdrIPv4(), 3, 3), false},
		{"tcp", "0", hdrTCP(hdrIPv4(), 0), false},
	})
}
