package keyword_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/tapwatch/tapwatch/rules/keyword"
)

// "SGVsbG8gV29ybGQ=" is base64 for "Hello World".
const helloB64 = "SGVsbG8gV29ybGQ="

func TestBase64DataMatch(t *testing.T) {
	cases := []struct {
		name, opts, buf string
		want            bool
	}{
		{"relative", `content:"a="; base64_decode:relative; base64_data; content:"Hello";`, "xa=" + helloB64, true},
		{"relative other word", `content:"a="; base64_decode:relative; base64_data; content:"World";`, "xa=" + helloB64, true},
		{"relative absent", `content:"a="; base64_decode:relative; base64_data; content:"Bye";`, "xa=" + helloB64, false},
		// Not relative: decoding starts at the buffer's start.
		{"absolute", `content:"=x"; base64_decode; base64_data; content:"Hello";`, helloB64 + "x", true},
		{"absolute misses", `content:"a="; base64_decode; base64_data; content:"Hello";`, "a=" + helloB64, false},
		{"offset", `content:"k"; base64_decode:offset 1,relative; base64_data; content:"Hello";`, "k:" + helloB64, true},
		// ':' is outside the alphabet: nothing decoded, no match.
		{"no offset", `content:"k"; base64_decode:relative; base64_data; content:"Hello";`, "k:" + helloB64, false},
		{"offset past end", `content:"k"; base64_decode:offset 3,relative; base64_data; content:"H";`, "k:SG", false},
		// bytes bounds the encoded bytes read.
		{"bytes", `content:"="; base64_decode:bytes 8,relative; base64_data; content:"Hello ";`, "=" + helloB64, true},
		{"bytes short", `content:"="; base64_decode:bytes 8,relative; base64_data; content:"World";`, "=" + helloB64, false},
		// Decoding stops at the first byte outside the alphabet.
		{"stops", `content:"a="; base64_decode:relative; base64_data; content:"Hello";`, "a=SGVs bG8=", false},
		{"stops keeps", `content:"a="; base64_decode:relative; base64_data; content:"Hel"; endswith;`, "a=SGVs bG8=", true},
		// Positions in base64_data are in the decoded bytes.
		{"startswith", `content:"a="; base64_decode:relative; base64_data; content:"Hello"; startswith;`, "a=" + helloB64, true},
		{"startswith no", `content:"a="; base64_decode:relative; base64_data; content:"World"; startswith;`, "a=" + helloB64, false},
		{"distance", `content:"a="; base64_decode:relative; base64_data; content:"Hello"; content:"World"; distance:1; within:5;`, "a=" + helloB64, true},
		{"distance no", `content:"a="; base64_decode:relative; base64_data; content:"Hello"; content:"World"; distance:2;`, "a=" + helloB64, false},
		{"depth", `content:"a="; base64_decode:relative; base64_data; content:"World"; depth:5;`, "a=" + helloB64, false},
		{"negated", `content:"a="; base64_decode:relative; base64_data; content:!"Bye";`, "a=" + helloB64, true},
		{"byte_test", `content:"a="; base64_decode:relative; base64_data; byte_test:1,=,72,0;`, "a=" + helloB64, true},
		{"isdataat", `content:"a="; base64_decode:relative; base64_data; content:"World"; isdataat:!1,relative;`, "a=" + helloB64, true},
		{"pcre", `content:"a="; base64_decode:relative; base64_data; pcre:"/^Hello\sW/";`, "a=" + helloB64, true},
		// regexp2 (lookbehind) keeps a widened copy of one buffer: the
		// decoded bytes must not reuse the payload's, nor the reverse.
		{"pcre widened", `content:"x"; pcre:"/(?<=x)a=/"; base64_decode:relative; base64_data; pcre:"/(?<=Hello )World/";`, "xa=" + helloB64, true},
		{"pcre widened no", `content:"x"; pcre:"/(?<=x)a=/"; base64_decode:relative; base64_data; pcre:"/(?<=Hello )xa=/";`, "xa=" + helloB64, false},
		// base64_data ends the rule's inspection of the buffer: what sits
		// between base64_decode and base64_data is not evaluated once the
		// decoded bytes match, as in Suricata.
		{"terminal", `content:"a="; base64_decode:relative; content:"NOPE"; base64_data; content:"Hello";`, "a=" + helloB64, true},
		// Both keywords are needed to alert; base64_data needs a test.
		{"no base64_data", `content:"a="; base64_decode:relative;`, "a=" + helloB64, false},
		{"empty base64_data", `content:"a="; base64_decode:relative; base64_data;`, "a=" + helloB64, false},
		{"nothing decoded", `content:"a="; base64_decode:relative; base64_data; content:!"x";`, "a=!!", false},
	}
	for _, c := range cases {
		if got := payloadMatch(sig(t, c.opts), c.buf); got != c.want {
			t.Errorf("%s: %s on %q: got %v want %v", c.name, c.opts, c.buf, got, c.want)
		}
	}
}

// TestBase64DecodeNoRetry: Suricata's base64_decode does not make the
// content before it look for another occurrence when the decoded bytes do
// not match, unlike a relative content would.
func TestBase64DecodeNoRetry(t *testing.T) {
	buf := "a=!!!! a=" + helloB64
	if !payloadMatch(sig(t, `content:"a="; content:"SGVs"; within:4;`), buf) {
		t.Fatal("a relative content retries the content before it")
	}
	if payloadMatch(sig(t, `content:"a="; base64_decode:relative; base64_data; content:"Hello";`), buf) {
		t.Error("base64_decode retried the content before it")
	}
	// A content before a relative one is still retried, and base64_decode
	// decodes after each of its matches.
	if !payloadMatch(sig(t, `content:"a="; content:"="; within:1; base64_decode:relative; base64_data; content:"Hello";`), "a=x a=="+helloB64) {
		t.Error("the content before the one base64_decode follows is retried")
	}
}

