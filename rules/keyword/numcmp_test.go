package keyword

import (
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/tapwatch/tapwatch/rules/decode"
)

func TestParseNumCmp(t *testing.T) {
	tests := []struct {
		in   string
		max  uint64
		want NumCmp
	}{
		{"10", 255, NumCmp{CmpEq, 10, 0}},
		{" 12 ", 255, NumCmp{CmpEq, 12, 0}},
		{"=0x13", 255, NumCmp{CmpEq, 0x13, 0}},
		{"0xFF", 255, NumCmp{CmpEq, 255, 0}},
		{"!0x14", 255, NumCmp{CmpNe, 0x14, 0}},
		{"! 1", 255, NumCmp{CmpNe, 1, 0}},
		{"!=20", 255, NumCmp{CmpNe, 20, 0}},
		{">21", 255, NumCmp{CmpGt, 21, 0}},
		{"> 2 ", 255, NumCmp{CmpGt, 2, 0}},
		{">=21", 255, NumCmp{CmpGe, 21, 0}},
		{"<22", 255, NumCmp{CmpLt, 22, 0}},
		{"<   12 ", 255, NumCmp{CmpLt, 12, 0}},
		{"<=22", 255, NumCmp{CmpLe, 22, 0}},
		{"19-22", 255, NumCmp{CmpRange, 19, 22}},
		{"1<>3", 255, NumCmp{CmpRange, 1, 3}},
		{" 1 <> 3 ", 255, NumCmp{CmpRange, 1, 3}},
		{"!19-22", 255, NumCmp{CmpNotRange, 19, 22}},
		{"&0xc0=0x80", 255, NumCmp{CmpMask, 0xc0, 0x80}},
		{"&0xc0!=0", 255, NumCmp{CmpNotMask, 0xc0, 0}},
		{"2kb", 1 << 32, NumCmp{CmpEq, 2048, 0}},
		{"> 3MB", 1<<32 - 1, NumCmp{CmpGt, 3 << 20, 0}},
		{"1GiB", 1 << 40, NumCmp{CmpEq, 1 << 30, 0}},
		{"4294967295", 1<<32 - 1, NumCmp{CmpEq, 1<<32 - 1, 0}},
		{"18446744073709551615", ^uint64(0), NumCmp{CmpEq, ^uint64(0), 0}},
	}
	for _, tt := range tests {
		got, err := ParseNumCmp(tt.in, tt.max)
		if err != nil {
			t.Errorf("ParseNumCmp(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseNumCmp(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestParseNumCmpInvalid(t *testing.T) {
	tests := []struct {
		in      string
		max     uint64
		errPart string // the error must point at what is wrong
	}{
		{"", 255, "empty"},
		{" ", 255, "empty"},
		{"A", 255, `"A"`},
		{"256", 255, "256"},
		{"<444", 255, "444"},
		{"0x100", 255, "0x100"},
		{"2kb", 255, "2kb"},
		{"<0", 255, "<0"},
		{">=0", 255, ">=0"},
		{">255", 255, ">255"},
		{"<=255", 255, "<=255"},
		{"2<>1", 255, "2-1"},
		{"1-2", 255, "1-2"},
		{"5-5", 255, "5-5"},
		{"1<>", 255, `""`},
		{"<>10", 255, `">10"`},
		{">10<>10", 255, `"<>10"`},
		{"1!", 255, `"!"`},
		{"1 2", 255, `"2"`},
		{"-5", 255, `"-5"`},
		{"&0xc0=12", 255, "0xc"},
		{"&0xc0", 255, "=V"},
		{"=>5", 255, `">5"`},
		{"0x", 255, `"x"`},
		{"18446744073709551616", ^uint64(0), "18446744073709551616"},
	}
	for _, tt := range tests {
		got, err := ParseNumCmp(tt.in, tt.max)
		if err == nil {
			t.Errorf("ParseNumCmp(%q) = %+v, want error", tt.in, got)
			continue
		}
		if !strings.Contains(err.Error(), tt.errPart) {
			t.Errorf("ParseNumCmp(%q) error %q does not mention %q", tt.in, err, tt.errPart)
		}
	}
}

func TestNumCmpMatch(t *testing.T) {
	tests := []struct {
		rule string
		hit  []uint64
		miss []uint64
	}{
		{"5", []uint64{5}, []uint64{4, 6, 0}},
		{"!5", []uint64{0, 4, 6, 255}, []uint64{5}},
		{"<5", []uint64{0, 4}, []uint64{5, 6}},
		{"<=5", []uint64{0, 5}, []uint64{6}},
		{">5", []uint64{6, 255}, []uint64{5, 0}},
		{">=5", []uint64{5, 6}, []uint64{4}},
		{"1-4", []uint64{2, 3}, []uint64{0, 1, 4, 5}},
		{"1<>4", []uint64{2, 3}, []uint64{1, 4}},
		{"!1-4", []uint64{0, 1, 4, 200}, []uint64{2, 3}},
		{"&0xc0=0x80", []uint64{0x80, 0xbf}, []uint64{0x40, 0xc0, 0}},
		{"&0x40!=0", []uint64{0x40, 0xff}, []uint64{0xbf, 0}},
	}
	for _, tt := range tests {
		c, err := ParseNumCmp(tt.rule, 255)
		if err != nil {
			t.Fatalf("ParseNumCmp(%q): %v", tt.rule, err)
		}
		for _, v := range tt.hit {
			if !c.Match(v) {
				t.Errorf("%q should match %d", tt.rule, v)
			}
		}
		for _, v := range tt.miss {
			if c.Match(v) {
				t.Errorf("%q should not match %d", tt.rule, v)
			}
		}
	}
}

func TestNumCmpStringRoundTrip(t *testing.T) {
	for _, in := range []string{"7", "!7", "<7", "<=7", ">7", ">=7", "1-7", "!1-7", "&0xf0=0x10", "&0xf0!=0"} {
		c, err := ParseNumCmp(in, 255)
		if err != nil {
			t.Fatalf("ParseNumCmp(%q): %v", in, err)
		}
		back, err := ParseNumCmp(c.String(), 255)
		if err != nil || back != c {
			t.Errorf("%q -> %q -> %+v, %v; want %+v", in, c.String(), back, err, c)
		}
	}
}

func TestNumCmpMatchAllocs(t *testing.T) {
	c, _ := ParseNumCmp("!1-4", 255)
	var sink bool
	if n := testing.AllocsPerRun(100, func() { sink = c.Match(3) }); n != 0 {
		t.Errorf("Match allocates %v times", n)
	}
	_ = sink
}

func FuzzParseNumCmp(f *testing.F) {
	for _, s := range []string{"5", "!5", "<5", "<=5", ">5", ">=5", "1-4", "1<>4", "!1-4",
		"&0xc0=0x80", "&0xc0!=0", "0x10", "2kb", " 3 ", "=7", "!=7", "", "-", "<>", "1-", "0x"} {
		f.Add(s, uint64(255))
		f.Add(s, uint64(1<<32-1))
	}
	f.Fuzz(func(t *testing.T, s string, max uint64) {
		c, err := ParseNumCmp(s, max)
		if err != nil {
			if err.Error() == "" {
				t.Fatalf("ParseNumCmp(%q) returned an empty error", s)
			}
			return
		}
		if c.A > max || c.B > max {
			t.Fatalf("ParseNumCmp(%q, %d) = %+v: operand above max", s, max, c)
		}
		// What the parser accepts must survive its own rendering: rule
		// dumps and reloads depend on it.
		back, err := ParseNumCmp(c.String(), max)
		if err != nil || back != c {
			t.Fatalf("ParseNumCmp(%q) = %+v renders %q which parses to %+v, %v", s, c, c.String(), back, err)
		}
		// Tests the parser refuses as vacuous must indeed not be vacuous:
		// some value in [0, max] matches and some does not.
		probe := []uint64{0, 1, max, max - 1, c.A, c.A + 1, c.A - 1, c.B, c.B - 1, c.B + 1, c.A + 2}
		var hit, miss bool
		for _, v := range probe {
			if v > max {
				continue
			}
			if c.Match(v) {
				hit = true
			} else {
				miss = true
			}
		}
		if c.Mode != CmpMask && c.Mode != CmpNotMask && (!hit || !miss) && max > 0 {
			t.Fatalf("ParseNumCmp(%q, %d) = %+v is vacuous (hit=%v miss=%v)", s, max, c, hit, miss)
		}
	})
}

// hdrApply runs a keyword's Apply through the registry, as the rule parser
// will, on a fresh Sig and returns the one matcher it recorded.
func hdrApply(t *testing.T, name, arg string) PacketMatcher {
	t.Helper()
	k, ok := Lookup(name)
	if !ok {
		t.Fatalf("keyword %q is not registered", name)
	}
	s := &Sig{}
	if err := k.Apply(s, arg); err != nil {
		t.Fatalf("%s:%s: %v", name, arg, err)
	}
	if len(s.Packet) != 1 {
		t.Fatalf("%s:%s recorded %d packet matchers, want 1", name, arg, len(s.Packet))
	}
	return s.Packet[0]
}

// hdrApplyErr checks that Apply refuses arg, records nothing, and says
// which keyword and which value were wrong.
func hdrApplyErr(t *testing.T, name, arg string) {
	t.Helper()
	k, ok := Lookup(name)
	if !ok {
		t.Fatalf("keyword %q is not registered", name)
	}
	s := &Sig{}
	err := k.Apply(s, arg)
	if err == nil {
		t.Errorf("%s:%s was accepted, want an error", name, arg)
		return
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, name+":") {
		t.Errorf("%s:%s error %q does not name the keyword", name, arg, msg)
	}
	if !strings.Contains(msg, strconv.Quote(arg)) {
		t.Errorf("%s:%s error %q does not quote the value", name, arg, msg)
	}
	if len(s.Packet) != 0 {
		t.Errorf("%s:%s failed but recorded a matcher", name, arg)
	}
}

// hdrMatchCase is one row of a keyword's match table.
type hdrMatchCase struct {
	name string
	arg  string
	p    *decode.Packet
	want bool
}

// hdrRunMatch runs a match table and checks that Match never allocates.
func hdrRunMatch(t *testing.T, kw string, cases []hdrMatchCase) {
	t.Helper()
	for _, c := range cases {
		m := hdrApply(t, kw, c.arg)
		if got := m.Match(c.p); got != c.want {
			t.Errorf("%s: %s:%s Match = %v, want %v", c.name, kw, c.arg, got, c.want)
		}
		if n := testing.AllocsPerRun(50, func() { m.Match(c.p) }); n != 0 {
			t.Errorf("%s: %s:%s Match allocates %v times", c.name, kw, c.arg, n)
		}
	}
}

// Packet builders for the match tables. Each returns a fresh packet so a
// row can change fields without touching the others.

func hdrIPv4() *decode.Packet {
	return &decode.Packet{
		IPVersion: 4,
		SrcIP:     netip.MustParseAddr("192.0.2.1"),
		DstIP:     netip.MustParseAddr("192.0.2.2"),
		IPProto:   253,
		TTL:       64,
		IPHeader:  make([]byte, 20),
	}
}

func hdrIPv6() *decode.Packet {
	return &decode.Packet{
		IPVersion: 6,
		SrcIP:     netip.MustParseAddr("2001:db8::1"),
		DstIP:     netip.MustParseAddr("2001:db8::2"),
		IPProto:   253,
		TTL:       64,
		IPHeader:  make([]byte, 40),
	}
}

func hdrTCP(p *decode.Packet, flags uint8) *decode.Packet {
	p.IPProto = decode.ProtoTCP
	p.L4Header = make([]byte, 20)
	p.TCPFlags = flags
	return p
}

func hdrUDP(p *decode.Packet) *decode.Packet {
	p.IPProto = decode.ProtoUDP
	p.L4Header = make([]byte, 8)
	return p
}

func hdrICMP(p *decode.Packet, typ, code uint8) *decode.Packet {
	p.IPProto = decode.ProtoICMP
	if p.IPVersion == 6 {
		p.IPProto = decode.ProtoICMPv6
	}
	p.L4Header = make([]byte, 8)
	p.ICMPType, p.ICMPCode = typ, code
	return p
}

// hdrSet applies f to p and returns p, so table rows stay one line.
func hdrSet(p *decode.Packet, f func(*decode.Packet)) *decode.Packet {
	f(p)
	return p
}
