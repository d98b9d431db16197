package decode

import "testing"

func TestFindTCPOption(t *testing.T) {
	mss := func(kind byte, _ []byte) bool { return kind == 2 }
	for _, c := range []struct {
		opts []byte
		want string
	}{
		{[]byte{1, 1, 2, 4, 0x05, 0xb4}, "\x02\x04\x05\xb4"},    // after NOPs
		{[]byte{3, 3, 7, 2, 4, 0x05, 0xb4}, "\x02\x04\x05\xb4"}, // after window scale
		{[]byte{0, 2, 4, 0x05, 0xb4}, ""},                       // after End of Option List
		{[]byte{3, 1, 7, 2, 4, 0x05, 0xb4}, ""},                 // after a length below 2
		{[]byte{3, 9, 7, 2, 4, 0x05, 0xb4}, ""},                 // after a length past the end
		{[]byte{2, 4, 0x05}, ""},                                // truncated
		{[]byte{2, 3, 0x05, 2, 4, 0, 1}, "\x02\x03\x05"},        // the first, even if malformed for MSS
	} {
		got, ok := FindTCPOption(c.opts, mss)
		if string(got) != c.want || ok != (c.want != "") {
			t.Errorf("%x: got %x %v, want %x", c.opts, got, ok, c.want)
		}
	}
}
