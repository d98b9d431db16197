package mpm

import (
	"bytes"
	"encoding/binary"
)

// scan runs each filter that has patterns; every pass is one linear walk
// over buf.
func (m *Matcher) scan(buf []byte, s *Scratch, hit func(id uint32)) {
	gen := s.begin(len(m.ids) + len(m.pats))
	for _, d := range m.always {
		m.reportDense(d, s, gen, hit)
	}
	if m.single {
		p := &m.pats[0]
		if bytes.Index(buf, m.data[p.off:p.off+p.n]) >= 0 {
			m.report(0, s, gen, hit)
		}
		return
	}
	if len(m.long.ents) > 0 {
		m.scanLong(buf, s, gen, hit)
	}
	if len(m.short.ents) > 0 {
		m.scanShort(buf, s, gen, hit)
	}
	if len(m.oneVals) > 0 {
		m.scanOne(buf, s, gen, hit)
	}
}

// candCap bounds the candidate positions a filter pass collects before
// they are confirmed. Filtering in a call-free loop keeps its state in
// registers; confirming in the same loop made the compiler spill around
// the call on every iteration.
const candCap = 128

// scanLong finds patterns of gramLen bytes or more.
func (m *Matcher) scanLong(buf []byte, s *Scratch, gen uint32, hit func(id uint32)) {
	t := &m.long
	cand := &s.cand
	var doneRaw uint32 // anchor bytes confirm found settled
	haveDone := false
	if t.stride > 1 {
		for i := 0; i+gramLen <= len(buf); {
			var n int
			n, i = filterStrided(t.bits, t.shift, t.stride, buf, i, cand)
			for _, p := range cand[:n] {
				raw := binary.LittleEndian.Uint32(buf[p:])
				if haveDone && raw == doneRaw {
					continue
				}
				g := uint32(gramFold(uint64(raw)))
				h := g * hashMul >> t.shift
				if !t.longScreen(buf, int(p), g, h) {
					continue
				}
				if m.confirm(t, buf, int(p), g, raw, h, s, gen, hit) {
					doneRaw, haveDone = raw, true
				}
			}
		}
		return
	}
	i := 0
	for i+8 <= len(buf) {
		var n int
		n, i = filterLong(t.bits, t.shift, buf, i, cand)
		for _, p := range cand[:n] {
			raw := binary.LittleEndian.Uint32(buf[p:])
			if haveDone && raw == doneRaw {
				continue
			}
			g := uint32(gramFold(uint64(raw)))
			h := g * hashMul >> t.shift
			if !t.longScreen(buf, int(p), g, h) {
				continue
			}
			if m.confirm(t, buf, int(p), g, raw, h, s, gen, hit) {
				doneRaw, haveDone = raw, true
			}
		}
	}
	for ; i+4 <= len(buf); i++ {
		raw := binary.LittleEndian.Uint32(buf[i:])
		g := uint32(gramFold(uint64(raw)))
		if h := g * hashMul >> t.shift; t.bits[h>>6]&(1<<(h&63)) != 0 {
			m.confirm(t, buf, i, g, raw, h, s, gen, hit)
		}
	}
}

// filterLong is the hot loop: one unaligned 8-byte load and one SWAR fold
// yield five 4-byte grams, each costing a multiply, a shift and a bit test
// when, as almost always, its bit is clear. It returns the candidates found
// and where it stopped: at the end of buf less 7 bytes, or when cand is
// nearly full.
func filterLong(bits []uint64, shift uint, buf []byte, i int, cand *[candCap]uint32) (int, int) {
	n := 0
	shift &= 31 // tells the compiler the shift is in range
	for ; i+8 <= len(buf) && n <= candCap-5; i += 5 {
		w := gramFold(binary.LittleEndian.Uint64(buf[i:]))
		h := uint32(w) * hashMul >> shift
		if bits[h>>6]&(1<<(h&63)) != 0 {
			cand[n&(candCap-1)] = uint32(i)
			n++
		}
		h = uint32(w>>8) * hashMul >> shift
		if bits[h>>6]&(1<<(h&63)) != 0 {
			cand[n&(candCap-1)] = uint32(i + 1)
			n++
		}
		h = uint32(w>>16) * hashMul >> shift
		if bits[h>>6]&(1<<(h&63)) != 0 {
			cand[n&(candCap-1)] = uint32(i + 2)
			n++
		}
		h = uint32(w>>24) * hashMul >> shift
		if bits[h>>6]&(1<<(h&63)) != 0 {
			cand[n&(candCap-1)] = uint32(i + 3)
			n++
		}
		h = uint32(w>>32) * hashMul >> shift
		if bits[h>>6]&(1<<(h&63)) != 0 {
			cand[n&(candCap-1)] = uint32(i + 4)
			n++
		}
	}
	return n, i
}

