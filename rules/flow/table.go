package flow

import (
	"time"

	"github.com/tapwatch/tapwatch/rules/decode"
	"github.com/tapwatch/tapwatch/rules/stream"
)

// DefaultMaxFlows is the flow cap of a zero Config.
const DefaultMaxFlows = 65536

// Protocol classes for timeouts.
const (
	classTCP = iota
	classUDP
	classICMP
	classOther
	numClasses
)

// suricataTimeouts are the flow-timeouts of Suricata's shipped
// suricata.yaml (default, tcp, udp and icmp sections).
func suricataTimeouts(class int) Timeouts {
	switch class {
	case classTCP:
		return Timeouts{New: 60 * time.Second, Established: 600 * time.Second, Closed: 60 * time.Second}
	default:
		return Timeouts{New: 30 * time.Second, Established: 300 * time.Second, Closed: 0}
	}
}

// Table is a flow table shard. Not safe for concurrent use: one per worker.
//
// Flows live in a map keyed by a symmetric key and on an intrusive LRU list
// (head: most recently seen), so lookups, eviction of the oldest flow and
// the idle scan of Expire need no allocation. Ended flows go to a free list
// and are reused with their flowbit buffer; their TCP sessions go back to
// the stream pool, which lends reassembly buffers to the sessions that
// carry data.
type Table struct {
	cfg        Config
	midstream  bool // Config.Midstream or Config.Stream.Midstream
	sessions   *stream.Pool
	flows      map[hashKey]*Flow
	head, tail *Flow
	free       *Flow // linked through next
	lastID     uint64
	to         [numClasses]Timeouts
	minTimeout time.Duration
	stats      Stats
}

// NewTable returns an empty table.
func NewTable(cfg Config) *Table {
	if cfg.MaxFlows <= 0 {
		cfg.MaxFlows = DefaultMaxFlows
	}
	t := &Table{cfg: cfg, flows: make(map[hashKey]*Flow, min(cfg.MaxFlows, 4096))}
	scfg := cfg.Stream
	scfg.Midstream = scfg.Midstream || cfg.Midstream
	t.midstream = scfg.Midstream
	t.sessions = stream.NewPool(scfg)
	per := [numClasses]Timeouts{cfg.TCP, cfg.UDP, cfg.ICMP, {}}
	t.minTimeout = -1
	for c := range t.to {
		to := suricataTimeouts(c)
		merge(&to, cfg.Timeouts)
		merge(&to, per[c])
		t.to[c] = to
		for _, d := range []time.Duration{to.New, to.Established, to.Closed} {
			if t.minTimeout < 0 || d < t.minTimeout {
				t.minTimeout = d
			}
		}
	}
	return t
}

func merge(to *Timeouts, over Timeouts) {
	if over.New > 0 {
		to.New = over.New
	}
	if over.Established > 0 {
		to.Established = over.Established
	}
	if over.Closed > 0 {
		to.Closed = over.Closed
	}
}

// Lookup finds or creates p's flow in zone and returns it with p's
// direction. It updates counters, the last-seen time and, for TCP, the
// connection state (Session.Track); the engine then calls
// f.TCP.Process(p, dir) for the stream data. It returns nil for packets that
// belong to no flow (no IP layer).
//
// IPv4/IPv6 fragments that were not reassembled have no ports: they get a
// flow of their own per address pair and protocol (Key ports 0, no TCP
// session), apart from the transport-layer flow, so IP-only rules with flow
// keywords still see directions.
//
// A TCP SYN on a flow whose session closed (both FINs or RST) ends the old
// flow (ReasonReuse, through Config.OnEnd) and starts a new one.
func (t *Table) Lookup(p *decode.Packet, zone uint32) (*Flow, Dir) {
	k, fwd, ok := makeKey(p, zone)
	if !ok {
		t.stats.NoFlow++
		return nil, ToServer
	}
	if k.kind == kindIP && (p.Fragment || hasPorts(p.IPProto)) {
		t.stats.Fragment++
	}
	f := t.flows[k]
	if f != nil && f.TCP != nil && p.IsTCP() && p.TCPFlags&(decode.TCPSyn|decode.TCPAck) == decode.TCPSyn &&
		f.TCP.Closed() {
		t.stats.Reused++
		t.end(f, ReasonReuse, t.cfg.OnEnd)
		f = nil
	}
	if f == nil {
		f = t.create(&k, p, fwd)
	} else if f != t.head {
		t.unlink(f)
		t.pushFront(f)
	}
	dir := ToClient
	if fwd == f.clientIsA {
		dir = ToServer
	}
	f.Pkts[dir]++
	f.Bytes[dir] += uint64(pktLen(p))
	if p.Timestamp.After(f.Last) {
		f.Last = p.Timestamp
	}
	if f.TCP != nil && p.IsTCP() {
		f.TCP.Track(p, dir)
	}
	return f, dir
}

// hasPorts reports whether proto's flows are normally keyed on a transport
// header (ports or ICMP identifiers).
func hasPorts(proto uint8) bool {
	switch proto {
	case decode.ProtoTCP, decode.ProtoUDP, decode.ProtoICMP, decode.ProtoICMPv6:
		return true
	}
	return false
}

