package decode

import (
	"encoding/binary"
	"net/netip"
	"time"
)

// IP fragment reassembly, for IPv4 and IPv6 alike.
//
// Policy: first data wins. A fragment that overlaps bytes already held only
// contributes the bytes nobody sent before, and the overlap is flagged
// (p.FragOverlap, event frag_overlap). Suricata's default "bsd" policy
// prefers a later fragment that starts before an earlier one; first-wins
// differs from it only for crafted overlaps whose data disagree, which the
// overlap flag exposes to rules anyway.
//
// Sets are keyed by (version, src, dst, protocol, id, VLAN tags): tenants on
// different VLANs with overlapping addresses never mix fragments. A set
// expires defragTimeout after its first fragment, in packet time, and the
// bytes held by all incomplete sets are capped by Config.DefragMaxBytes; the
// oldest sets are evicted first.

const (
	defragTimeout = 60 * time.Second
	// setOverhead approximates a set's bookkeeping (struct, map entry) in
	// the memory accounting, so a flood of tiny fragments is capped too.
	setOverhead = 256
	spanSize    = 16
	// maxIPDatagram is the largest IPv4 datagram, and the largest IPv6
	// payload length without jumbograms.
	maxIPDatagram = 65535
)

type fragKey struct {
	src, dst netip.Addr
	id       uint32
	proto    uint8
	version  uint8
	vlan     [2]uint16
}

type span struct{ start, end int }

type fragSet struct {
	key     fragKey
	created time.Time
	hdr     []byte // header bytes from the offset-0 fragment; nil until seen
	nhAt    int    // IPv6: offset in hdr of the next-header byte naming the fragment header
	data    []byte // fragment data, indexed by fragment offset
	have    []span // received byte ranges of data, sorted, merged
	total   int    // length of the datagram's data; -1 until the last fragment
	overlap bool   // some fragment overlapped data already held
	mem     int
	// prev and next link the sets oldest first, for timeouts and eviction.
	prev, next *fragSet
}

type defragTable struct {
	sets       map[fragKey]*fragSet
	head, tail *fragSet
	mem, max   int
	lastSeen   time.Time
	out        []byte // the latest reassembled datagram; reused
}

func (t *defragTable) init(max int) {
	t.sets = make(map[fragKey]*fragSet)
	t.max = max
}

func (t *defragTable) remove(s *fragSet) {
	delete(t.sets, s.key)
	if s.prev != nil {
		s.prev.next = s.next
	} else {
		t.head = s.next
	}
	if s.next != nil {
		s.next.prev = s.prev
	} else {
		t.tail = s.prev
	}
	s.prev, s.next = nil, nil
	t.mem -= s.mem
}

// charge accounts size more bytes to s, evicting the oldest other sets to
// stay within the cap. It reports false when s alone does not fit.
func (d *Decoder) charge(s *fragSet, size int) bool {
	t := &d.defrag
	for t.mem+size > t.max {
		victim := t.head
		if victim == s {
			victim = s.next
		}
		if victim == nil {
			return false
		}
		t.remove(victim)
		d.event(ReasonDefragEvicted)
	}
	s.mem += size
	t.mem += size
	return true
}

// fragment describes one arriving fragment.
type fragment struct {
	key   fragKey
	hdr   []byte // header to keep if this is the offset-0 fragment
	nhAt  int
	off   int // byte offset of data in the datagram's data
	more  bool
	data  []byte
	limit int // the most data a datagram with this header may hold
}

// addFragment stores f and returns its set when that set is now complete
// (and removed from the table). p.Fragment is set otherwise.
func (d *Decoder) addFragment(f *fragment, p *Packet) *fragSet {
	t := &d.defrag
	now := d.now(p)
	for t.head != nil && now.Sub(t.head.created) > defragTimeout {
		t.remove(t.head)
		d.event(ReasonFragTimeout)
	}
	p.Fragment = true
	s := t.sets[f.key]
	if s == nil {
		s = &fragSet{key: f.key, created: now, total: -1}
		if !d.charge(s, setOverhead) {
			d.event(ReasonDefragEvicted)
			return nil
		}
		t.sets[f.key] = s
		s.prev = t.tail
		if t.tail != nil {
			t.tail.next = s
		} else {
			t.head = s
		}
		t.tail = s
	}
	end := f.off + len(f.data)
	if end > f.limit {
		t.remove(s)
		d.bad(ReasonFragTooBig)
		return nil
	}
	if !f.more && s.total < 0 {
		s.total = end
	}
	if end > len(s.data) {
		if end > cap(s.data) {
			newCap := max(end, 2*cap(s.data))
			newCap = min(newCap, f.limit)
			if !d.charge(s, newCap-cap(s.data)) {
				t.remove(s)
				d.event(ReasonDefragEvicted)
				return nil
			}
			nd := make([]byte, end, newCap)
			copy(nd, s.data)
			s.data = nd
		} else {
			s.data = s.data[:end]
		}
	}
	if f.off == 0 && s.hdr == nil {
		if !d.charge(s, len(f.hdr)) {
			t.remove(s)
			d.event(ReasonDefragEvicted)
			return nil
		}
		s.hdr = append([]byte(nil), f.hdr...)
		s.nhAt = f.nhAt
	}
	spans := cap(s.have)
	overlap := s.insert(f.off, f.data)
	if grown := cap(s.have) - spans; grown > 0 && !d.charge(s, grown*spanSize) {
		// Thousands of disjoint tiny fragments: the list itself is
		// what the cap protects against.
		t.remove(s)
		d.event(ReasonDefragEvicted)
		return nil
	}
	if overlap {
		s.overlap = true
		p.FragOverlap = true
		d.event(ReasonFragOverlap)
	}
	if s.hdr == nil || s.total < 0 || len(s.have) != 1 || s.have[0].start != 0 || s.have[0].end < s.total {
		return nil
	}
	t.remove(s)
	return s
}