// filterStrided tests the grams at every stride-th position.
func filterStrided(bits []uint64, shift uint, stride int, buf []byte, i int, cand *[candCap]uint32) (int, int) {
	n := 0
	shift &= 31
	const f = 0x20202020 // gramFold of 4 bytes
	// Each gram is loaded on its own from a sub-slice bounds-checked once
	// per step: cheaper than shifting several out of one 8-byte word.
	switch stride {
	case 2:
		for ; i+10 <= len(buf) && n <= candCap-4; i += 8 {
			b := buf[i : i+10 : i+10]
			if h := (binary.LittleEndian.Uint32(b[0:]) | f) * hashMul >> shift; bits[h>>6]&(1<<(h&63)) != 0 {
				cand[n&(candCap-1)] = uint32(i)
				n++
			}
			if h := (binary.LittleEndian.Uint32(b[2:]) | f) * hashMul >> shift; bits[h>>6]&(1<<(h&63)) != 0 {
				cand[n&(candCap-1)] = uint32(i + 2)
				n++
			}
			if h := (binary.LittleEndian.Uint32(b[4:]) | f) * hashMul >> shift; bits[h>>6]&(1<<(h&63)) != 0 {
				cand[n&(candCap-1)] = uint32(i + 4)
				n++
			}
			if h := (binary.LittleEndian.Uint32(b[6:]) | f) * hashMul >> shift; bits[h>>6]&(1<<(h&63)) != 0 {
				cand[n&(candCap-1)] = uint32(i + 6)
				n++
			}
		}
	case 4:
		for ; i+12 <= len(buf) && n <= candCap-3; i += 12 {
			b := buf[i : i+12 : i+12]
			if h := (binary.LittleEndian.Uint32(b[0:]) | f) * hashMul >> shift; bits[h>>6]&(1<<(h&63)) != 0 {
				cand[n&(candCap-1)] = uint32(i)
				n++
			}
			if h := (binary.LittleEndian.Uint32(b[4:]) | f) * hashMul >> shift; bits[h>>6]&(1<<(h&63)) != 0 {
				cand[n&(candCap-1)] = uint32(i + 4)
				n++
			}
			if h := (binary.LittleEndian.Uint32(b[8:]) | f) * hashMul >> shift; bits[h>>6]&(1<<(h&63)) != 0 {
				cand[n&(candCap-1)] = uint32(i + 8)
				n++
			}
		}
	case 8:
		for ; i+20 <= len(buf) && n <= candCap-3; i += 24 {
			b := buf[i : i+20 : i+20]
			if h := (binary.LittleEndian.Uint32(b[0:]) | f) * hashMul >> shift; bits[h>>6]&(1<<(h&63)) != 0 {
				cand[n&(candCap-1)] = uint32(i)
				n++
			}
			if h := (binary.LittleEndian.Uint32(b[8:]) | f) * hashMul >> shift; bits[h>>6]&(1<<(h&63)) != 0 {
				cand[n&(candCap-1)] = uint32(i + 8)
				n++
			}
			if h := (binary.LittleEndian.Uint32(b[16:]) | f) * hashMul >> shift; bits[h>>6]&(1<<(h&63)) != 0 {
				cand[n&(candCap-1)] = uint32(i + 16)
				n++
			}
		}
	}
	for ; i+gramLen <= len(buf) && n < candCap; i += stride {
		g := binary.LittleEndian.Uint32(buf[i:]) | f
		if h := g * hashMul >> shift; bits[h>>6]&(1<<(h&63)) != 0 {
			cand[n&(candCap-1)] = uint32(i)
			n++
		}
	}
	return n, i
}

