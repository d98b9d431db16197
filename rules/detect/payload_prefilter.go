package detect

import (
	"bytes"
	"encoding/binary"
	"slices"

	"github.com/tapwatch/tapwatch/rules"
	"github.com/tapwatch/tapwatch/rules/flow"
	"github.com/tapwatch/tapwatch/rules/mpm"
)

// The payload prefilter (packet payloads and stream windows) is split
// three ways, as Suricata's signature group heads split theirs, because
// its cost grows with the patterns it holds far more than with the bytes:
//
//   - by flow direction: most raw-payload rules name to_server or
//     to_client, and are only proposed for packets moving that way;
//   - anchored or not: a fast pattern bound to the start of the buffer by
//     an absolute offset/depth (`content:"|03|"; depth:1;`, startswith) can
//     only occur in the first bytes, so a second matcher scans just those.
//     ET Open anchors about a third of its payload fast patterns, and most
//     of its 1-3 byte ones, which are the patterns that make a filter
//     fire at every other byte;
//   - packet-only rules (tcp-pkt, flow:no_stream) apart, since they are
//     the only ones a TCP packet's own payload matters to once its bytes
//     go to the stream.
//
// Every split only removes patterns that cannot lead to a match, so the
// candidates stay a superset of what matches.

// payNoFlow indexes group.pay for packets without a flow; flow.ToServer
// and flow.ToClient index the others.
const payNoFlow = 2

// maxAnchorEnd is the furthest from the start of the buffer an anchored
// fast pattern may end. Beyond it the prefix scan costs about what the
// pattern costs in the main matcher.
const maxAnchorEnd = 64

// payloadMpm is the payload prefilter for one kind of packet.
type payloadMpm struct {
	all, pkt     *mpm.Matcher // unanchored: every rule, packet-only rules
	anch, anchPk *mpm.Matcher // anchored: every rule, packet-only rules
	anchEnd      int          // the prefix the anchored matchers scan
	maxLen       int          // longest pattern of all (stream window overlap)
}

func (pm *payloadMpm) empty() bool { return pm.all == nil && pm.anch == nil }

// scanAnchored runs the anchored matcher m on the prefix of buf where its
// patterns can be.
func (pm *payloadMpm) scanAnchored(m *mpm.Matcher, buf []byte, w *Worker) {
	if m == nil || len(buf) == 0 {
		return
	}
	m.Scan(buf[:min(len(buf), pm.anchEnd)], &w.msc, w.onHit)
}

// payload returns the payload prefilter for a packet of f (state fs)
// moving in dir, or for a packet without a flow (f nil). The choice
// depends on the flow's ends only, so fs remembers it: looking them up in
// the home set for every packet showed in profiles.
func (g *group) payload(f *flow.Flow, fs *flowState, dir flow.Dir) *payloadMpm {
	if f == nil {
		return g.pay[payNoFlow].pay[0]
	}
	pl := fs.pay[dir&1]
	if pl == nil {
		pl = g.pay[dir&1].forFlow(f)
		fs.pay[dir&1] = pl
	}
	return pl
}

// portPay is the payload prefilter of one flow direction, split as
// Suricata's signature group heads are, three ways, each removing the
// rules that cannot match a flow's packets:
//
//   - by the flow's server port: over half of ET Open's raw-payload TCP
//     rules name the port of one service (445, 139, 1521, 21, ...);
//   - by whether a rule names the client's port: a rule without a flow
//     direction that names a port on one side (`any any -> any 445`)
//     also sits in the prefilter of the other direction, where that side
//     is the client's, and a client port no rule names (an ephemeral one,
//     nearly always) cannot meet it;
//   - by whether each end is in the home network (the address set most
//     rules name, $HOME_NET): three in four ET Open rules name
//     $EXTERNAL_NET on one side, and none of those can match a flow
//     between two home hosts.
//
// The ports and the home set are found in the rules themselves. Splits
// that leave the same rules share one prefilter. On the corpus, an ET
// Open replay spends 6.5% less CPU for the port splits and 9.6% less
// again for the address one (best of 5 interleaved runs each).
type portPay struct {
	ports []uint16 // the server ports with a prefilter of their own, ascending
	named []uint16 // the client ports some rule names, ascending
	home  *rules.AddrExpr
	// pay is indexed by payIndex; with no split, it has one prefilter.
	pay []*payloadMpm
}

