package detect

import (
	"net/netip"

	"github.com/tapwatch/tapwatch/rules"
)

// addV6 indexes a rule, already indexed by the IPv4 networks of x (its
// source when src), for IPv6 packets: by the first 32 bits of each IPv6
// host or network x names positively, when it names only such; otherwise
// it is a candidate for every IPv6 packet (g.v6). The index need only be
// a superset: the header is matched in full afterwards.
func (g *group) addV6(x *rules.AddrExpr, id uint32, src bool) {
	keys, ok := v6Keys(x, nil)
	if !ok {
		g.v6 = append(g.v6, id)
		return
	}
	m := &g.v6Dst
	if src {
		m = &g.v6Src
	}
	if *m == nil {
		*m = map[uint32][]uint32{}
	}
	for _, k := range keys {
		if l := (*m)[k]; len(l) == 0 || l[len(l)-1] != id {
			(*m)[k] = append(l, id)
		}
	}
}

// v6Keys appends the v6Key of every IPv6 address x can match, and reports
// whether it could tell: x must be a positive list (negated members only
// take addresses away) of hosts, prefixes of at least 32 bits and ranges
// within one such prefix.
func v6Keys(x *rules.AddrExpr, keys []uint32) ([]uint32, bool) {
	if x == nil || x.Any || x.Neg {
		return nil, false
	}
	if len(x.List) > 0 {
		pos := false
		for _, m := range x.List {
			if m.Neg {
				continue
			}
			pos = true
			var ok bool
			if keys, ok = v6Keys(m, keys); !ok {
				return nil, false
			}
		}
		return keys, pos
	}
	switch {
	case x.Lo.IsValid():
		lo, hi := x.Lo.Unmap(), x.Hi.Unmap()
		if lo.Is4() && hi.Is4() {
			return keys, true // IPv4 only: the IPv4 index covers it
		}
		kl, ok1 := v6Key(lo)
		kh, ok2 := v6Key(hi)
		if !ok1 || !ok2 || kl != kh {
			return nil, false
		}
		return append(keys, kl), true
	case x.Prefix.IsValid():
		a := x.Prefix.Addr()
		if a.Unmap().Is4() {
			// An IPv4 network (or one written v4-mapped, which IPv6
			// packets' mapped addresses reach through the IPv4 index,
			// as V4Key unmaps).
			if a.Is4() || x.Prefix.Bits() >= 96 {
				return keys, true
			}
			return nil, false
		}
		if x.Prefix.Bits() < 32 {
			return nil, false
		}
		k, _ := v6Key(a)
		return append(keys, k), true
	}
	return nil, false
}

// v6Key is the first 32 bits of an IPv6 address that is not v4-mapped.
func v6Key(a netip.Addr) (uint32, bool) {
	if !a.Is6() || a.Is4In6() {
		return 0, false
	}
	b := a.As16()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]), true
}
