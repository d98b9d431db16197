package detect

import (
	"net/netip"
	"time"

	"github.com/tapwatch/tapwatch/rules/decode"
	"github.com/tapwatch/tapwatch/rules/keyword"
)

// threshKey identifies one threshold counter: a rule and the tracked
// address(es).
type threshKey struct {
	gid, sid uint32
	filter   bool
	a, b     netip.Addr
}

type threshState struct {
	start  time.Time
	window time.Duration // 0: the counter never restarts
	count  uint32
	done   bool // ThBoth already alerted in this window
	ports  map[uint16]struct{}
}

// thresholdOK applies threshold and detection_filter, counting in packet
// time, and reports whether the match may alert.
func (w *Worker) thresholdOK(c *csig, p *decode.Packet) bool {
	s := c.sig
	if s.Filter != nil && !w.count(c, s.Filter, p, true) {
		return false
	}
	if s.Threshold != nil && !w.count(c, s.Threshold, p, false) {
		return false
	}
	return true
}

// count counts a match of c in the counter t tracks, in the state the
// Engine's Workers share (hoststate.go).
func (w *Worker) count(c *csig, t *keyword.Threshold, p *decode.Packet, filter bool) bool {
	h := w.e.hosts
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.count(c, t, p, filter)
}

func (h *hostState) count(c *csig, t *keyword.Threshold, p *decode.Packet, filter bool) bool {
	k := threshKey{gid: c.gid, sid: c.sid, filter: filter}
	k.a, k.b = tracked(p, t.Track)
	now := p.Timestamp
	win := time.Duration(t.Seconds) * time.Second
	st, ok := h.thresh[k]
	if !ok {
		if h.thresh == nil {
			h.thresh = map[threshKey]*threshState{}
		}
		if len(h.thresh) >= threshMax && now.Sub(h.swept) >= time.Second {
			h.sweepLocked(now)
		}
		for k := range h.thresh {
			if len(h.thresh) < threshMax {
				break
			}
			// Still full of live counters: one goes, as a full host
			// table in Suricata stops tracking.
			delete(h.thresh, k)
			h.evictedThresh++
		}
		st = &threshState{start: now, window: win}
		h.thresh[k] = st
	}
	if now.Sub(st.start) >= win && t.Seconds > 0 {
		st.start, st.count, st.done = now, 0, false
		clear(st.ports)
	}
	if t.UniqueOn != 0 {
		port := p.SrcPort
		if t.UniqueOn == 2 {
			port = p.DstPort
		}
		if st.ports == nil {
			st.ports = map[uint16]struct{}{}
		}
		if _, dup := st.ports[port]; dup {
			return t.Type == keyword.ThDetection && st.count > t.Count
		}
		st.ports[port] = struct{}{}
	}
	st.count++
	switch t.Type {
	case keyword.ThLimit:
		return st.count <= t.Count
	case keyword.ThThreshold:
		if st.count >= t.Count {
			st.count = 0
			st.start = now
			return true
		}
		return false
	case keyword.ThBoth:
		if st.count >= t.Count && !st.done {
			st.done = true
			return true
		}
		return false
	case keyword.ThDetection:
		return st.count > t.Count
	}
	return true
}

// tracked returns the address(es) per-host state is kept under for p: its
// source, its destination, or the pair in a fixed order so both directions
// share it (b is invalid unless TrackBoth).
func tracked(p *decode.Packet, t keyword.Track) (a, b netip.Addr) {
	switch t {
	case keyword.TrackSrc:
		return p.SrcIP, netip.Addr{}
	case keyword.TrackDst:
		return p.DstIP, netip.Addr{}
	case keyword.TrackBoth:
		a, b = p.SrcIP, p.DstIP
		if b.Less(a) {
			a, b = b, a
		}
	}
	return a, b
}
