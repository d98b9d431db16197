package rules

import (
	"net/netip"
	"slices"
	"strings"
)

// ipRange is an inclusive address range within one family.
type ipRange struct{ lo, hi netip.Addr }

// ipSet is an address expression flattened into sorted, disjoint ranges
// per family, so matching is a binary search however long the rule's
// address list is (ET's botcc and compromised lists run to thousands).
type ipSet struct {
	v4, v6 []ipRange
}

var (
	min4 = netip.AddrFrom4([4]byte{})
	max4 = netip.AddrFrom4([4]byte{255, 255, 255, 255})
	min6 = netip.AddrFrom16([16]byte{})
	max6 = netip.AddrFrom16([16]byte{255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255})
)

func fullSet() ipSet {
	return ipSet{v4: []ipRange{{min4, max4}}, v6: []ipRange{{min6, max6}}}
}

func (s *ipSet) contains(a netip.Addr) bool {
	a = a.Unmap()
	rs := s.v6
	if a.Is4() {
		rs = s.v4
	}
	lo, hi := 0, len(rs)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if rs[m].hi.Less(a) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo < len(rs) && rs[lo].lo.Compare(a) <= 0
}

func lastOf(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr()
	b := a.AsSlice()
	bits := p.Bits()
	for i := range b {
		for j := 7; j >= 0; j-- {
			if i*8+(7-j) >= bits {
				b[i] |= 1 << j
			}
		}
	}
	out, _ := netip.AddrFromSlice(b)
	return out
}

func normalize(rs []ipRange) []ipRange {
	slices.SortFunc(rs, func(a, b ipRange) int { return a.lo.Compare(b.lo) })
	out := rs[:0]
	for _, r := range rs {
		if n := len(out); n > 0 {
			last := &out[n-1]
			next := last.hi.Next()
			// Merge when r overlaps or touches last; Next is invalid
			// when last already ends at the family's top address.
			if !next.IsValid() || r.lo.Compare(next) <= 0 {
				if last.hi.Less(r.hi) {
					last.hi = r.hi
				}
				continue
			}
		}
		out = append(out, r)
	}
	return out
}

func complementRanges(rs []ipRange, lo, hi netip.Addr) []ipRange {
	var out []ipRange
	cur := lo
	valid := true
	for _, r := range rs {
		if valid && cur.Less(r.lo) {
			out = append(out, ipRange{cur, r.lo.Prev()})
		}
		cur = r.hi.Next()
		valid = cur.IsValid() && r.hi != hi
	}
	if valid && cur.Compare(hi) <= 0 {
		out = append(out, ipRange{cur, hi})
	}
	return out
}

func intersectRanges(a, b []ipRange) []ipRange {
	var out []ipRange
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		lo, hi := a[i].lo, a[i].hi
		if lo.Less(b[j].lo) {
			lo = b[j].lo
		}
		if b[j].hi.Less(hi) {
			hi = b[j].hi
		}
		if lo.Compare(hi) <= 0 {
			out = append(out, ipRange{lo, hi})
		}
		if a[i].hi.Less(b[j].hi) {
			i++
		} else {
			j++
		}
	}
	return out
}

func (s ipSet) union(o ipSet) ipSet {
	return ipSet{
		v4: normalize(append(append([]ipRange(nil), s.v4...), o.v4...)),
		v6: normalize(append(append([]ipRange(nil), s.v6...), o.v6...)),
	}
}

func (s ipSet) complement() ipSet {
	return ipSet{v4: complementRanges(s.v4, min4, max4), v6: complementRanges(s.v6, min6, max6)}
}

func (s ipSet) minus(o ipSet) ipSet {
	c := o.complement()
	return ipSet{v4: intersectRanges(s.v4, c.v4), v6: intersectRanges(s.v6, c.v6)}
}

