package stream

import "github.com/tapwatch/tapwatch/rules/decode"

// span is a buffered range of stream offsets, [start, end).
type span struct{ start, end uint64 }

// half is one direction's state. Stream offsets count bytes from the
// initial sequence number, so they do not wrap where sequence numbers do:
// seq nextSeq is offset off.
//
// Sequence tracking is kept inline for every session; what only a
// direction carrying data needs (buffers and counters) is in r, which
// stays nil until then: most TCP sessions a sensor sees (scans, refused
// or idle connections) never carry a byte, and a flow table holds tens of
// thousands of them.
type half struct {
	init         bool
	fin          bool
	depthReached bool
	ackValid     bool
	highValid    bool
	policy       Policy // the receiving host's overlap policy
	nextSeq      uint32 // sequence number of the next byte to deliver
	high         uint32 // end of the furthest segment this side sent
	ack          uint32 // furthest acknowledgement the peer sent for this direction
	off          uint64 // stream offset of nextSeq
	// With Config.AckGate: ackOff is the stream offset the peer
	// acknowledged up to, raw the offset up to which bytes were returned;
	// bytes in [raw, off) wait in win.
	ackOff, raw uint64

	r *reasm // nil until needed (Session.reasm)
}

// reasm is a direction's reassembly buffers and counters.
type reasm struct {
	// Out-of-order data: buf[head+(x-off)] holds the byte at offset x for x
	// inside one of ranges (sorted, disjoint, not touching, all above off).
	// head lets a delivered slice stay valid until the next call, which
	// compacts.
	buf    []byte
	head   int
	ranges []span

	// win holds the most recent delivered bytes (up to 2×Window, trimmed to
	// Window when full) so Window can return a contiguous slice.
	win []byte

	stats Stats

	next *reasm // Pool's free list
}

// keepBuffered is the largest out-of-order buffer recycled reassembly
// state keeps: a rare burst of loss on one flow should not pin its peak
// memory to the pool for good.
const keepBuffered = 64 << 10

// clear empties r for another session, keeping its buffers (nil stays nil).
func (r *reasm) clear() *reasm {
	if r == nil {
		return nil
	}
	buf := r.buf[:0]
	if cap(buf) > keepBuffered {
		buf = nil
	}
	*r = reasm{buf: buf, ranges: r.ranges[:0], win: r.win[:0]}
	return r
}

// window returns the delivered bytes h remembers.
func (h *half) window() []byte {
	if h.r == nil {
		return nil
	}
	return h.r.win
}

// pending returns h's buffered out-of-order ranges.
func (h *half) pending() []span {
	if h.r == nil {
		return nil
	}
	return h.r.ranges
}

// rstSlack is how far around this side's known sequence space an RST may
// fall and still count: generous, since we do not track receive windows,
// yet a blind forged RST lands in it about once in a thousand tries.
const rstSlack = 1 << 21

// rstInWindow reports whether an RST with seq belongs to this side's
// sequence space: from a little before the next byte to a little past
// the furthest byte it sent.
func (h *half) rstInWindow(seq uint32) bool {
	hi := h.nextSeq
	if h.highValid && int32(h.high-hi) > 0 {
		hi = h.high
	}
	return int32(seq-h.nextSeq) >= -rstSlack && int32(seq-hi) <= rstSlack
}

// start sets the next expected sequence number; the stream starts there.
func (h *half) start(next uint32) {
	h.init = true
	h.nextSeq = next
	h.off = 0
	h.ackOff, h.raw = 0, 0
	if r := h.r; r != nil {
		r.head = 0
		r.buf = r.buf[:0]
		r.ranges = r.ranges[:0]
		r.win = r.win[:0]
	}
}