// payIndex is where pay keeps the prefilter for server port group i
// (len(ports) for other ports), a client port named or not, and the
// client and server in the home set or not: eight entries per group.
func payIndex(i int, named, clientHome, serverHome bool) int {
	return i<<3 | int(bit(named))<<2 | int(bit(clientHome))<<1 | int(bit(serverHome))
}

// forFlow returns the prefilter for the packets of f.
func (pp *portPay) forFlow(f *flow.Flow) *payloadMpm {
	if len(pp.pay) == 1 {
		return pp.pay[0]
	}
	i, ok := slices.BinarySearch(pp.ports, f.Key.DstPort)
	if !ok {
		i = len(pp.ports)
	}
	_, named := slices.BinarySearch(pp.named, f.Key.SrcPort)
	return pp.pay[payIndex(i, named, pp.home.Match(f.Key.Src), pp.home.Match(f.Key.Dst))]
}

// Port groups: a port gets a prefilter of its own when at least
// minPortRules rules name it, up to maxPortGroups ports (each group holds
// every rule that can match there, any-port rules included, so each costs
// a build and the memory of the shared patterns again).
const (
	minPortRules  = 16
	maxPortGroups = 12
)

// payRule is a rule whose fast pattern is in the raw payload.
type payRule struct {
	c      *csig
	p      []byte
	nocase bool
}

// buildPortPay builds the payload prefilter of direction k (flow.ToServer,
// flow.ToClient or payNoFlow) from rs, split (see portPay) when split,
// around home (nil: no address split).
func buildPortPay(rs []payRule, k int, split bool, home *rules.AddrExpr) portPay {
	var in []payRule
	for _, r := range rs {
		if k == payNoFlow || r.c.allowsDir(flow.Dir(k)) {
			in = append(in, r)
		}
	}
	if !split || k == payNoFlow {
		return portPay{pay: []*payloadMpm{buildPay(in)}}
	}
	d := flow.Dir(k)
	pp := portPay{ports: groupPorts(in, d), named: clientPorts(in, d), home: home}
	caps := make([]addrCaps, len(in))
	for j, r := range in {
		caps[j] = addrCapsOf(r.c, home)
	}
	pp.pay = make([]*payloadMpm, payIndex(len(pp.ports)+1, false, false, false))
	built := make(map[string]*payloadMpm)
	var key []byte
	var sel []payRule
	for i := 0; i <= len(pp.ports); i++ {
		for _, named := range []bool{false, true} {
			for _, ch := range []bool{false, true} {
				for _, sh := range []bool{false, true} {
					key, sel = key[:0], sel[:0]
					for j, r := range in {
						switch {
						case !named && clientNamed(r.c, d),
							home != nil && !caps[j].may(d, ch, sh, r.c.rule.Bidir),
							i < len(pp.ports) && !serverPortMay(r.c, d, pp.ports[i]),
							i == len(pp.ports) && !otherPortMay(r.c, d, pp.ports):
							continue
						}
						key = binary.LittleEndian.AppendUint32(key, uint32(r.c.num))
						sel = append(sel, r)
					}
					pm := built[string(key)]
					if pm == nil {
						pm = buildPay(sel)
						built[string(key)] = pm
					}
					pp.pay[payIndex(i, named, ch, sh)] = pm
				}
			}
		}
	}
	return pp
}

// buildPay builds the payload prefilter of the rules of rs.
func buildPay(rs []payRule) *payloadMpm {
	var b payloadBuilder
	for _, r := range rs {
		b.add(r.c, r.p, r.nocase)
	}
	pm := b.build()
	return &pm
}

// addrCaps says which ends of a rule may be in the home set: src/dst
// [0] outside it, [1] in it.
type addrCaps struct{ src, dst [2]bool }

