package keyword

import (
	"testing"

	"github.com/tapwatch/tapwatch/rules/decode"
)

const (
	fF = decode.TCPFin
	fS = decode.TCPSyn
	fR = decode.TCPRst
	fP = decode.TCPPsh
	fA = decode.TCPAck
	fU = decode.TCPUrg
	fE = decode.TCPEce
	fC = decode.TCPCwr
)

func TestParseFlags(t *testing.T) {
	valid := map[string]flagsMatch{
		"S":        {bitsExact, fS, 0xff},
		"SA":       {bitsExact, fS | fA, 0xff},
		"fsrpauce": {bitsExact, 0xff, 0xff},
		"0":        {bitsExact, 0, 0xff},
		"S,CE":     {bitsExact, fS, 0xff &^ (fC | fE)},
		"S,12":     {bitsExact, fS, 0xff &^ (fC | fE)},
		"12":       {bitsExact, fC | fE, 0xff},
		"+S":       {bitsPlus, fS, 0xff},
		"AP+":      {bitsPlus, fA | fP, 0xff},
		"*SF":      {bitsAny, fS | fF, 0xff},
		"!R":       {bitsNot, fR, 0xff},
		" ! U ":    {bitsNot, fU, 0xff},
		"FPU,CE":   {bitsExact, fF | fP | fU, 0xff &^ (fC | fE)},
		"S , C":    {bitsExact, fS, 0xff &^ fC},
	}
	for in, want := range valid {
		m, err := parseFlags(in)
		if err != nil || m != want {
			t.Errorf("parseFlags(%q) = %+v, %v; want %+v", in, m, err, want)
		}
	}
	for _, in := range []string{"", "G", "+", "+S*", "SS", "S0", "S,", "S,X", "S,0", "S,C,E", "!"} {
		hdrApplyErr(t, "flags", in)
	}
}

func TestFlagsAlias(t *testing.T) {
	m := hdrApply(t, "tcp.flags", "S,CE")
	if _, ok := m.(flagsMatch); !ok {
		t.Fatalf("tcp.flags recorded %T, want flagsMatch", m)
	}
	if !m.Match(hdrTCP(hdrIPv4(), fS|fC|fE)) {
		t.Error("tcp.flags:S,CE should match an ECN SYN")
	}
}

func TestFlagsMatch(t *testing.T) {
	tcp := func(f uint8) *decode.Packet { return hdrTCP(hdrIPv4(), f) }
	hdrRunMatch(t, "flags", []hdrMatchCase{
		{"syn exact", "S", tcp(fS), true},
		{"syn-ack is not S", "S", tcp(fS | fA), false},
		{"ecn syn needs mask", "S", tcp(fS | fC | fE), false},
		{"ecn syn masked", "S,CE", tcp(fS | fC | fE), true},
		{"ecn syn legacy mask", "S,12", tcp(fS | fE), true},
		{"mask keeps others", "S,CE", tcp(fS | fA), false},
		{"plus", "+S", tcp(fS | fA), true},
		{"plus after", "SA+", tcp(fS | fA | fP), true},
		{"plus missing", "+SA", tcp(fS), false},
		{"any", "*SF", tcp(fF | fA), true},
		{"any none", "*SF", tcp(fA), false},
		{"not", "!R", tcp(fA), true},
		{"not set", "!R", tcp(fR | fA), false},
		{"not partial", "!SA", tcp(fS), true},
		{"null scan", "0", tcp(0), true},
		{"null scan has flags", "0", tcp(fA), false},
		{"not null", "!0", tcp(fA), true},
		{"not null null", "!0", tcp(0), false},
		{"any of none", "*0", tcp(0), false},
		{"xmas", "FPU", tcp(fF | fP | fU), true},
		{"cwr", "C", tcp(fC), true},
		{"ipv6 tcp", "S", hdrTCP(hdrIPv6(), fS), true},
		{"udp", "0", hdrUDP(hdrIPv4()), false},
		{"tcp fragment", "0", hdrSet(hdrIPv4(), func(p *decode.Packet) { p.IPProto, p.Fragment = decode.ProtoTCP, true }), false},
	})
}