// Process updates the connection with p travelling in dir. It returns the
// in-order bytes of dir's stream that p made available (possibly including
// earlier out-of-order segments it completed), or nil. The slice is valid
// until the next call. In the common in-order case it is a subslice of
// p.Payload and nothing is copied except into the Window buffer.
//
// Data counts only once the session is established (after the handshake,
// or at once when picked up midstream); retransmitted and overlapping bytes
// are delivered once, the first copy seen wins.
//
// With Config.AckGate the bytes are returned only once the peer
// acknowledged them (or the connection closed), on a later packet of the
// same direction; Drain returns what is left when the flow ends.
func (s *Session) Process(p *decode.Packet, dir Dir) []byte {
	out := s.process(p, dir)
	cfg := &s.pool.cfg
	if !cfg.AckGate {
		return out
	}
	// An asymmetric session never sees the acknowledgements; and bytes
	// waiting longer than half the window holds would be lost to
	// inspection (a peer that never acknowledges, a one-sided capture), so
	// they go unacknowledged.
	h := &s.half[dir&1]
	return h.release(s.Closed() || s.async || h.off-h.raw >= uint64(cfg.Window/2))
}

// release returns the delivered bytes not yet returned that the peer
// acknowledged (all of them when all is set), as far as the window still
// holds them.
func (h *half) release(all bool) []byte {
	end := h.off
	if !all {
		end = min(end, h.ackOff)
	}
	if end <= h.raw {
		return nil
	}
	start := h.raw
	win := h.window()
	if held := uint64(len(win)); h.off-start > held {
		start = h.off - held // the window lost the oldest pending bytes
	}
	h.raw = end
	if start >= end {
		return nil
	}
	w := len(win)
	return win[w-int(h.off-start) : w-int(h.off-end)]
}

// noteAck records that the peer acknowledged this direction up to seq.
func (h *half) noteAck(seq uint32) {
	off := int64(h.off) + int64(int32(seq-h.nextSeq))
	if off > int64(h.ackOff) {
		h.ackOff = uint64(off)
	}
}

func (s *Session) process(p *decode.Packet, dir Dir) []byte {
	if !s.tracked {
		s.Track(p, dir)
	}
	s.tracked = false
	dir &= 1
	cfg := &s.pool.cfg
	h := &s.half[dir]
	h.compact()
	if s.state == StateSynSent && dir == s.synDir && s.synData > 0 && len(p.Payload) == int(s.synData) &&
		p.TCPFlags&(decode.TCPSyn|decode.TCPAck) == decode.TCPSyn && h.init && h.off == 0 && p.TCPSeq+1 == h.nextSeq {
		// TCP Fast Open: the SYN's data starts the client's stream. It waits
		// in the out-of-order buffer until the session is established (and
		// goes if the SYN/ACK shows the server dropped it).
		s.reasm(h).stats.Segments++
		data := p.Payload
		if len(data) > cfg.Depth {
			data = data[:cfg.Depth]
		}
		h.insert(0, data, cfg)
		return nil
	}
	if !s.est || s.rst {
		if len(p.Payload) > 0 {
			s.reasm(h).stats.NotTracked++
		}
		return nil
	}
	depth := uint64(cfg.Depth)
	if len(p.Payload) == 0 {
		// The peer may have acknowledged past a hole since this direction's
		// last segment: release what waits behind it (often before a FIN).
		if rs := h.pending(); len(rs) > 0 && h.acked(rs[0].start) {
			h.skip(rs[0].start-h.off, depth)
		}
		return h.pop(cfg)
	}
	seq := p.TCPSeq
	if p.TCPFlags&decode.TCPSyn != 0 {
		seq++ // data on a SYN (TCP Fast Open) follows the SYN's sequence number
	}
	if !h.init {
		// Midstream, this direction's first data with no ACK to place it.
		h.start(seq)
	}
	r := s.reasm(h)
	r.stats.Segments++
	if h.depthReached {
		return nil
	}
	data := p.Payload
	rel := int32(seq - h.nextSeq)
	if rel < 0 {
		old := -int64(rel)
		if cfg.AckGate && h.policy != PolicyFirst && uint64(old) <= h.off {
			h.overwritePending(h.off-uint64(old), data)
		}
		if old >= int64(len(data)) {
			r.stats.Retransmitted++
			return nil
		}
		r.stats.Overlaps++
		data = data[old:]
		rel = 0
	}
	if rel > 0 {
		// A hole before this segment (or before buffered data) that the
		// receiver acknowledged was lost by the capture, not the network:
		// skip it rather than stall the stream for good.
		target := h.off + uint64(rel)
		if len(r.ranges) > 0 {
			target = min(target, r.ranges[0].start)
		}
		if h.acked(target) {
			h.skip(target-h.off, depth)
			if h.depthReached {
				return nil
			}
			rel = int32(seq - h.nextSeq)
		}
	}
	start := h.off + uint64(rel)
	end := start + uint64(len(data))

	if rel == 0 && (len(r.ranges) == 0 || end < r.ranges[0].start) {
		r.stats.InOrder++
		if end > depth {
			data = data[:depth-start]
		}
		if len(r.ranges) > 0 {
			r.head += len(data) // keep buffered bytes at their index
		}
		h.advance(uint64(len(data)), depth)
		h.remember(data, cfg.History, cfg.AckGate)
		return data
	}

	if end > depth {
		if start >= depth {
			return nil
		}
		data = data[:depth-start]
	}
	if rel > 0 {
		r.stats.OutOfOrder++
	}
	h.insert(start, data, cfg)
	return h.pop(cfg)
}

