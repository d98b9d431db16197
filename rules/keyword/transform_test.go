package keyword_test

import (
	"testing"

	"github.com/tapwatch/tapwatch/rules/keyword"
)

func TestTransforms(t *testing.T) {
	var a, b []byte
	for _, c := range []struct {
		ts       []keyword.Transform
		in, want string
	}{
		{[]keyword.Transform{keyword.TrDotPrefix}, "evil.com", ".evil.com"},
		{[]keyword.Transform{keyword.TrToLower, keyword.TrDotPrefix}, "EviL.com", ".evil.com"},
		{[]keyword.Transform{keyword.TrStripWhitespace}, " a b\tc\n", "abc"},
		{[]keyword.Transform{keyword.TrCompressWhitespace, keyword.TrToUpper}, "a  b \t c", "A B C"},
	} {
		if got := string(keyword.ApplyTransforms(c.ts, []byte(c.in), &a, &b)); got != c.want {
			t.Errorf("%v(%q) = %q, want %q", c.ts, c.in, got, c.want)
		}
	}
	s := sig(t, `dns.query; dotprefix; content:".evil.com"; endswith;`)
	if p, _, _, ok := s.FastPatternBytes(); !ok || string(p) != "evil.com" {
		t.Errorf("dotprefix fast pattern %q", p)
	}
	s = sig(t, `http.uri; to_lowercase; content:"/admin";`)
	if _, _, _, ok := s.FastPatternBytes(); ok {
		t.Error("a to_lowercase buffer cannot be prefiltered raw")
	}
	// Suricata applies a transform given after content to the whole buffer.
	if err := sigErr(`dns.query; content:"x"; dotprefix;`); err != nil {
		t.Errorf("transform after content: %v", err)
	}
	for _, bad := range []string{`dotprefix; content:"x";`} {
		if sigErr(bad) == nil {
			t.Errorf("%s: expected error", bad)
		}
	}
}
