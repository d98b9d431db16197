package rules

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func mustRule(t *testing.T, s string) *Rule {
	t.Helper()
	r, err := ParseRule(s, DefaultVars())
	if err != nil {
		t.Fatalf("ParseRule(%q): %v", s, err)
	}
	return r
}

func TestParseHeader(t *testing.T) {
	r := mustRule(t, `alert tcp $HOME_NET any -> $EXTERNAL_NET [80,8080:8090,!8085] (msg:"x"; sid:1;)`)
	if r.Action != "alert" || r.Proto != "tcp" || r.Bidir {
		t.Fatalf("header: %+v", r)
	}
	ip := netip.MustParseAddr
	if !r.Src.Match(ip("10.1.2.3")) || r.Src.Match(ip("8.8.8.8")) {
		t.Error("$HOME_NET")
	}
	if r.Dst.Match(ip("10.1.2.3")) || !r.Dst.Match(ip("8.8.8.8")) {
		t.Error("$EXTERNAL_NET = !$HOME_NET")
	}
	for p, want := range map[uint16]bool{80: true, 8080: true, 8085: false, 8090: true, 81: false} {
		if r.DstPorts.Match(p) != want {
			t.Errorf("port %d: want %v", p, want)
		}
	}
	if r.Sig.SID != 1 || r.Sig.Msg != "x" {
		t.Errorf("sig %+v", r.Sig)
	}
}

func TestParseAddrForms(t *testing.T) {
	ip := netip.MustParseAddr
	cases := []struct {
		expr string
		in   []string
		out  []string
	}{
		{"any", []string{"1.2.3.4", "::1"}, nil},
		{"1.2.3.0/24", []string{"1.2.3.9"}, []string{"1.2.4.1"}},
		{"[1.0.0.0/8,!1.1.1.1]", []string{"1.2.2.2"}, []string{"1.1.1.1", "2.2.2.2"}},
		{"![1.1.1.1,2.2.2.2]", []string{"3.3.3.3"}, []string{"1.1.1.1", "2.2.2.2"}},
		{"[!1.1.1.1]", []string{"3.3.3.3"}, []string{"1.1.1.1"}},
		{"2001:db8::/32", []string{"2001:db8::1"}, []string{"2001:db9::1"}},
		{"[10.0.0.0/8,[192.168.1.0/24,!192.168.1.5]]", []string{"192.168.1.4", "10.0.0.1"}, []string{"192.168.1.5"}},
		{"2001:db8::1-2001:db8::ff", []string{"2001:db8::1", "2001:db8::80"}, []string{"2001:db8::100", "1.2.3.4"}},
		{"10.0.0.0/255.0.0.0", []string{"10.9.9.9"}, []string{"11.0.0.1"}},
	}
	for _, c := range cases {
		e, err := ParseAddr(c.expr, DefaultVars())
		if err != nil {
			t.Errorf("%s: %v", c.expr, err)
			continue
		}
		for _, a := range c.in {
			if !e.Match(ip(a)) {
				t.Errorf("%s should contain %s", c.expr, a)
			}
		}
		for _, a := range c.out {
			if e.Match(ip(a)) {
				t.Errorf("%s should not contain %s", c.expr, a)
			}
		}
	}
	for _, bad := range []string{"$NOPE", "[1.1.1.1", "1.2.3.4/40", "foo", "[1.1.1.1,]"} {
		if _, err := ParseAddr(bad, DefaultVars()); err == nil {
			t.Errorf("%s: expected error", bad)
		}
	}
	loop := Vars{Address: map[string]string{"A": "$B", "B": "$A"}}
	if _, err := ParseAddr("$A", loop); err == nil {
		t.Error("self-referencing variables must fail")
	}
}

func TestParsePortForms(t *testing.T) {
	cases := []struct {
		expr string
		in   []uint16
		out  []uint16
	}{
		{"any", []uint16{0, 65535}, nil},
		{"80", []uint16{80}, []uint16{81}},
		{"1024:", []uint16{1024, 65535}, []uint16{1023}},
		{":1023", []uint16{0, 1023}, []uint16{1024}},
		{"!80", []uint16{81}, []uint16{80}},
		{"[$HTTP_PORTS,443]", []uint16{80, 443}, []uint16{8080}},
		{"$SHELLCODE_PORTS", []uint16{81}, []uint16{80}},
		{"[1:100,![50:60]]", []uint16{1, 49, 61}, []uint16{55}},
	}
	for _, c := range cases {
		e, err := ParsePort(c.expr, DefaultVars())
		if err != nil {
			t.Errorf("%s: %v", c.expr, err)
			continue
		}
		for _, p := range c.in {
			if !e.Match(p) {
				t.Errorf("%s should contain %d", c.expr, p)
			}
		}
		for _, p := range c.out {
			if e.Match(p) {
				t.Errorf("%s should not contain %d", c.expr, p)
			}
		}
	}
	for _, bad := range []string{"70000", "90:80", "x", "$NOPE"} {
		if _, err := ParsePort(bad, DefaultVars()); err == nil {
			t.Errorf("%s: expected error", bad)
		}
	}
}

