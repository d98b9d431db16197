package keyword_test

import "testing"

func TestPcre(t *testing.T) {
	cases := []struct {
		opts string
		buf  string
		want bool
	}{
		{`pcre:"/ab+c/";`, "xabbbc", true},
		{`pcre:"/ABC/i";`, "abc", true},
		{`pcre:"/^abc/";`, "xabc", false},
		{`pcre:"/a.c/s";`, "a\nc", true},
		{`pcre:"/a.c/";`, "a\nc", false},
		{`pcre:"/^b/m";`, "a\nb", true},
		{`pcre:!"/evil/";`, "good", true},
		{`pcre:"/\xff\x00/";`, "a\xff\x00", true},
		{`pcre:"/foo(?=bar)/";`, "foobar", true},
		{`pcre:"/foo(?=bar)/";`, "foobaz", false},
		{`pcre:"/(a)\1/";`, "xaa", true},
		{`pcre:"/(a)\g{1}/";`, "xaa", true},
		{`content:"GET"; pcre:"/^ \/x/R";`, "GET /x", true},
		{`content:"GET"; pcre:"/^\/x/R";`, "GET /x", false},
		{`pcre:"/a b/x";`, "ab", true},
		{`pcre:"/abc/A";`, "abc", true},
		{`pcre:"/abc/A";`, "xabc", false},
	}
	for _, c := range cases {
		if got := payloadMatch(sig(t, c.opts), c.buf); got != c.want {
			t.Errorf("%s on %q: got %v want %v", c.opts, c.buf, got, c.want)
		}
	}
	s := sig(t, `pcre:"/x/U";`)
	if s.Ops[0].Buf.String() != "http.uri" {
		t.Errorf("U flag selects http.uri, got %s", s.Ops[0].Buf)
	}
	for _, bad := range []string{`pcre:"abc";`, `pcre:"/abc/q";`, `pcre:"/(/";`} {
		if sigErr(bad) == nil {
			t.Errorf("%s: expected error", bad)
		}
	}
}
