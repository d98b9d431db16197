package detect

import (
	"container/heap"
	"net/netip"
	"time"

	"github.com/tapwatch/tapwatch/rules/decode"
	"github.com/tapwatch/tapwatch/rules/flow"
	"github.com/tapwatch/tapwatch/rules/keyword"
)

// xbits.go keeps the xbits (keyword/xbits.go): bits on a host (track
// ip_src, ip_dst) or on a pair of hosts (track ip_pair) rather than on a
// flow, so one flow's rule can set what another flow's rule tests, until
// the bit expires.

// xbitsMax caps the bits held: about 300 bytes each, so some 5 MB at most.
const xbitsMax = 1 << 14

// xbitKey names one bit: its name on host a (b invalid), or on the pair
// a < b, in a zone. Names share one namespace per kind, as Suricata's
// variable names per type do: ip_src and ip_dst read and write the same
// host bits; ip_pair bits are apart.
type xbitKey struct {
	name string
	zone uint32
	a, b netip.Addr
}

type xbitEntry struct {
	key    xbitKey
	expire time.Time
	hi     int // index in xbitState.h
}

// xbitState is an Engine's host and IP-pair bits, shared by its Workers
// (hoststate.go) as Suricata's host and IP-pair tables are by its threads.
//
// Bits are keyed by zone too (the flow's bridge or VLAN), so tenants with
// overlapping addresses do not share them. Expiry runs on packet time, as
// Suricata's does: a bit set at t with expire N is seen up to t+N
// inclusive, and expired bits are forgotten as packet time passes (sweep,
// on each use and once a second from Worker.expire). At most xbitsMax bits
// are held; when full, the bit closest to expiring makes room.
type xbitState struct {
	m       map[xbitKey]*xbitEntry
	h       xbitHeap // every entry of m, soonest expiry first
	evicted uint64   // bits dropped to make room under xbitsMax
}

// xbitsMatch evaluates s's xbits conditions on p.
func (w *Worker) xbitsMatch(s *keyword.Sig, p *decode.Packet, f *flow.Flow) bool {
	zone := zoneOf(f)
	h := w.e.hosts
	h.mu.Lock()
	defer h.mu.Unlock()
	x := &h.xbits
	now := p.Timestamp
	x.sweep(now)
	for _, op := range s.Xbits {
		if !op.IsCheck() {
			continue
		}
		if x.isSet(xbitKeyOf(op, p, zone), now) != (op.Cmd == keyword.FbIsSet) {
			return false
		}
	}
	return true
}

// xbitsPost runs s's xbits actions, in rule order, for p of flow f.
func (w *Worker) xbitsPost(s *keyword.Sig, p *decode.Packet, f *flow.Flow) {
	zone := zoneOf(f)
	h := w.e.hosts
	h.mu.Lock()
	defer h.mu.Unlock()
	x := &h.xbits
	now := p.Timestamp
	for _, op := range s.Xbits {
		k := xbitKeyOf(op, p, zone)
		exp := now.Add(time.Duration(op.Expire) * time.Second)
		switch op.Cmd {
		case keyword.FbSet:
			x.set(k, now, exp)
		case keyword.FbUnset:
			x.unset(k)
		case keyword.FbToggle:
			if x.isSet(k, now) {
				x.unset(k)
			} else {
				x.set(k, now, exp)
			}
		}
	}
}

func xbitKeyOf(op keyword.XbitOp, p *decode.Packet, zone uint32) xbitKey {
	k := xbitKey{name: op.Name, zone: zone}
	k.a, k.b = tracked(p, op.Track)
	if op.Track == keyword.XbitPair && !k.b.IsValid() {
		// Keep pair keys apart from host keys even without addresses.
		k.b = netip.IPv6Unspecified()
	}
	return k
}

// isSet reports whether k is set and not expired at now.
func (x *xbitState) isSet(k xbitKey, now time.Time) bool {
	e := x.m[k]
	return e != nil && !e.expire.Before(now)
}

// set sets k until exp. A bit already set keeps its expiry, as Suricata's
// host and IP-pair bits do; an expired one is set anew.
func (x *xbitState) set(k xbitKey, now, exp time.Time) {
	if e := x.m[k]; e != nil {
		if e.expire.Before(now) {
			e.expire = exp
			heap.Fix(&x.h, e.hi)
		}
		return
	}
	if x.m == nil {
		x.m = map[xbitKey]*xbitEntry{}
	}
	if len(x.m) >= xbitsMax {
		x.sweep(now)
	}
	if len(x.m) >= xbitsMax {
		e := heap.Pop(&x.h).(*xbitEntry)
		delete(x.m, e.key)
		x.evicted++
	}
	e := &xbitEntry{key: k, expire: exp}
	x.m[k] = e
	heap.Push(&x.h, e)
}

func (x *xbitState) unset(k xbitKey) {
	if e := x.m[k]; e != nil {
		heap.Remove(&x.h, e.hi)
		delete(x.m, k)
	}
}

// sweep forgets the bits expired at now.
func (x *xbitState) sweep(now time.Time) {
	for len(x.h) > 0 && x.h[0].expire.Before(now) {
		e := heap.Pop(&x.h).(*xbitEntry)
		delete(x.m, e.key)
	}
}

// xbitHeap orders entries by expiry (container/heap).
type xbitHeap []*xbitEntry

func (h xbitHeap) Len() int           { return len(h) }
func (h xbitHeap) Less(i, j int) bool { return h[i].expire.Before(h[j].expire) }
func (h xbitHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].hi, h[j].hi = i, j
}
func (h *xbitHeap) Push(v any) {
	e := v.(*xbitEntry)
	e.hi = len(*h)
	*h = append(*h, e)
}
func (h *xbitHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return e
}

// zoneOf is f's zone, or 0 for a packet without a flow.
func zoneOf(f *flow.Flow) uint32 {
	if f == nil {
		return 0
	}
	return f.Key.Zone
}
