package keyword

import (
	"strings"
	"testing"

	"github.com/tapwatch/tapwatch/rules/decode"
)

func TestParseIPProto(t *testing.T) {
	valid := map[string]NumCmp{
		"1":         {CmpEq, 1, 0},
		"ICMP":      {CmpEq, 1, 0},
		"tcp":       {CmpEq, 6, 0},
		"UDP":       {CmpEq, 17, 0},
		"gre":       {CmpEq, 47, 0},
		"esp":       {CmpEq, 50, 0},
		"ah":        {CmpEq, 51, 0},
		"IPv6-ICMP": {CmpEq, 58, 0},
		"sctp":      {CmpEq, 132, 0},
		"igmp":      {CmpEq, 2, 0},
		"103":       {CmpEq, 103, 0},
		"!6":        {CmpNe, 6, 0},
		"!tcp":      {CmpNe, 6, 0},
		"<10":       {CmpLt, 10, 0},
		"> 100":     {CmpGt, 100, 0},
	}
	for in, want := range valid {
		m, err := parseIPProto(in)
		if err != nil || m.cmp != want {
			t.Errorf("parseIPProto(%q) = %+v, %v; want %+v", in, m.cmp, err, want)
		}
	}
	for _, in := range []string{"", "!", "256", "nosuchproto", "<0", ">255", "6 7", "<=6", "6-17"} {
		hdrApplyErr(t, "ip_proto", in)
	}
}

func TestIPProtoConflict(t *testing.T) {
	k, _ := Lookup("ip_proto")
	s := &Sig{}
	for _, arg := range []string{"!6", "!17", "47", "gre"} {
		if err := k.Apply(s, arg); err != nil {
			t.Fatalf("ip_proto:%s: %v", arg, err)
		}
	}
	err := k.Apply(s, "50")
	if err == nil || !strings.Contains(err.Error(), `"50"`) {
		t.Errorf("ip_proto:47 then ip_proto:50: err = %v, want a conflict naming \"50\"", err)
	}
}

func TestIPProtoMatch(t *testing.T) {
	proto := func(v uint8) func(*decode.Packet) { return func(p *decode.Packet) { p.IPProto = v } }
	hdrRunMatch(t, "ip_proto", []hdrMatchCase{
		{"pim", "103", hdrSet(hdrIPv4(), proto(103)), true},
		{"tcp by name", "tcp", hdrTCP(hdrIPv4(), 0), true},
		{"not tcp", "!tcp", hdrTCP(hdrIPv4(), 0), false},
		{"not tcp on udp", "!tcp", hdrUDP(hdrIPv4()), true},
		{"ipv6 last next header", "ipv6-icmp", hdrICMP(hdrIPv6(), 128, 0), true},
		{"less", "<6", hdrICMP(hdrIPv4(), 8, 0), true},
		{"greater", ">6", hdrICMP(hdrIPv4(), 8, 0), false},
		// The protocol byte is known for a fragment even without its L4 header.
		{"fragment", "udp", hdrSet(hdrIPv4(), func(p *decode.Packet) { p.IPProto, p.Fragment = decode.ProtoUDP, true }), true},
		{"no ip", "!6", &decode.Packet{}, false},
	})
}

func TestSigIPProto(t *testing.T) {
	k, _ := Lookup("ip_proto")
	for _, tc := range []struct {
		args []string
		want uint8
		ok   bool
	}{
		{[]string{"41"}, 41, true},
		{[]string{"!17", "tcp"}, 6, true},
		{[]string{"!6"}, 0, false},
		{[]string{">50"}, 0, false},
		{nil, 0, false},
	} {
		s := &Sig{}
		for _, a := range tc.args {
			if err := k.Apply(s, a); err != nil {
				t.Fatalf("ip_proto:%s: %v", a, err)
			}
		}
		if got, ok := s.IPProto(); got != tc.want || ok != tc.ok {
			t.Errorf("ip_proto %v: IPProto() = %d, %v; want %d, %v", tc.args, got, ok, tc.want, tc.ok)
		}
	}
}