// Drain gives up waiting for dir's holes to fill: it skips to the next
// buffered data and returns it (nil when nothing waits). The engine calls
// it in a loop when a flow ends, so data behind a lost segment is still
// inspected. The slice is valid until the next call.
func (s *Session) Drain(dir Dir) []byte {
	h := &s.half[dir&1]
	if !s.est {
		return nil // e.g. Fast Open data on a SYN never answered
	}
	cfg := &s.pool.cfg
	if cfg.AckGate {
		if b := h.release(true); len(b) > 0 {
			return b
		}
	}
	h.compact()
	rs := h.pending()
	if len(rs) == 0 || h.depthReached {
		return nil
	}
	h.skip(rs[0].start-h.off, uint64(cfg.Depth))
	out := h.pop(cfg)
	if cfg.AckGate {
		h.raw = h.off
	}
	return out
}

// Release returns dir's bytes still waiting for their acknowledgement
// (Config.AckGate), without skipping holes: the engine calls it when the
// connection closes, so data the closing packets did not release is still
// parsed before the app layer hears the close. The slice is valid until the
// next call.
func (s *Session) Release(dir Dir) []byte {
	if !s.pool.cfg.AckGate {
		return nil
	}
	return s.half[dir&1].release(true)
}

// acked reports whether the peer acknowledged every byte before offset x.
func (h *half) acked(x uint64) bool {
	return h.ackValid && int64(int32(h.ack-h.nextSeq)) >= int64(x-h.off)
}

// skip jumps over a hole of n bytes the capture never delivered. Only a
// direction that holds data or sends it has holes: h.r is set.
func (h *half) skip(n, depth uint64) {
	if n == 0 {
		return
	}
	r := h.r
	r.stats.Gaps++
	r.stats.GapBytes += n
	if len(r.ranges) > 0 {
		r.head += int(n) // keep buffered bytes at their index
	}
	h.off += n
	h.nextSeq += uint32(n)
	r.win = r.win[:0] // the window must not join bytes across the hole
	h.raw = h.off     // bytes pending before the hole left with the window
	h.advance(0, depth)
}

// pop delivers the buffered range that starts at the stream's next byte.
func (h *half) pop(cfg *Config) []byte {
	rs := h.pending()
	if len(rs) == 0 || rs[0].start != h.off || h.depthReached {
		return nil
	}
	r := h.r
	n := rs[0].end - rs[0].start
	out := r.buf[r.head : r.head+int(n)]
	r.head += int(n)
	r.ranges = append(rs[:0], rs[1:]...)
	h.advance(n, uint64(cfg.Depth))
	h.remember(out, cfg.History, cfg.AckGate)
	return out
}

// advance moves the stream n bytes on.
func (h *half) advance(n, depth uint64) {
	h.off += n
	h.nextSeq += uint32(n)
	if h.ackValid && int32(h.ack-h.nextSeq) <= 0 {
		// Forget acknowledgements we have passed: 2 GiB later the same
		// number would read as one far ahead and open a false gap.
		h.ackValid = false
	}
	if h.off >= depth {
		h.depthReached = true
		if h.r != nil {
			h.r.ranges = h.r.ranges[:0]
		}
	}
}