func TestBase64DataBuffer(t *testing.T) {
	// Legacy modifier: base64_decode joins the content's buffer and so do
	// the ops on the decoded bytes.
	s := sig(t, `content:"Authorization: Basic "; http_header; base64_decode:relative; base64_data; content:"admin:";`)
	hdr, _ := keyword.BufferByName("http.header")
	for i, o := range s.Ops {
		if o.Buf != hdr {
			t.Errorf("op %d (kind %d) in %s, want http.header", i, o.Kind, o.Buf)
		}
	}
	if s.AppProto != "http" {
		t.Errorf("app proto %q", s.AppProto)
	}
	if !payloadMatch(s, "Authorization: Basic YWRtaW46c2VjcmV0") { // admin:secret
		t.Error("header rule does not match")
	}
	// Sticky buffer.
	s = sig(t, `http.request_body; content:"SAMLResponse="; startswith; base64_decode:offset 0, relative; base64_data; content:":exec(";`)
	body, _ := keyword.BufferByName("http.request_body")
	if s.Ops[len(s.Ops)-1].Buf != body {
		t.Errorf("decoded-data op in %s", s.Ops[len(s.Ops)-1].Buf)
	}
	// Snort 3 dialect, ET's and the community rules' spellings.
	s = sig(t, `content:"GET http|3A 2F 2F|",depth 11; base64_decode:relative; base64_data; content:"clk="; content:"&bid=",distance 0;`)
	if !s.Snort3 || !payloadMatch(s, "GET http://Y2xrPTEmYmlkPTI=") || payloadMatch(s, "GET http://Y2xrPTEmYWlkPTI=") {
		t.Error("Snort 3 base64 rule") // clk=1&bid=2 / clk=1&aid=2
	}
}

func TestBase64DataFastPattern(t *testing.T) {
	for _, c := range []struct{ opts, want string }{
		// The longest content is in the decoded bytes; the prefilter,
		// which sees the buffer undecoded, must use the one before.
		{`content:"ab"; base64_decode:relative; base64_data; content:"a much longer decoded string";`, "ab"},
		{`content:"abc"; content:"abcdef"; content:"abcd"; base64_decode:relative; base64_data; content:"longer than all";`, "abcdef"},
		{`content:"abc"; fast_pattern; content:"abcdef"; base64_decode:relative; base64_data; content:"longer than all";`, "abc"},
		{`content:!"negated content"; content:"ab"; base64_decode:relative; base64_data; content:"longer than all";`, "ab"},
		{`http.uri; content:"/u"; http.request_body; content:"b="; base64_decode:relative; base64_data; content:"xxxxxxxx";`, "/u"},
	} {
		s := sig(t, c.opts)
		if p, _, _, ok := s.FastPatternBytes(); !ok || string(p) != c.want {
			t.Errorf("%s: fast pattern %q %v, want %q", c.opts, p, ok, c.want)
		}
	}
	// Nothing undecoded to prefilter on: the rule loads without a fast
	// pattern (evaluated on every packet its header allows) and still
	// matches the decoded bytes.
	for _, opts := range []string{`base64_decode; base64_data; content:"Hello";`,
		`content:!"a"; base64_decode; base64_data; content:"Hello";`,
		`pcre:"/^/"; base64_decode:relative; base64_data; pcre:"/Hello/";`} {
		s := sig(t, opts)
		if p, _, _, ok := s.FastPatternBytes(); ok {
			t.Errorf("%s: fast pattern %q from decoded bytes", opts, p)
		}
		if !payloadMatch(s, helloB64) {
			t.Errorf("%s: no match on %q", opts, helloB64)
		}
	}
}

func TestBase64DataErrors(t *testing.T) {
	for _, c := range []struct {
		opts, want  string
		unsupported bool
	}{
		{`base64_data; content:"x";`, "needs a preceding base64_decode", false},
		{`content:"a"; base64_decode; base64_data:x; content:"x";`, "takes no value", false},
		{`content:"a"; base64_decode:bytes 1 offset; base64_data; content:"x";`, "offset needs a number", false},
		// Suricata refuses another buffer after base64_data.
		{`content:"a"; base64_decode; base64_data; content:"x"; pkt_data; content:"y";`, "no other buffer may follow base64_data", false},
		{`content:"a"; base64_decode; base64_data; content:"x"; file_data; content:"y";`, "no other buffer may follow base64_data", false},
		{`content:"a"; base64_decode; base64_data; content:"x"; http_uri;`, "no other buffer may follow base64_data", false},
		{`content:"a"; base64_decode; base64_data; content:"x"; base64_decode; base64_data; content:"y";`, "base64_decode after base64_data", true},
	} {
		err := sigErr(c.opts)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", c.opts, err, c.want)
			continue
		}
		var u *keyword.UnsupportedError
		if errors.As(err, &u) != c.unsupported {
			t.Errorf("%s: unsupported = %v, want %v", c.opts, !c.unsupported, c.unsupported)
		}
	}
	// A second base64_data changes nothing.
	s := sig(t, `content:"a="; base64_decode:relative; base64_data; content:"Hello"; base64_data; content:"World";`)
	if !payloadMatch(s, "a="+helloB64) {
		t.Error("repeated base64_data")
	}
}
