package pcapfilter

import (
	"errors"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/tapwatch/tapwatch/test/testutil"
)

var (
	macA = testutil.MustMAC("52:54:00:00:00:01")
	macB = testutil.MustMAC("52:54:00:00:00:02")
	ipA  = netip.MustParseAddr("10.0.0.1")
	ipB  = netip.MustParseAddr("10.0.0.2")
)

// arpRequest is "who has tpa? tell spa" from src, broadcast.
func arpRequest(src []byte, spa, tpa netip.Addr) []byte {
	b := append([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, src...)
	b = append(b, 0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1)
	b = append(b, src...)
	s, t := spa.As4(), tpa.As4()
	b = append(b, s[:]...)
	b = append(b, 0, 0, 0, 0, 0, 0)
	return append(b, t[:]...)
}

func TestMatch(t *testing.T) {
	frames := map[string][]byte{
		"http":   testutil.Frame{Dst: macB, Src: macA, SrcIP: ipA, DstIP: ipB, Proto: 6, SrcPort: 40000, DstPort: 80}.Bytes(),
		"reply":  testutil.Frame{Dst: macA, Src: macB, SrcIP: ipB, DstIP: ipA, Proto: 6, SrcPort: 80, DstPort: 40000}.Bytes(),
		"ssh":    testutil.Frame{Dst: macB, Src: macA, SrcIP: ipA, DstIP: ipB, Proto: 6, SrcPort: 40001, DstPort: 22}.Bytes(),
		"dns":    testutil.Frame{Dst: macB, Src: macA, SrcIP: ipA, DstIP: ipB, SrcPort: 5353, DstPort: 53}.Bytes(),
		"udp80":  testutil.Frame{Dst: macB, Src: macA, SrcIP: ipA, DstIP: ipB, SrcPort: 80, DstPort: 80}.Bytes(),
		"vlan":   testutil.Frame{Dst: macB, Src: macA, VLAN: 7, SrcIP: ipA, DstIP: ipB, Proto: 6, SrcPort: 1, DstPort: 80}.Bytes(),
		"v6http": testutil.Frame{Dst: macB, Src: macA, SrcIP: netip.MustParseAddr("fd00::1"), DstIP: netip.MustParseAddr("fd00::2"), Proto: 6, SrcPort: 40002, DstPort: 80}.Bytes(),
		"arp":    arpRequest(macA, ipA, ipB),
	}
	for _, c := range []struct {
		expr string
		want []string // the frames that match; every other must not
	}{
		{"", []string{"http", "reply", "ssh", "dns", "udp80", "vlan", "v6http", "arp"}},
		{"udp", []string{"dns", "udp80"}},
		{"tcp port 80", []string{"http", "reply", "v6http"}}, // the tagged frame needs "vlan and"
		{"tcp dst port 80 and host 10.0.0.2", []string{"http"}},
		{"vlan 7 and tcp port 80", []string{"vlan"}},
		{"arp and arp[24:4] = 0x0a000002", []string{"arp"}}, // target protocol address 10.0.0.2
		{"ip6", []string{"v6http"}},
		{"not ip and not ip6 and not vlan", []string{"arp"}},
	} {
		f, err := Compile(c.expr)
		if err != nil {
			t.Fatalf("Compile(%q): %v", c.expr, err)
		}
		if f.String() != c.expr {
			t.Errorf("String() = %q, want %q", f.String(), c.expr)
		}
		want := map[string]bool{}
		for _, n := range c.want {
			want[n] = true
		}
		for name, data := range frames {
			if got := f.Match(data, len(data)); got != want[name] {
				t.Errorf("%q on %s frame: match = %v, want %v", c.expr, name, got, want[name])
			}
		}
	}
}

// A recorded frame may be cut short; length tests use the wire length, as
// tcpdump does, not the bytes kept.
func TestMatchUsesWireLength(t *testing.T) {
	f, err := Compile("greater 1000")
	if err != nil {
		t.Fatal(err)
	}
	data := testutil.Frame{Dst: macB, Src: macA, SrcIP: ipA, DstIP: ipB, Proto: 6, SrcPort: 1, DstPort: 80}.Bytes()
	if f.Match(data, len(data)) {
		t.Errorf("a %d-byte frame matched greater 1000", len(data))
	}
	if !f.Match(data, 1500) {
		t.Error("a 1500-byte frame truncated in the recording did not match greater 1000")
	}
	// Bytes past the captured part are not there to match.
	g, err := Compile("ether[1400] = 0")
	if err != nil {
		t.Fatal(err)
	}
	if g.Match(data, 1500) {
		t.Error("a load beyond the captured bytes matched")
	}
	if g.Match(nil, 0) {
		t.Error("an empty frame matched ether[1400] = 0")
	}
}

func TestCompileErrors(t *testing.T) {
	for _, c := range []struct{ expr, reason, fix string }{
		{"tcp prot 80", "syntax error", "check the pcap-filter(7) syntax"},
		{"udp and", "syntax error", "check the pcap-filter(7) syntax"},
		{"tcp port 99999", "99999", "check the pcap-filter(7) syntax"},
		{"host no-such-host.invalid", "unknown host", "use an address, or a name this host resolves"},
	} {
		_, err := Compile(c.expr)
		var fe *Error
		if !errors.As(err, &fe) {
			t.Fatalf("Compile(%q) = %v, want an *Error", c.expr, err)
		}
		msg := err.Error()
		if fe.Expr != c.expr || !strings.HasPrefix(msg, "filter \""+c.expr+"\": ") ||
			!strings.Contains(msg, c.reason) || !strings.HasSuffix(msg, c.fix) {
			t.Errorf("Compile(%q) error %q: want the expression, %q and %q", c.expr, msg, c.reason, c.fix)
		}
	}
}

// Export matches from one goroutine per request; several exports may share
// nothing but libpcap, whose matcher must not keep state between calls.
func TestConcurrentMatch(t *testing.T) {
	f, err := Compile("udp")
	if err != nil {
		t.Fatal(err)
	}
	udp := testutil.Frame{Dst: macB, Src: macA, SrcIP: ipA, DstIP: ipB, SrcPort: 1, DstPort: 2}.Bytes()
	tcp := testutil.Frame{Dst: macB, Src: macA, SrcIP: ipA, DstIP: ipB, Proto: 6, SrcPort: 1, DstPort: 2}.Bytes()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 2000 {
				if !f.Match(udp, len(udp)) || f.Match(tcp, len(tcp)) {
					t.Error("concurrent Match gave a wrong answer")
					return
				}
			}
		})
	}
	wg.Wait()
}
