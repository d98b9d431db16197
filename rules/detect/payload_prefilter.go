package detect

import (
	"bytes"

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

// payload returns the payload prefilter for a packet of f moving in dir
// (f nil: a packet without a flow).
func (g *group) payload(f *flow.Flow, dir flow.Dir) *payloadMpm {
	if f == nil {
		return &g.pay[payNoFlow]
	}
	return &g.pay[dir&1]
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