func addrCapsOf(c *csig, home *rules.AddrExpr) addrCaps {
	if home == nil {
		return addrCaps{src: [2]bool{true, true}, dst: [2]bool{true, true}}
	}
	var a addrCaps
	a.src[1], a.src[0] = c.rule.Src.Overlap(home)
	a.dst[1], a.dst[0] = c.rule.Dst.Overlap(home)
	return a
}

// may reports whether the rule can match a packet moving in d of a flow
// whose client and server are in the home set or not (clientHome,
// serverHome).
func (a addrCaps) may(d flow.Dir, clientHome, serverHome, bidir bool) bool {
	src, dst := clientHome, serverHome
	if d == flow.ToClient {
		src, dst = dst, src
	}
	return a.src[bit(src)] && a.dst[bit(dst)] || bidir && a.src[bit(dst)] && a.dst[bit(src)]
}

// homeSet returns the address set rule sides name most ($HOME_NET in
// every Suricata rule set), or nil when they all say any. Any set would
// split correctly; this one splits off the most rules.
func homeSet(sigs []*csig) *rules.AddrExpr {
	type seen struct {
		e *rules.AddrExpr
		n int
	}
	count := make(map[string]*seen)
	var best *seen
	for _, c := range sigs {
		for _, e := range []*rules.AddrExpr{c.rule.Src, c.rule.Dst} {
			if e.IsAny() {
				continue
			}
			k := e.SetKey()
			s := count[k]
			if s == nil {
				s = &seen{e: e}
				count[k] = s
			}
			if s.n++; best == nil || s.n > best.n {
				best = s
			}
		}
	}
	if best == nil {
		return nil
	}
	return best.e
}

// clientSpec returns c's port expression for the client end of a packet
// moving in d, or nil for a <> rule, whose either end may be the client.
func clientSpec(c *csig, d flow.Dir) *rules.PortExpr {
	if c.rule.Bidir {
		return nil
	}
	if d == flow.ToServer {
		return c.rule.SrcPorts
	}
	return c.rule.DstPorts
}

// clientNamed reports whether c names the client port of packets moving
// in d explicitly: it cannot match when that port is not among them.
func clientNamed(c *csig, d flow.Dir) bool {
	_, ok := clientSpec(c, d).Singles()
	return ok
}

// clientPorts returns every client port the rules of rs name for packets
// moving in d, ascending.
func clientPorts(rs []payRule, d flow.Dir) []uint16 {
	var ports []uint16
	for _, r := range rs {
		if named, ok := clientSpec(r.c, d).Singles(); ok {
			ports = append(ports, named...)
		}
	}
	slices.Sort(ports)
	return slices.Compact(ports)
}

// serverSpecs returns the port expressions of c that hold the port a
// packet moving in d has at the flow's server end (its destination going
// to the server, its source coming back; either for a <> rule).
func serverSpecs(c *csig, d flow.Dir) []*rules.PortExpr {
	r := c.rule
	near, far := r.DstPorts, r.SrcPorts
	if d == flow.ToClient {
		near, far = far, near
	}
	if r.Bidir {
		return []*rules.PortExpr{near, far}
	}
	return []*rules.PortExpr{near}
}

// serverPortMay reports whether c can match a packet moving in d of a
// flow whose server port is port.
func serverPortMay(c *csig, d flow.Dir, port uint16) bool {
	for _, e := range serverSpecs(c, d) {
		if e.Match(port) {
			return true
		}
	}
	return false
}

// otherPortMay reports whether c can match a packet moving in d of a flow
// whose server port is none of ports: unless its port expressions name
// only ports among them.
func otherPortMay(c *csig, d flow.Dir, ports []uint16) bool {
	for _, e := range serverSpecs(c, d) {
		named, ok := e.Singles()
		if !ok {
			return true
		}
		for _, p := range named {
			if _, in := slices.BinarySearch(ports, p); !in {
				return true
			}
		}
	}
	return false
}

