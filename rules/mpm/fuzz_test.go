package mpm

import (
	"slices"
	"testing"
)

// FuzzScan decodes a pattern set from spec (per pattern: a header byte with
// length in the low 4 bits and nocase in bit 4, then the bytes; the id is
// the header's top 3 bits, so ids collide) and checks Scan against naive.
func FuzzScan(f *testing.F) {
	f.Add([]byte("\x04abcd\x12Xy\x21z\x00"), []byte("xxABCDxyz"))
	f.Add([]byte("\x08GET /ind\x14host"), []byte("get /index.html HTTP/1.1\r\nHost: a"))
	f.Add([]byte("\x01\x00\x11\xff\x02\x00\xff"), []byte("\x00\xff\xdf"))
	f.Fuzz(func(t *testing.T, spec, buf []byte) {
		var pats []testPattern
		for len(spec) > 0 && len(pats) < 64 {
			h := spec[0]
			n := min(int(h&15), len(spec)-1)
			pats = append(pats, testPattern{b: slices.Clone(spec[1 : 1+n]), nocase: h&16 != 0, id: uint32(h >> 5)})
			spec = spec[1+n:]
		}
		m := buildT(t, pats)
		got, want := scanIDs(t, m, m.NewScratch(), buf), naive(pats, buf)
		if !slices.Equal(got, want) {
			t.Fatalf("pats %+v buf %q: got %v, want %v", pats, buf, got, want)
		}
	})
}
