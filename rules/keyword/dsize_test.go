package keyword

import (
	"strings"
	"testing"

	"github.com/tapwatch/tapwatch/rules/decode"
)

func TestParseDsize(t *testing.T) {
	valid := map[string]NumCmp{
		"1":        {CmpEq, 1, 0},
		">10":      {CmpGt, 10, 0},
		"<100":     {CmpLt, 100, 0},
		"1<>3":     {CmpRange, 1, 3},
		" 1 <> 3 ": {CmpRange, 1, 3},
		"> 2 ":     {CmpGt, 2, 0},
		"!1":       {CmpNe, 1, 0},
		"! 1":      {CmpNe, 1, 0},
		"65535":    {CmpEq, 65535, 0},
	}
	for in, want := range valid {
		m, err := parseDsize(in)
		if err != nil || m.cmp != want {
			t.Errorf("parseDsize(%q) = %+v, %v; want %+v", in, m.cmp, err, want)
		}
	}
	for _, in := range []string{"A", ">10<>10", "<>10", "1<>", "", " ", "2<>1", "1!", "65536"} {
		hdrApplyErr(t, "dsize", in)
	}
}

func TestDsizeTwiceRefused(t *testing.T) {
	k, _ := Lookup("dsize")
	s := &Sig{}
	if err := k.Apply(s, ">10"); err != nil {
		t.Fatal(err)
	}
	err := k.Apply(s, "<100")
	if err == nil || !strings.Contains(err.Error(), "dsize") || !strings.Contains(err.Error(), `"<100"`) {
		t.Errorf("second dsize: err = %v, want an error naming dsize and \"<100\"", err)
	}
	if len(s.Packet) != 1 {
		t.Errorf("second dsize recorded a matcher: %d", len(s.Packet))
	}
}

func TestDsizeMatch(t *testing.T) {
	payload := func(n int) func(*decode.Packet) { return func(p *decode.Packet) { p.Payload = make([]byte, n) } }
	hdrRunMatch(t, "dsize", []hdrMatchCase{
		{"tcp payload", "4", hdrSet(hdrTCP(hdrIPv4(), decode.TCPPsh), payload(4)), true},
		{"tcp other size", "4", hdrSet(hdrTCP(hdrIPv4(), decode.TCPPsh), payload(5)), false},
		{"udp empty", "0", hdrUDP(hdrIPv6()), true},
		{"icmp", ">8", hdrSet(hdrICMP(hdrIPv6(), 1, 0), payload(40)), true},
		{"range", "1<>3", hdrSet(hdrUDP(hdrIPv4()), payload(2)), true},
		{"range bound", "1<>3", hdrSet(hdrUDP(hdrIPv4()), payload(3)), false},
		// Beyond uint16: a GSO frame or a reassembled datagram.
		{"large", ">65000", hdrSet(hdrUDP(hdrIPv4()), payload(70000)), true},
		// Without a decoded L4 header Suricata's payload length is 0, even
		// though decode keeps the bytes after the IP header.
		{"fragment", "0", hdrSet(hdrIPv4(), func(p *decode.Packet) { p.Fragment, p.Payload = true, make([]byte, 1480) }), true},
		{"fragment size", "1480", hdrSet(hdrIPv4(), func(p *decode.Packet) { p.Fragment, p.Payload = true, make([]byte, 1480) }), false},
		{"unknown protocol", ">0", hdrSet(hdrIPv4(), payload(100)), false},
	})
}
