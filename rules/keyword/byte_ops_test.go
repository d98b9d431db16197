package keyword_test

import "testing"

func TestByteTestJumpExtractIsdataat(t *testing.T) {
	cases := []struct {
		opts string
		buf  string
		want bool
	}{
		{`byte_test:2,=,258,0;`, "\x01\x02", true},
		{`byte_test:2,=,513,0,little;`, "\x01\x02", true},
		{`byte_test:2,>,300,0;`, "\x01\x02", false},
		{`byte_test:2,!=,258,0;`, "\x01\x02", false},
		{`byte_test:3,=,123,1,string,dec;`, "x123", true},
		{`byte_test:2,=,0x1f,0,string,hex;`, "1f", true},
		{`byte_test:1,&,4,0;`, "\x05", true},
		{`byte_test:1,=,1,0,bitmask 0xf0;`, "\x1f", true},
		{`content:"A"; byte_test:1,=,66,0,relative;`, "xAB", true},
		{`byte_test:4,=,1,0;`, "\x00\x01", false},
		// jump over a length-prefixed field, then find what follows.
		{`byte_jump:1,0; content:"a"; within:1;`, "\x02abZ", false},
		{`byte_jump:1,0; content:"Z"; distance:0; within:1;`, "\x02abZ", true},
		{`byte_jump:1,0,from_beginning; content:"b"; distance:0; within:1;`, "\x02abZ", true},
		{`byte_jump:1,0,post_offset 1; content:"Q"; distance:0; within:1;`, "\x02abZQ", true},
		{`byte_jump:1,0; isdataat:!1,relative;`, "\x02ab", true},
		{`byte_jump:1,0,multiplier 2; isdataat:!1,relative;`, "\x02abcd", true},
		{`byte_jump:1,0;`, "\x09ab", false},
		{`byte_extract:1,0,len; content:"abc"; offset:1; depth:len;`, "\x03abc", true},
		{`byte_extract:1,0,len; content:"abc"; offset:1; depth:len;`, "\x02abc", false},
		{`byte_extract:1,0,v; byte_test:1,=,v,1;`, "\x07\x07", true},
		{`isdataat:3;`, "abcd", true},
		{`isdataat:4;`, "abcd", false},
		{`content:"a"; isdataat:3,relative;`, "abcd", true},
		{`content:"a"; isdataat:4,relative;`, "abcd", false},
		{`content:"a"; isdataat:!4,relative;`, "abcd", true},
	}
	for _, c := range cases {
		if got := payloadMatch(sig(t, c.opts), c.buf); got != c.want {
			t.Errorf("%s on %q: got %v want %v", c.opts, c.buf, got, c.want)
		}
	}
	for _, bad := range []string{`byte_test:2,~,1,0;`, `byte_test:9,=,1,0;`, `byte_jump:x,0;`, `byte_extract:1,0,a; byte_extract:1,0,a;`, `content:"a"; depth:nope;`, `byte_test:1,=,1,0,wobble;`} {
		if sigErr(bad) == nil {
			t.Errorf("%s: expected error", bad)
		}
	}
}

func TestByteCountFromVariable(t *testing.T) {
	s := sig(t, `byte_extract:1,0,n; byte_test:n,=,0x0102,1;`)
	if !payloadMatch(s, "\x02\x01\x02") || payloadMatch(s, "\x01\x01\x02") {
		t.Error("byte_test with a variable byte count")
	}
	s = sig(t, `byte_extract:1,0,n; byte_jump:n,1; content:"Z"; within:1;`)
	if !payloadMatch(s, "\x01\x02xyZ") || payloadMatch(s, "\x01\x02xZy") {
		t.Error("byte_jump with a variable byte count")
	}
}