// compact drops delivered bytes from the front of the out-of-order buffer;
// it runs at the start of a call, once the previous result may be reused.
func (h *half) compact() {
	r := h.r
	if r == nil {
		return
	}
	if len(r.ranges) == 0 {
		r.buf, r.head = r.buf[:0], 0
		return
	}
	if r.head == 0 {
		return
	}
	n := copy(r.buf, r.buf[r.head:])
	r.buf, r.head = r.buf[:n], 0
}

// insert stores data at stream offset start (≥ h.off) into the out-of-order
// buffer, keeping bytes already held (first data wins). h.r is set.
func (h *half) insert(start uint64, data []byte, cfg *Config) {
	r := h.r
	end := start + uint64(len(data))
	limit := h.off + uint64(cfg.MaxBuffered)
	if end > limit {
		r.stats.DroppedSegs++
		if start >= limit {
			r.stats.DroppedBytes += uint64(len(data))
			return
		}
		r.stats.DroppedBytes += end - limit
		data = data[:limit-start]
		end = limit
	}
	// Ranges i..j-1 overlap or touch [start, end) and merge with it.
	i := 0
	for i < len(r.ranges) && r.ranges[i].end < start {
		i++
	}
	j := i
	for j < len(r.ranges) && r.ranges[j].start <= end {
		j++
	}
	if i == j && len(r.ranges) >= cfg.MaxSegments {
		r.stats.DroppedSegs++
		r.stats.DroppedBytes += uint64(len(data))
		return
	}
	if need := r.head + int(end-h.off); need > len(r.buf) {
		r.buf = grow(r.buf, need)
	}
	// Copy only into the holes between existing ranges.
	cur := start
	for k := i; k < j; k++ {
		x := r.ranges[k]
		if x.start > cur {
			h.put(cur, data[cur-start:x.start-start])
		}
		if x.start < end && x.end > start {
			r.stats.Overlaps++
		}
		if x.end > cur {
			cur = x.end
		}
	}
	if cur < end {
		h.put(cur, data[cur-start:])
	}
	merged := span{start, end}
	if i < j {
		merged.start = min(merged.start, r.ranges[i].start)
		merged.end = max(merged.end, r.ranges[j-1].end)
		r.ranges[i] = merged
		r.ranges = append(r.ranges[:i+1], r.ranges[j:]...)
		return
	}
	r.ranges = append(r.ranges, span{})
	copy(r.ranges[i+1:], r.ranges[i:])
	r.ranges[i] = merged
}

func (h *half) put(at uint64, b []byte) {
	copy(h.r.buf[h.r.head+int(at-h.off):], b)
}

// grow extends b to length n, keeping its contents.
func grow(b []byte, n int) []byte {
	if n <= cap(b) {
		return b[:n]
	}
	nb := make([]byte, n, max(n, 2*cap(b)))
	copy(nb, b)
	return nb
}

// remember appends delivered bytes b to the window buffer, which keeps
// them whole, hist bytes delivered before them, and, when gated
// (Config.AckGate), every byte not yet returned. It compacts only when the
// buffer is full, so each byte is copied a bounded number of times. h.r is
// set.
func (h *half) remember(b []byte, hist int, gated bool) {
	r := h.r
	if len(r.win)+len(b) <= cap(r.win) {
		r.win = append(r.win, b...)
		return
	}
	keep := hist
	if pending := int(h.off-h.raw) - len(b); gated && pending > keep {
		keep = pending
	}
	if keep < len(r.win) {
		n := copy(r.win, r.win[len(r.win)-keep:])
		r.win = r.win[:n]
	}
	if len(r.win)+len(b) > cap(r.win) {
		nb := make([]byte, len(r.win), max(2*(len(r.win)+len(b)), min(4*hist, 512)))
		copy(nb, r.win)
		r.win = nb
	}
	r.win = append(r.win, b...)
}
