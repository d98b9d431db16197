package mpm

import "encoding/binary"

// lower folds one ASCII letter; other bytes, including Latin-1 letters, are
// left alone because rule nocase is ASCII-only.
func lower(c byte) byte {
	if c-'A' < 26 {
		return c + 'a' - 'A'
	}
	return c
}

// foldWord lowers the ASCII letters of 8 bytes at once (SWAR). Working on
// the low 7 bits keeps each byte's additions from carrying into its
// neighbour; bytes with the top bit set are excluded explicitly.
func foldWord(x uint64) uint64 {
	const (
		lo7 = 0x7f7f7f7f7f7f7f7f
		hi  = 0x8080808080808080
	)
	h := x & lo7
	geA := h + 0x3f3f3f3f3f3f3f3f // top bit set iff byte >= 'A'
	gtZ := h + 0x2525252525252525 // top bit set iff byte > 'Z'
	upper := geA &^ gtZ &^ x & hi
	return x | upper>>2
}

// gramFold folds the bytes of anchor grams for hashing and bucket keys:
// setting bit 5 of every byte maps each ASCII capital to its small letter
// in one OR, where an exact fold (foldWord) takes a dozen operations in
// every filter step. It also merges a few other byte pairs (NUL and space,
// '@' and '`', ...); that only makes the filter a little looser, since
// every candidate is confirmed against the pattern.
func gramFold(x uint64) uint64 { return x | 0x2020202020202020 }

// equalFold reports whether buf (any case) equals p, which is already
// lowered. len(buf) must be >= len(p).
func equalFold(buf, p []byte) bool {
	for len(p) >= 8 {
		if foldWord(binary.LittleEndian.Uint64(buf)) != binary.LittleEndian.Uint64(p) {
			return false
		}
		buf, p = buf[8:], p[8:]
	}
	for i, c := range p {
		if lower(buf[i]) != c {
			return false
		}
	}
	return true
}