// groupPorts picks the server ports that get a prefilter of their own:
// those most rules of rs name explicitly.
func groupPorts(rs []payRule, d flow.Dir) []uint16 {
	count := make(map[uint16]int)
	for _, r := range rs {
		seen := make(map[uint16]bool)
		for _, e := range serverSpecs(r.c, d) {
			named, ok := e.Singles()
			if !ok {
				continue
			}
			for _, p := range named {
				if !seen[p] {
					seen[p] = true
					count[p]++
				}
			}
		}
	}
	var ports []uint16
	for p, n := range count {
		if n >= minPortRules {
			ports = append(ports, p)
		}
	}
	slices.SortFunc(ports, func(a, b uint16) int {
		if count[a] != count[b] {
			return count[b] - count[a]
		}
		return int(a) - int(b)
	})
	ports = ports[:min(len(ports), maxPortGroups)]
	slices.Sort(ports)
	return ports
}

// fpAnchorEnd returns how far from the start of its buffer c's fast
// pattern must end, when an absolute offset/depth or startswith bounds it.
func (c *csig) fpAnchorEnd() (int, bool) {
	s := c.sig
	o := &s.Ops[s.FastPattern]
	if o.Relative || o.Negated || len(s.Transforms[o.Buf]) > 0 || o.Offset.Set && o.Offset.Var >= 0 {
		return 0, false
	}
	var end int64
	switch {
	case o.StartsWith:
		end = int64(len(o.Pat))
	case o.Depth.Set && o.Depth.Var < 0:
		end = o.Depth.V
	default:
		return 0, false
	}
	if o.Offset.Set {
		end += o.Offset.V
	}
	if end <= 0 || end > maxAnchorEnd {
		return 0, false
	}
	return int(end), true
}

// payloadBuilder collects the patterns of one payloadMpm.
type payloadBuilder struct {
	all, pkt, anch, anchPk mpm.Builder
	anchEnd                int
}

func (b *payloadBuilder) add(c *csig, p []byte, nocase bool) {
	id := uint32(c.num)
	if end, ok := c.fpAnchorEnd(); ok {
		b.anch.Add(p, nocase, id)
		if c.pktOnly {
			b.anchPk.Add(p, nocase, id)
		}
		b.anchEnd = max(b.anchEnd, end)
		return
	}
	b.all.Add(p, nocase, id)
	if c.pktOnly {
		b.pkt.Add(p, nocase, id)
	}
}

func (b *payloadBuilder) build() payloadMpm {
	build := func(bl *mpm.Builder) *mpm.Matcher {
		if bl.Len() == 0 {
			return nil
		}
		return bl.Build()
	}
	pm := payloadMpm{all: build(&b.all), pkt: build(&b.pkt), anch: build(&b.anch), anchPk: build(&b.anchPk), anchEnd: b.anchEnd}
	if pm.all != nil {
		pm.maxLen = pm.all.MaxLen()
	}
	return pm
}

// prefilterPayload proposes the rules whose payload fast pattern occurs in
// the packet's payload or in the stream window sbuf (whose first sold
// bytes were seen before).
func (w *Worker) prefilterPayload(pl *payloadMpm, fs *flowState, dir flow.Dir, payload, sbuf []byte, sold int, inStream bool) {
	all, anch := pl.all, pl.anch
	if inStream {
		// The payload of a packet whose bytes go to the stream only
		// matters to tcp-pkt/no_stream rules (match).
		all, anch = pl.pkt, pl.anchPk
	}
	// The prefilter only proposes candidates, so when the packet's
	// payload is the tail of the stream window (in-order data) the scan
	// of the window finds them all; anchored patterns are relative to the
	// payload's own start, so its prefix is scanned regardless.
	if all != nil && len(payload) > 0 && !(len(sbuf) > 0 && bytes.HasSuffix(sbuf, payload)) {
		all.Scan(payload, &w.msc, w.onHit)
	}
	pl.scanAnchored(anch, payload, w)
	if len(sbuf) > 0 {
		if pl.all != nil {
			w.scanStream(&fs.scan[dir&1], pl.all, pl.maxLen, sbuf, sold)
		}
		pl.scanAnchored(pl.anch, sbuf, w)
	}
}

// prefilterData proposes the rules whose payload fast pattern occurs in
// data, a stream chunk inspected on its own (flush.go).
func (w *Worker) prefilterData(pl *payloadMpm, data []byte) {
	if pl.all != nil {
		pl.all.Scan(data, &w.msc, w.onHit)
	}
	pl.scanAnchored(pl.anch, data, w)
}