// flatten evaluates the expression, ignoring e.Neg (the caller applies it).
func (e *AddrExpr) flatten() ipSet {
	switch {
	case e.Any:
		return fullSet()
	case e.Lo.IsValid():
		if e.Lo.Is4() {
			return ipSet{v4: []ipRange{{e.Lo, e.Hi}}}
		}
		return ipSet{v6: []ipRange{{e.Lo, e.Hi}}}
	case !e.isList:
		r := ipRange{e.Prefix.Masked().Addr(), lastOf(e.Prefix)}
		if r.lo.Is4() {
			return ipSet{v4: []ipRange{r}}
		}
		return ipSet{v6: []ipRange{r}}
	}
	var pos, neg ipSet
	hasPos := false
	for _, c := range e.List {
		f := c.flatten()
		if c.Neg {
			neg = neg.union(f)
		} else {
			hasPos = true
			pos = pos.union(f)
		}
	}
	if !hasPos {
		pos = fullSet()
	}
	return pos.minus(neg)
}

// evaluate returns the set of addresses e matches, Neg applied.
func (e *AddrExpr) evaluate() ipSet {
	s := e.flatten()
	if e.Neg {
		s = s.complement()
	}
	return s
}

// compile flattens the expression into its lookup set.
func (e *AddrExpr) compile() {
	s := e.evaluate()
	e.set = &s
}

// Blocks lists the IPv4 networks of prefix length 32-shift (as the
// address's top bits) the expression covers, for indexing rules by
// address; v6 says whether it also covers IPv6 addresses, which the
// caller must index some other way. ok is false when it matches
// everything or spans more than limit blocks.
func (e *AddrExpr) Blocks(shift uint, limit int) (blocks []uint32, v6, ok bool) {
	if e == nil || e.set == nil || shift > 31 {
		return nil, false, false
	}
	v6 = len(e.set.v6) > 0
	if v6 && e.set.v6[0].lo == min6 && e.set.v6[len(e.set.v6)-1].hi == max6 {
		// Open-ended IPv6 coverage (a negation): not an index candidate.
		return nil, false, false
	}
	for _, r := range e.set.v4 {
		lo, hi := v4u(r.lo)>>shift, v4u(r.hi)>>shift
		if int(hi-lo)+len(blocks) >= limit {
			return nil, false, false
		}
		for b := lo; b <= hi; b++ {
			if n := len(blocks); n == 0 || blocks[n-1] != b {
				blocks = append(blocks, b)
			}
		}
	}
	return blocks, v6, len(blocks) > 0 || v6
}

func v4u(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// V4Key returns a's IPv4 address as a number and whether a is IPv4.
func V4Key(a netip.Addr) (uint32, bool) {
	a = a.Unmap()
	if !a.Is4() {
		return 0, false
	}
	return v4u(a), true
}

// addrSet is the set of addresses e matches (every address for nil or any).
func (e *AddrExpr) addrSet() ipSet {
	switch {
	case e.IsAny():
		return fullSet()
	case e.set != nil:
		return *e.set
	}
	return e.evaluate()
}

// SetKey is a canonical form of the addresses e matches: two expressions
// match the same addresses exactly when their keys are equal.
func (e *AddrExpr) SetKey() string {
	s := e.addrSet()
	var b strings.Builder
	for _, rs := range [][]ipRange{s.v4, s.v6} {
		for _, r := range rs {
			b.WriteString(r.lo.String())
			b.WriteByte('-')
			b.WriteString(r.hi.String())
			b.WriteByte(',')
		}
		b.WriteByte('|')
	}
	return b.String()
}

// Overlap reports whether e matches some address of o (in) and some
// address outside o (out).
func (e *AddrExpr) Overlap(o *AddrExpr) (in, out bool) {
	s, h := e.addrSet(), o.addrSet()
	in = len(intersectRanges(s.v4, h.v4)) > 0 || len(intersectRanges(s.v6, h.v6)) > 0
	d := s.minus(h)
	return in, len(d.v4) > 0 || len(d.v6) > 0
}