func TestParseReaderMultiLineCommentsAndErrors(t *testing.T) {
	src := `# a comment
#alert tcp any any -> any any (msg:"disabled"; sid:9;)

alert tcp any any -> any any (msg:"a"; \
   content:"abc"; sid:1;)
alert udp any any <> any 53 (msg:"b"; foo:bar; sid:2;)
alert tcp any any -> any any (msg:"c"; content:"x\;y\"z\\"; sid:3;)
drop ip 1.2.3.4 any -> any any (msg:"d"; sid:4;)
alert tcp any any -> any any (msg:"e"; \
  content:"a"; \
  zzz; sid:5;)
`
	rs, errs := ParseReader("t.rules", strings.NewReader(src), DefaultVars())
	if len(rs) != 3 {
		t.Fatalf("want 3 rules, got %d (errs %v)", len(rs), errs)
	}
	if rs[0].Line != 4 || rs[0].Sig.SID != 1 {
		t.Errorf("rule 1 at line %d", rs[0].Line)
	}
	if got := string(rs[1].Sig.Ops[0].Pat); got != `x;y"z\` {
		t.Errorf("escapes: %q", got)
	}
	if len(errs) != 2 {
		t.Fatalf("want 2 errors, got %v", errs)
	}
	want := []string{`t.rules:6:39: unsupported keyword "foo"`, `t.rules:11:3: unsupported keyword "zzz"`}
	for i, e := range errs {
		if e.Error() != want[i] {
			t.Errorf("error %d: got %q want %q", i, e.Error(), want[i])
		}
		var pe *ParseError
		if !errors.As(e, &pe) || !strings.HasPrefix(pe.Reason, "unsupported keyword") {
			t.Errorf("error %d reason: %v", i, e)
		}
	}
}

func TestParseSnort3(t *testing.T) {
	r := mustRule(t, `alert http (msg:"s3"; http_uri; content:"/a",nocase; content:"b",distance 0,within 10; service:http; rem:"x"; reference:url,x; metadata:policy balanced-ips drop; sid:7;)`)
	if !r.Headerless || r.Sig.AppProto != "http" {
		t.Fatalf("headerless %v app %q", r.Headerless, r.Sig.AppProto)
	}
	ops := r.Sig.Ops
	if len(ops) != 2 || ops[0].Buf.String() != "http.uri" || !ops[0].Nocase || !ops[1].Relative || ops[1].Within.V != 10 {
		t.Fatalf("ops %+v", ops)
	}
	if got := r.Sig.Metadata["policy"]; len(got) != 1 || got[0] != "balanced-ips drop" {
		t.Errorf("metadata %v", r.Sig.Metadata)
	}
	r = mustRule(t, `block tcp any any -> any any (msg:"b"; sid:8;)`)
	if r.Action != "drop" {
		t.Errorf("block maps to drop, got %s", r.Action)
	}
}

func TestParseLegacyModifier(t *testing.T) {
	r := mustRule(t, `alert tcp any any -> any 80 (content:"GET"; http_method; content:"/x"; http_uri; content:"plain"; sid:1;)`)
	if r.Sig.Ops[0].Buf.String() != "http.method" || r.Sig.Ops[1].Buf.String() != "http.uri" || r.Sig.Ops[2].Buf.String() != "pkt_data" {
		t.Errorf("buffers: %v %v %v", r.Sig.Ops[0].Buf, r.Sig.Ops[1].Buf, r.Sig.Ops[2].Buf)
	}
}

func TestParseErrors(t *testing.T) {
	for _, c := range []struct{ rule, want string }{
		{`alert tcp any any -> any any (msg:"x";)`, "no sid"},
		{`alrt tcp any any -> any any (sid:1;)`, "unknown action"},
		{`alert tcp any any => any any (sid:1;)`, "direction"},
		{`alert tcp any any -> any any (content:"x"`, "options"},
		{`alert tcp any any -> any any (content:"|4g|"; sid:1;)`, "hex"},
		{`alert tcp any any -> any any (nocase; sid:1;)`, "preceding content"},
		{`alert tcp any any -> any any (msg:"x"; sid:1)`, "not terminated"},
		{`alert foo any any -> any any (sid:1;)`, "unknown protocol"},
	} {
		_, err := ParseRule(c.rule, DefaultVars())
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.rule, err, c.want)
		}
	}
}

func TestClassification(t *testing.T) {
	c, err := ParseClassification(strings.NewReader("# x\nconfig classification: trojan-activity,A Network Trojan was detected,1\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := c["trojan-activity"]; got.Priority != 1 || got.Desc != "A Network Trojan was detected" {
		t.Errorf("%+v", got)
	}
}

func FuzzParseRule(f *testing.F) {
	for _, s := range []string{
		`alert tcp any any -> any any (msg:"x"; content:"a|00 01|b"; nocase; offset:1; depth:4; sid:1;)`,
		`alert http (msg:"y"; http_uri; content:"/a",nocase; pcre:"/a(?=b)/Ri"; sid:2;)`,
		`drop udp [1.1.1.1,!2.2.2.2] [1:3,!2] <> $HOME_NET any (byte_test:2,>,1,0,relative; byte_jump:2,0; sid:3;)`,
		`alert ip any any -> any any (flowbits:isset,a|b; threshold:type limit,track by_src,count 1,seconds 60; sid:4;)`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRule(s, DefaultVars())
		if err == nil && r.Sig == nil {
			t.Fatal("rule without signature")
		}
	})
}
