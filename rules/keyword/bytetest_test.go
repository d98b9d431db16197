package keyword_test

import (
	"strings"
	"testing"
)

// TestByteTestZeroString: byte_test with 0 bytes and string reads the
// number written at the offset however long it is, as Suricata does
// (strtoull) and documents for http.content_len; ET Open uses it.
func TestByteTestZeroString(t *testing.T) {
	cases := []struct {
		opts, buf string
		want      bool
	}{
		{`byte_test:0,=,0,0,string,dec;`, "0", true},
		{`byte_test:0,=,0,0,string,dec;`, "12", false},
		{`byte_test:0,>=,8079,0,string,dec;`, "8079", true},
		{`byte_test:0,>=,8079,0,string,dec;`, "8078", false},
		{`byte_test:0,>=,8079,0,string,dec;`, "80790", true},
		{`byte_test:0,<=,30000,0,string,dec;`, "123456", false},
		// Longer than any fixed count allows.
		{`byte_test:0,=,42,0,string,dec;`, strings.Repeat("0", 40) + "42", true},
		// The digits end at the first other byte.
		{`byte_test:0,=,12,0,string,dec;`, "12abc", true},
		{`byte_test:0,=,12,0,string,dec;`, "12\r\n34", true},
		// As C reads it: white space, then a sign.
		{`byte_test:0,=,12,0,string,dec;`, " \t12", true},
		{`byte_test:0,=,12,0,string,dec;`, "+12", true},
		{`byte_test:0,>,9223372036854775807,0,string,dec;`, "-1", true}, // 2^64-1
		// No digit, or too large: no match whatever the operator.
		{`byte_test:0,>=,0,0,string,dec;`, "", false},
		{`byte_test:0,>=,0,0,string,dec;`, "abc", false},
		{`byte_test:0,>=,0,0,string,dec;`, "  ", false},
		{`byte_test:0,!=,1,0,string,dec;`, "-", false},
		{`byte_test:0,>,0,0,string,dec;`, "18446744073709551616", false},
		{`byte_test:0,>,9223372036854775807,0,string,dec;`, "18446744073709551615", true},
		// Offsets, absolute and relative.
		{`byte_test:0,=,5,2,string,dec;`, "ab5", true},
		{`byte_test:0,=,5,3,string,dec;`, "ab5", false},
		{`content:"Length: "; byte_test:0,>,4000,0,relative,string,dec;`, "Content-Length: 4001\r\n", true},
		{`content:"Length: "; byte_test:0,>,4000,0,relative,string,dec;`, "Content-Length: 40\r\n", false},
		{`content:"Length: "; byte_test:0,>,4000,0,relative,string,dec;`, "Content-Length: ", false},
		// Other bases; hex may start with 0x.
		{`byte_test:0,=,31,0,string,hex;`, "1f;", true},
		{`byte_test:0,=,31,0,string,hex;`, "0x1F", true},
		{`byte_test:0,=,0,0,string,hex;`, "0xg", true},
		{`byte_test:0,=,8,0,string,oct;`, "10", true},
		{`byte_test:0,=,8,0,string,oct;`, "9", false},
		// Without string, Suricata accepts 0 bytes and reads the value 0.
		{`byte_test:0,=,0,0;`, "abc", true},
		{`byte_test:0,>,0,0;`, "abc", false},
	}
	for _, c := range cases {
		if got := payloadMatch(sig(t, c.opts), c.buf); got != c.want {
			t.Errorf("%s on %q: got %v want %v", c.opts, c.buf, got, c.want)
		}
	}
}

// TestByteStringDigits: with a fixed count, string reads the digits among
// those bytes (Suricata: strtoull on them), not only all-digit fields, and
// byte_jump and byte_extract move past the digits read.
func TestByteStringDigits(t *testing.T) {
	cases := []struct {
		opts, buf string
		want      bool
	}{
		{`byte_test:5,=,10,0,string,dec;`, "10\r\n1", true},
		{`byte_test:5,=,10,0,string,dec;`, "10", false}, // 5 bytes must be there
		{`byte_test:3,=,7,0,string,dec;`, " 7 ", true},
		{`byte_test:3,=,7,0,string,dec;`, "x7 ", false},
		{`byte_test:2,=,123,0,string,dec;`, "123", false},
		// Suricata's byte_test and byte_jump read a string without a base
		// as C's base 0 does.
		{`byte_test:4,=,16,0,string;`, "0x10", true},
		{`byte_test:3,=,16,0,string;`, "020", true},
		{`byte_test:2,=,16,0,string;`, "16", true},
		{`byte_test:3,=,20,0,string,dec;`, "020", true},
		{`byte_extract:3,0,v,string; byte_test:1,=,v,3;`, "020\x14", true}, // byte_extract: decimal
		// Snort 3 reads it as decimal.
		{`content:"x",depth 1; byte_test:3,=,20,1,string;`, "x020", true},
		// The jump starts after the digits: 2 of the 4 bytes here.
		{`byte_jump:4,0,string,dec; content:"X"; within:1;`, "12abcdefghijklX", true},
		{`byte_jump:4,0,string,dec; content:"X"; within:1;`, "12abcdefghijklmnX", false},
		{`byte_jump:0,0,string,dec; content:"X"; within:1;`, "3abcX", true},
		{`byte_extract:4,0,n,string,dec; content:"Z"; within:1;`, "12ZZ", true},
		{`byte_extract:4,0,n,string,dec; byte_test:1,=,12,0,relative;`, "12\x0cZ", true},
	}
	for _, c := range cases {
		if got := payloadMatch(sig(t, c.opts), c.buf); got != c.want {
			t.Errorf("%s on %q: got %v want %v", c.opts, c.buf, got, c.want)
		}
	}
}

func TestByteTestCountErrors(t *testing.T) {
	for _, c := range []struct{ opts, want string }{
		{`byte_test:24,=,1,0,string,dec;`, "byte count 24 out of range 0..23"},
		{`byte_test:9,=,1,0;`, "byte count 9 out of range 0..8"},
		{`byte_test:-1,=,1,0,string,dec;`, "byte count -1 out of range 0..23"},
		{`byte_extract:0,0,v,string;`, "byte count 0 out of range 1..23"},
	} {
		if err := sigErr(c.opts); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", c.opts, err, c.want)
		}
	}
}