// pktLen is the packet's size on the wire, as Suricata counts flow bytes.
func pktLen(p *decode.Packet) int {
	switch {
	case p.OrigLen > 0:
		return p.OrigLen
	case len(p.Data) > 0:
		return len(p.Data)
	case p.IPLen > 0:
		return p.IPLen
	}
	return len(p.Payload)
}

func (t *Table) create(k *hashKey, p *decode.Packet, fwd bool) *Flow {
	if len(t.flows) >= t.cfg.MaxFlows && t.tail != nil {
		t.stats.Evicted++
		t.end(t.tail, ReasonForced, t.cfg.OnEnd)
	}
	f := t.free
	if f != nil {
		t.free, f.next = f.next, nil
	} else {
		f = &Flow{}
	}
	clientA := fwd != senderIsServer(p, k, t.midstream)
	f.kind, f.clientIsA = k.kind, clientA
	f.Key = flowKey(k, p, clientA)
	f.ID = t.newID()
	f.Start, f.Last = p.Timestamp, p.Timestamp
	if k.kind == kindPorts && k.proto == decode.ProtoTCP {
		f.TCP = t.sessions.Get()
		f.TCP.SetHosts(f.Key.Src, f.Key.Dst)
	}
	t.flows[*k] = f
	t.pushFront(f)
	t.stats.Created++
	return f
}

// newID returns the next flow ID: a bijective mix (within 63 bits) of a
// counter and the shard, so IDs never repeat within a process lifetime,
// are never 0, and do not look sequential in EVE.
func (t *Table) newID() uint64 {
	const mask = 1<<63 - 1
	t.lastID++
	x := (t.lastID<<8 | uint64(t.cfg.Shard)) & mask
	x ^= x >> 31
	x = x * 0x7fb5d329728ea185 & mask
	x ^= x >> 27
	x = x * 0x81dadef4bc2dd44d & mask
	x ^= x >> 33
	return x
}

func (t *Table) pushFront(f *Flow) {
	f.prev, f.next = nil, t.head
	if t.head != nil {
		t.head.prev = f
	} else {
		t.tail = f
	}
	t.head = f
}

func (t *Table) unlink(f *Flow) {
	if f.prev != nil {
		f.prev.next = f.next
	} else {
		t.head = f.next
	}
	if f.next != nil {
		f.next.prev = f.prev
	} else {
		t.tail = f.prev
	}
	f.prev, f.next = nil, nil
}

// end retires f: out of the map and list, reported, then recycled.
func (t *Table) end(f *Flow, reason EndReason, cb func(*Flow, EndReason)) {
	t.forget(f)
	t.unlink(f)
	if f.TCP != nil {
		for d := ToServer; d <= ToClient; d++ {
			st := f.TCP.Stats(d)
			t.stats.StreamGaps += st.Gaps
			t.stats.StreamDroppedSegs += st.DroppedSegs
			t.stats.StreamDroppedBytes += st.DroppedBytes
		}
	}
	if cb != nil {
		cb(f, reason)
	}
	if f.TCP != nil {
		t.sessions.Put(f.TCP)
	}
	bits := f.Bits
	bits.Clear()
	*f = Flow{Bits: bits, next: t.free}
	t.free = f
}

// forget removes f from the map.
func (t *Table) forget(f *Flow) {
	k := f.mapKey()
	if t.flows[k] == f {
		delete(t.flows, k)
		return
	}
	// Someone changed f.Key, which the key is derived from. A stale entry
	// would hand a recycled Flow to the old key's packets: find it.
	for k, g := range t.flows {
		if g == f {
			delete(t.flows, k)
			return
		}
	}
}

// timeout is how long f may stay idle in its current state.
func (t *Table) timeout(f *Flow) time.Duration {
	c := classOther
	switch f.Key.Proto {
	case decode.ProtoTCP:
		c = classTCP
	case decode.ProtoUDP:
		c = classUDP
	case decode.ProtoICMP, decode.ProtoICMPv6:
		c = classICMP
	}
	to := &t.to[c]
	switch {
	case f.TCP != nil && f.TCP.Closed():
		return to.Closed
	case f.Established():
		return to.Established
	}
	return to.New
}

// Expire ends flows idle past their timeout at now (packet time), calling
// end for each before it is freed. A flow expires once now is later than
// its last packet plus the timeout of its state (new, established, closed).
// It scans from the least recently seen flow and stops at the first one idle
// for less than the smallest timeout, so calling it often is cheap.
func (t *Table) Expire(now time.Time, end func(*Flow, EndReason)) {
	for f := t.tail; f != nil; {
		prev := f.prev
		idle := now.Sub(f.Last)
		if idle <= t.minTimeout {
			break
		}
		if idle > t.timeout(f) {
			t.stats.Timedout++
			t.end(f, ReasonTimeout, end)
		}
		f = prev
	}
}

// Flush ends every flow (at shutdown or the end of a capture), oldest first.
func (t *Table) Flush(end func(*Flow, EndReason)) {
	for t.tail != nil {
		t.end(t.tail, ReasonShutdown, end)
	}
}

// Stats returns the counters.
func (t *Table) Stats() Stats {
	s := t.stats
	s.Active = uint64(len(t.flows))
	return s
}