func (m *Matcher) scanShort(buf []byte, s *Scratch, gen uint32, hit func(id uint32)) {
	t := &m.short
	cand := &s.cand
	var doneRaw uint32
	haveDone := false
	for i := 0; i+1 < len(buf); {
		var n int
		n, i = filterShort(t.raw, buf, i, cand)
		for _, p := range cand[:n] {
			raw := uint32(binary.LittleEndian.Uint16(buf[p:]))
			if haveDone && raw == doneRaw {
				continue
			}
			if k := t.screenOf(raw); k != 0 {
				q := int(p) - int(k-1)
				if q < 0 || q+gramLen > len(buf) {
					continue
				}
				w := uint32(gramFold(uint64(binary.LittleEndian.Uint32(buf[q:]))))
				if h := w * hashMul >> t.extShift; t.ext[h>>6]&(1<<(h&63)) == 0 {
					continue
				}
				if h := w * hashMul2 >> t.extShift; t.ext2[h>>6]&(1<<(h&63)) == 0 {
					continue
				}
			}
			g := raw | 0x2020
			if m.confirm(t, buf, int(p), g, raw, g*hashMul>>t.shift, s, gen, hit) {
				doneRaw, haveDone = raw, true
			}
		}
	}
}

// filterShort tests every raw byte pair against the 2-byte anchor bitmap,
// eight pairs per step, each loaded straight from the buffer: one
// zero-extending load per pair beats shifting them out of a word.
func filterShort(raw *[1 << 16 / 64]uint64, buf []byte, i int, cand *[candCap]uint32) (int, int) {
	n := 0
	for ; i+9 <= len(buf) && n <= candCap-8; i += 8 {
		b := buf[i : i+9 : i+9]
		if v := binary.LittleEndian.Uint16(b[0:]); raw[v>>6]&(1<<(v&63)) != 0 {
			cand[n&(candCap-1)] = uint32(i)
			n++
		}
		if v := binary.LittleEndian.Uint16(b[1:]); raw[v>>6]&(1<<(v&63)) != 0 {
			cand[n&(candCap-1)] = uint32(i + 1)
			n++
		}
		if v := binary.LittleEndian.Uint16(b[2:]); raw[v>>6]&(1<<(v&63)) != 0 {
			cand[n&(candCap-1)] = uint32(i + 2)
			n++
		}
		if v := binary.LittleEndian.Uint16(b[3:]); raw[v>>6]&(1<<(v&63)) != 0 {
			cand[n&(candCap-1)] = uint32(i + 3)
			n++
		}
		if v := binary.LittleEndian.Uint16(b[4:]); raw[v>>6]&(1<<(v&63)) != 0 {
			cand[n&(candCap-1)] = uint32(i + 4)
			n++
		}
		if v := binary.LittleEndian.Uint16(b[5:]); raw[v>>6]&(1<<(v&63)) != 0 {
			cand[n&(candCap-1)] = uint32(i + 5)
			n++
		}
		if v := binary.LittleEndian.Uint16(b[6:]); raw[v>>6]&(1<<(v&63)) != 0 {
			cand[n&(candCap-1)] = uint32(i + 6)
			n++
		}
		if v := binary.LittleEndian.Uint16(b[7:]); raw[v>>6]&(1<<(v&63)) != 0 {
			cand[n&(candCap-1)] = uint32(i + 7)
			n++
		}
	}
	for ; i+1 < len(buf) && n < candCap; i++ {
		if v := binary.LittleEndian.Uint16(buf[i:]); raw[v>>6]&(1<<(v&63)) != 0 {
			cand[n&(candCap-1)] = uint32(i)
			n++
		}
	}
	return n, i
}