// insert copies the bytes of data (at offset off) that no earlier fragment
// supplied, and records the range. It reports whether data overlapped.
func (s *fragSet) insert(off int, data []byte) (overlap bool) {
	end := off + len(data)
	if off == end {
		return false
	}
	cur := off
	i := 0
	for ; i < len(s.have); i++ {
		h := s.have[i]
		if h.end <= cur {
			continue
		}
		if h.start >= end {
			break
		}
		overlap = true
		if h.start > cur {
			copy(s.data[cur:h.start], data[cur-off:])
		}
		cur = max(cur, h.end)
	}
	if cur < end {
		copy(s.data[cur:end], data[cur-off:])
	}
	// Merge [off,end) into the sorted span list.
	lo := 0
	for lo < len(s.have) && s.have[lo].end < off {
		lo++
	}
	hi := lo
	ns := span{off, end}
	for hi < len(s.have) && s.have[hi].start <= end {
		ns.start = min(ns.start, s.have[hi].start)
		ns.end = max(ns.end, s.have[hi].end)
		hi++
	}
	if hi == lo {
		s.have = append(s.have, span{})
		copy(s.have[lo+1:], s.have[lo:])
		s.have[lo] = ns
		return overlap
	}
	s.have[lo] = ns
	s.have = append(s.have[:lo+1], s.have[hi:]...)
	return overlap
}

// rebuild resets the network and transport fields of p, keeping the link
// layer, before a reassembled datagram is decoded into it.
func rebuild(p *Packet) {
	l := *p
	p.Reset()
	p.Timestamp, p.LinkType, p.Data, p.OrigLen, p.Num = l.Timestamp, l.LinkType, l.Data, l.OrigLen, l.Num
	p.HasEth, p.SrcMAC, p.DstMAC, p.EtherType = l.HasEth, l.SrcMAC, l.DstMAC, l.EtherType
	p.VLAN, p.VLANCount = l.VLAN, l.VLANCount
	p.Src, p.TunnelDepth, p.TunnelProto = l.Src, l.TunnelDepth, l.TunnelProto
	p.TunnelSrcIP, p.TunnelDstIP, p.TunnelSrcPort, p.TunnelDstPort = l.TunnelSrcIP, l.TunnelDstIP, l.TunnelSrcPort, l.TunnelDstPort
	p.Reassembled = true
}

func (d *Decoder) defragIPv4(hdr, body []byte, p *Packet) {
	f := fragment{
		key:   fragKey{src: p.SrcIP, dst: p.DstIP, id: p.IPID, proto: p.IPProto, version: 4, vlan: p.VLAN},
		hdr:   hdr,
		off:   int(p.FragOff) * 8,
		more:  p.IPFlags&0x1 != 0,
		data:  body,
		limit: maxIPDatagram - len(hdr),
	}
	s := d.addFragment(&f, p)
	if s == nil {
		return
	}
	if len(s.hdr)+s.total > maxIPDatagram {
		// The offset-0 fragment's options made the datagram too long.
		d.bad(ReasonFragTooBig)
		return
	}
	t := &d.defrag
	out := append(append(t.out[:0], s.hdr...), s.data[:s.total]...)
	t.out = out
	binary.BigEndian.PutUint16(out[2:4], uint16(len(out)))
	// Keep DF and the reserved bit; the datagram is whole now.
	binary.BigEndian.PutUint16(out[6:8], binary.BigEndian.Uint16(out[6:8])&0xc000)
	binary.BigEndian.PutUint16(out[10:12], ipv4Checksum(out[:len(s.hdr)]))
	rebuild(p)
	p.FragOverlap = s.overlap
	d.inReasm = true
	d.decodeIPv4(out, p)
}

func (d *Decoder) defragIPv6(unfrag []byte, nhAt int, nh uint8, body []byte, p *Packet) {
	f := fragment{
		key:   fragKey{src: p.SrcIP, dst: p.DstIP, id: p.IPID, proto: nh, version: 6, vlan: p.VLAN},
		hdr:   unfrag,
		nhAt:  nhAt,
		off:   int(p.FragOff) * 8,
		more:  p.IPFlags&0x1 != 0,
		data:  body,
		limit: maxIPDatagram - (len(unfrag) - ipv6HeaderLen),
	}
	s := d.addFragment(&f, p)
	if s == nil {
		return
	}
	if len(s.hdr)-ipv6HeaderLen+s.total > maxIPDatagram {
		d.bad(ReasonFragTooBig)
		return
	}
	t := &d.defrag
	out := append(append(t.out[:0], s.hdr...), s.data[:s.total]...)
	t.out = out
	out[s.nhAt] = s.key.proto
	binary.BigEndian.PutUint16(out[4:6], uint16(len(out)-ipv6HeaderLen))
	rebuild(p)
	p.FragOverlap = s.overlap
	d.inReasm = true
	d.decodeIPv6(out, p)
}
