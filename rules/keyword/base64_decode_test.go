package keyword

import (
	"strings"
	"testing"
)

func TestParseBase64Decode(t *testing.T) {
	valid := map[string]Base64Decode{
		"":                            {base64DecodeMax, 0, false},
		"bytes 1":                     {1, 0, false},
		"offset 9":                    {base64DecodeMax, 9, false},
		"relative":                    {base64DecodeMax, 0, true},
		"bytes 1, offset 2":           {1, 2, false},
		"bytes 1, offset 2, relative": {1, 2, true},
		"offset 2, relative":          {base64DecodeMax, 2, true},
		// ET and Snort 3 spellings.
		"offset 0,relative":            {base64DecodeMax, 0, true},
		"bytes 150,offset 10,relative": {150, 10, true},
		"  bytes 3 offset 4 relative ": {3, 4, true},
		"relative, bytes 3":            {3, 0, true},
		// bytes 0 is the default, as in Suricata.
		"bytes 0":          {base64DecodeMax, 0, false},
		"bytes 4294967295": {4294967295, 0, false},
	}
	for in, want := range valid {
		got, err := parseBase64Decode(in)
		if err != nil || got != want {
			t.Errorf("parseBase64Decode(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	invalid := map[string]string{
		"bytes 1, offset 2, relatve": `unknown option "relatve"`,
		"byts 1":                     `unknown option "byts"`,
		"offst 2":                    `unknown option "offst"`,
		"bytes":                      "bytes needs a number",
		"offset":                     "offset needs a number",
		"bytes -1":                   `bytes "-1"`,
		"bytes x":                    `bytes "x"`,
		"offset 4294967296":          `offset "4294967296"`,
		"bytes 1, bytes 2":           "bytes given twice",
		"relative, relative":         "relative given twice",
		"bytes 1 2":                  `unknown option "2"`,
	}
	for in, want := range invalid {
		if _, err := parseBase64Decode(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("parseBase64Decode(%q): err = %v, want one containing %q", in, err, want)
		}
	}
}

func TestDecodeBase64(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", ""},
		// RFC 4648 section 10.
		{"Zg==", "f"},
		{"Zm8=", "fo"},
		{"Zm9v", "foo"},
		{"Zm9vYg==", "foob"},
		{"Zm9vYmE=", "fooba"},
		{"Zm9vYmFy", "foobar"},
		{"SGVsbG8gV29ybGQ=", "Hello World"},
		// The first byte outside the alphabet ends decoding (RFC 4648,
		// not RFC 2045, which would skip it).
		{"Zm9v YmFy", "foo"},
		{"Zm9vYmFy\r\nZm9v", "foobar"},
		{"Zm9v\xffYmFy", "foo"},
		{"Zm9v-_", "foo"},
		// A last group of 1, 2 or 3 digits yields 1, 1 or 2 bytes.
		{"Zm9vYmE", "fooba"},
		{"Zm9vYm", "foob"},
		{"Zm9vY", "foo`"},
		{"Zm$9vYm.Fy", "f"},
		// '=' is a 0 digit and padding wherever it stands; decoding goes
		// on after a padded group.
		{"Zg==Zm9v", "ffoo"},
		{"====", ""},
		{"Zg=", "f\x00"},
		{"Z=g=", "d"},
	} {
		if got := string(decodeBase64(nil, []byte(c.in))); got != c.want {
			t.Errorf("decodeBase64(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	// It appends.
	if got := string(decodeBase64([]byte("x"), []byte("Zm9v"))); got != "xfoo" {
		t.Errorf("append: %q", got)
	}
}

func TestBase64DecodeWhere(t *testing.T) {
	hello := []byte("aaaaaaaaSGVsbG8gV29ybGQ=")
	for _, c := range []struct {
		name   string
		d      Base64Decode
		buf    []byte
		cursor int
		want   string
	}{
		{"start", Base64Decode{Bytes: base64DecodeMax}, []byte("SGVsbG8gV29ybGQ="), 0, "Hello World"},
		// Not relative: the cursor does not matter.
		{"absolute", Base64Decode{Bytes: base64DecodeMax}, []byte("SGVsbG8gV29ybGQ="), 5, "Hello World"},
		{"offset", Base64Decode{Bytes: base64DecodeMax, Offset: 8}, hello, 0, "Hello World"},
		{"relative", Base64Decode{Bytes: base64DecodeMax, Relative: true}, hello, 8, "Hello World"},
		{"relative offset", Base64Decode{Bytes: base64DecodeMax, Offset: 4, Relative: true}, hello, 4, "Hello World"},
		// bytes limits what is read, not what is produced.
		{"bytes", Base64Decode{Bytes: 8, Offset: 8}, hello, 0, "Hello "},
		{"bytes 5", Base64Decode{Bytes: 5, Offset: 8}, hello, 0, "Hell"},
		// An offset at or past the end decodes nothing (Suricata's
		// DetectBase64DecodeTestDecodeLargeOffset).
		{"offset at end", Base64Decode{Bytes: 16, Offset: 16}, []byte("SGVsbG8gV29ybGQ="), 0, ""},
		{"offset past end", Base64Decode{Bytes: 16, Offset: 32}, []byte("SGVsbG8gV29ybGQ="), 0, ""},
		{"relative at end", Base64Decode{Bytes: base64DecodeMax, Relative: true}, hello, len(hello), ""},
	} {
		if got := string(c.d.decode(nil, c.buf, c.cursor)); got != c.want {
			t.Errorf("%s: decoded %q, want %q", c.name, got, c.want)
		}
	}
}

func TestBase64DecodeBuffer(t *testing.T) {
	k, _ := Lookup("base64_decode")
	hdr, _ := BufferByName("http.header")
	// Without a sticky buffer it joins the buffer of the last content,
	// moved by a legacy modifier or not, relative or not.
	s := NewSig("tcp")
	s.Ops = append(s.Ops, Op{Kind: OpContent, Pat: []byte("Basic "), Buf: hdr, modSet: true})
	s.lastOp, s.lastBuf = 0, 0
	if err := k.Apply(s, "bytes 10"); err != nil {
		t.Fatal(err)
	}
	if o := s.Ops[1]; o.Kind != OpBase64Decode || o.Buf != hdr || o.Relative || o.B64.Bytes != 10 {
		t.Errorf("op %+v", o)
	}
	// With none before, the payload.
	s = NewSig("tcp")
	if err := k.Apply(s, "relative"); err != nil {
		t.Fatal(err)
	}
	if o := s.Ops[0]; o.Buf != BufPayload || !o.Relative || !o.B64.Relative {
		t.Errorf("op %+v", o)
	}
	if err := k.Apply(NewSig("tcp"), "offset x"); err == nil {
		t.Error("bad option accepted")
	}
}