// scanOne only needs to know which bytes occur. Up to oneIndexMax
// candidate bytes are cheapest with one vectorised IndexByte each (it stops
// at the first occurrence, and a byte that is absent costs a pass at
// vector width, where recording every byte costs about one cycle per
// byte); more take that one recording pass.
func (m *Matcher) scanOne(buf []byte, s *Scratch, gen uint32, hit func(id uint32)) {
	if len(m.oneVals) <= oneIndexMax {
		for k, c := range m.oneVals {
			if bytes.IndexByte(buf, c) >= 0 {
				m.reportOne(k, s, gen, hit)
			}
		}
		return
	}
	var seen [4]uint64
	for _, c := range buf {
		seen[c>>6] |= 1 << (c & 63)
	}
	for k, c := range m.oneVals {
		if seen[c>>6]&(1<<(c&63)) != 0 {
			m.reportOne(k, s, gen, hit)
		}
	}
}

// oneIndexMax is how many distinct 1-byte patterns scanOne looks up one
// IndexByte each.
const oneIndexMax = 32

func (m *Matcher) reportOne(k int, s *Scratch, gen uint32, hit func(id uint32)) {
	for _, pi := range m.onePats[m.oneStart[k]:m.oneStart[k+1]] {
		m.report(pi, s, gen, hit)
	}
}

// confirm verifies the candidates whose anchor hashed to bitmap index h at
// buffer offset i, where the anchor bytes are raw (g folded). It reports
// whether the outcome is settled for every position with the same raw
// bytes: each pattern anchored on g is either reported already or
// case-sensitive with a different anchor. Scan loops then skip such
// positions without a call, which matters for runs ("AAAA", NULs, NOP
// sleds) that are common in exploit traffic. Kept out of line so the
// scan loops stay small.
//
//go:noinline
func (m *Matcher) confirm(t *table, buf []byte, i int, g, raw, h uint32, s *Scratch, gen uint32, hit func(id uint32)) (done bool) {
	b := h >> t.bucketShift
	done = true
	base := uint32(len(m.ids))
	for _, e := range t.ents[t.start[b]:t.start[b+1]] {
		if e.gram != g {
			continue
		}
		if e.anchor&exactBit != 0 && e.raw != raw {
			continue
		}
		if e.anchor&winBit != 0 {
			if q := i + e.winRel(); q < 0 || q+gramLen > len(buf) ||
				uint32(gramFold(uint64(binary.LittleEndian.Uint32(buf[q:])))) != e.win {
				done = false
				continue
			}
		}
		if s.stamp[base+e.pat] == gen {
			continue // already reported: skip the verify
		}
		p := &m.pats[e.pat]
		start := i - int(e.anchor&offMask)
		end := start + int(p.n)
		if start < 0 || end > len(buf) {
			done = false
			continue
		}
		pb := m.data[p.off : p.off+p.n]
		if p.nocase {
			if !equalFold(buf[start:end], pb) {
				done = false
				continue
			}
		} else if string(buf[start:end]) != string(pb) {
			done = false
			continue
		}
		m.report(e.pat, s, gen, hit)
	}
	return done
}

// report marks pattern pi as found and reports its ids not yet reported.
func (m *Matcher) report(pi uint32, s *Scratch, gen uint32, hit func(id uint32)) {
	s.stamp[uint32(len(m.ids))+pi] = gen
	p := &m.pats[pi]
	if p.nIDs == 1 {
		m.reportDense(p.id, s, gen, hit)
		return
	}
	for _, d := range m.idList[p.id : p.id+p.nIDs] {
		m.reportDense(d, s, gen, hit)
	}
}

func (m *Matcher) reportDense(d uint32, s *Scratch, gen uint32, hit func(id uint32)) {
	if s.stamp[d] != gen {
		s.stamp[d] = gen
		hit(m.ids[d])
	}
}
