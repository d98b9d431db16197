package keyword_test

import (
	"testing"

	"github.com/tapwatch/tapwatch/rules"
	"github.com/tapwatch/tapwatch/rules/keyword"
)

// sig parses opts as the options of a tcp rule.
func sig(t *testing.T, opts string) *keyword.Sig {
	t.Helper()
	r, err := rules.ParseRule(`alert tcp any any -> any any (`+opts+` sid:1;)`, rules.DefaultVars())
	if err != nil {
		t.Fatalf("%s: %v", opts, err)
	}
	return r.Sig
}

func sigErr(opts string) error {
	_, err := rules.ParseRule(`alert tcp any any -> any any (`+opts+` sid:1;)`, rules.DefaultVars())
	return err
}

// payloadMatch runs the signature's payload ops on buf.
func payloadMatch(s *keyword.Sig, buf string) bool {
	var sc keyword.Scratch
	return keyword.Inspect(s.Ops, []byte(buf), &sc)
}

func TestContentParse(t *testing.T) {
	for in, want := range map[string]string{
		`"abc"`:          "abc",
		`"a|00 41|b"`:    "a\x00Ab",
		`"|0d0a|"`:       "\r\n",
		`"x\"y\;z\\"`:    `x"y;z\`,
		`"http\:|2f2f|"`: "http://",
	} {
		s := sig(t, "content:"+in+";")
		if got := string(s.Ops[0].Pat); got != want {
			t.Errorf("%s: got %q want %q", in, got, want)
		}
	}
	for _, bad := range []string{`content:"|4|";`, `content:"|zz|";`, `content:abc;`, `content:"";`, `content:"a\qb";`} {
		if sigErr(bad) == nil {
			t.Errorf("%s: expected error", bad)
		}
	}
	if s := sig(t, `content:!"abc";`); !s.Ops[0].Negated {
		t.Error("negation")
	}
}

func TestContentMatch(t *testing.T) {
	cases := []struct {
		opts string
		buf  string
		want bool
	}{
		{`content:"abc";`, "xxabcxx", true},
		{`content:"ABC"; nocase;`, "xxabcxx", true},
		{`content:"ABC";`, "xxabcxx", false},
		{`content:"abc"; offset:2;`, "xxabc", true},
		{`content:"abc"; offset:3;`, "xxabc", false},
		{`content:"abc"; depth:4;`, "xabc", true},
		{`content:"abc"; depth:3;`, "xabc", false},
		{`content:"abc"; offset:1; depth:3;`, "xabc", true},
		{`content:"a"; content:"b"; distance:1;`, "ab", false},
		{`content:"a"; content:"b"; distance:1;`, "axb", true},
		{`content:"a"; content:"b"; within:2;`, "axb", true},
		{`content:"a"; content:"b"; within:2;`, "axxb", false},
		{`content:"a"; content:"c"; distance:1; within:2;`, "axc", true},
		{`content:"a"; content:"c"; distance:1; within:1;`, "axyc", false},
		{`content:!"evil";`, "good", true},
		{`content:!"evil";`, "so evil", false},
		{`content:"a"; content:!"b"; within:2;`, "acb", false},
		{`content:"a"; content:!"b"; within:1;`, "acb", true},
		{`content:"abc"; startswith;`, "abcd", true},
		{`content:"abc"; startswith;`, "xabc", false},
		{`content:"bcd"; endswith;`, "abcd", true},
		{`content:"bcd"; endswith;`, "bcdx", false},
		// Backtracking: the first "a" is followed by no "b" within 1, the
		// second one is.
		{`content:"a"; content:"b"; within:1;`, "a-ab", true},
		{`content:"AllWorkAndNoPlayMakesWill"; content:"DullBoy"; distance:1; within:7;`, "AllWorkAndNoPlayMakesWill DullBoy", true},
		{`content:"GET"; content:"/x"; distance:0; content:"HTTP"; distance:0;`, "GET /y GET /x HTTP", true},
	}
	for _, c := range cases {
		if got := payloadMatch(sig(t, c.opts), c.buf); got != c.want {
			t.Errorf("%s on %q: got %v want %v", c.opts, c.buf, got, c.want)
		}
	}
}

func TestFastPattern(t *testing.T) {
	s := sig(t, `content:"aa"; content:"longest"; content:!"negatedlongerstill";`)
	if p, _, _, ok := s.FastPatternBytes(); !ok || string(p) != "longest" {
		t.Errorf("longest content: %q", p)
	}
	s = sig(t, `content:"short"; fast_pattern; content:"longest";`)
	if p, _, _, _ := s.FastPatternBytes(); string(p) != "short" {
		t.Errorf("explicit: %q", p)
	}
	s = sig(t, `content:"abcdef"; fast_pattern:2,3;`)
	if p, _, _, _ := s.FastPatternBytes(); string(p) != "cde" {
		t.Errorf("offset,len: %q", p)
	}
	s = sig(t, `content:"abc"; fast_pattern:only;`)
	if !s.Ops[0].FPOnly {
		t.Error("only")
	}
	if sigErr(`content:"abc"; fast_pattern:2,5;`) == nil {
		t.Error("fast_pattern beyond content must fail")
	}
	// Rarer distinct bytes beat length: a NUL run is everywhere.
	s = sig(t, `content:"|00 00 00 00 00 00|"; content:"|07|ab";`)
	if p, _, _, _ := s.FastPatternBytes(); string(p) != "\x07ab" {
		t.Errorf("NUL run chosen over a rarer content: %q", p)
	}
	s = sig(t, `content:"AAAAAAAAAAAA"; content:"/x.php";`)
	if p, _, _, _ := s.FastPatternBytes(); string(p) != "/x.php" {
		t.Errorf("repeated letter chosen over a path: %q", p)
	}
	s = sig(t, `content:"abcd"; content:"wxyz"; content:"|00 00 00 00 00 00|"; fast_pattern;`)
	if p, _, _, _ := s.FastPatternBytes(); string(p) != "\x00\x00\x00\x00\x00\x00" {
		t.Errorf("explicit fast_pattern not kept: %q", p)
	}
	// A transformed buffer is never prefiltered: another content is.
	s = sig(t, `http.uri; to_lowercase; content:"/some/long/path.php"; http.host; content:"ex.com";`)
	if p, _, b, ok := s.FastPatternBytes(); !ok || string(p) != "ex.com" || b.String() != "http.host" {
		t.Errorf("transformed buffer: fast pattern %q in %v (ok %v), want \"ex.com\" in http.host", p, b, ok)
	}
	s = sig(t, `content:"ab"; content:"aaaa";`)
	if p, _, _, _ := s.FastPatternBytes(); string(p) != "aaaa" {
		t.Errorf("equal strength: want the longer, got %q", p)
	}
}

func TestNocaseIndex(t *testing.T) {
	for _, c := range []struct {
		hay, pat string
		want     bool
	}{
		{"xxHeLLo", "hello", true}, {"HELL", "hello", false}, {"a1b2", "1B2", true},
		{"hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhHeLlO!", "HELLO!", true}, {"", "a", false},
	} {
		s := sig(t, `content:"`+c.pat+`"; nocase;`)
		if got := payloadMatch(s, c.hay); got != c.want {
			t.Errorf("%q in %q: got %v", c.pat, c.hay, got)
		}
	}
}
