package stream

import "github.com/tapwatch/tapwatch/rules/decode"

// span is a buffered range of stream offsets, [start, end).
type span struct{ start, end uint64 }

// half is one direction's reassembly state. Stream offsets count bytes from
// the initial sequence number, so they do not wrap where sequence numbers
// do: seq nextSeq is offset off.
type half struct {
	init         bool
	fin          bool
	depthReached bool
	ackValid     bool
	nextSeq      uint32 // sequence number of the next byte to deliver
	depth        uint64 // Config.Depth, so helpers need no Config
	high         uint32 // end of the furthest segment this side sent
	highValid    bool
	ack          uint32 // furthest acknowledgement the peer sent for this direction
	off          uint64 // stream offset of nextSeq
	// With Config.AckGate: ackOff is the stream offset the peer
	// acknowledged up to, raw the offset up to which bytes were returned;
	// bytes in [raw, off) wait in win.
	ackOff, raw uint64
	policy      Policy // the receiving host's overlap policy

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
}

// keepBuffered is the largest out-of-order buffer a reused session keeps:
// a rare burst of loss on one flow should not pin its peak memory to the
// pool for good.
const keepBuffered = 64 << 10

// reuse resets h but keeps old's buffers.
func (h *half) reuse(old *half) {
	if cap(old.buf) <= keepBuffered {
		h.buf = old.buf[:0]
	}
	h.ranges = old.ranges[:0]
	h.win = old.win[:0]
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
	h.head = 0
	h.buf = h.buf[:0]
	h.ranges = h.ranges[:0]
	h.win = h.win[:0]
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
	if !s.cfg.AckGate {
		return out
	}
	// An asymmetric session never sees the acknowledgements; and bytes
	// waiting longer than half the window holds would be lost to
	// inspection (a peer that never acknowledges, a one-sided capture), so
	// they go unacknowledged.
	h := &s.half[dir&1]
	return h.release(s.Closed() || s.async || h.off-h.raw >= uint64(s.cfg.Window/2))
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
	if held := uint64(len(h.win)); h.off-start > held {
		start = h.off - held // the window lost the oldest pending bytes
	}
	h.raw = end
	if start >= end {
		return nil
	}
	w := len(h.win)
	return h.win[w-int(h.off-start) : w-int(h.off-end)]
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
	h := &s.half[dir]
	h.compact()
	if s.state == StateSynSent && dir == s.synDir && s.synData > 0 && len(p.Payload) == int(s.synData) &&
		p.TCPFlags&(decode.TCPSyn|decode.TCPAck) == decode.TCPSyn && h.init && h.off == 0 && p.TCPSeq+1 == h.nextSeq {
		// TCP Fast Open: the SYN's data starts the client's stream. It waits
		// in the out-of-order buffer until the session is established (and
		// goes if the SYN/ACK shows the server dropped it).
		h.stats.Segments++
		data := p.Payload
		if uint64(len(data)) > h.depth {
			data = data[:h.depth]
		}
		h.insert(0, data, &s.cfg)
		return nil
	}
	if !s.est || s.rst {
		if len(p.Payload) > 0 {
			h.stats.NotTracked++
		}
		return nil
	}
	depth := uint64(s.cfg.Depth)
	if len(p.Payload) == 0 {
		// The peer may have acknowledged past a hole since this direction's
		// last segment: release what waits behind it (often before a FIN).
		if len(h.ranges) > 0 && h.acked(h.ranges[0].start) {
			h.skip(h.ranges[0].start - h.off)
		}
		return h.pop(s.cfg.History, s.cfg.AckGate)
	}
	seq := p.TCPSeq
	if p.TCPFlags&decode.TCPSyn != 0 {
		seq++ // data on a SYN (TCP Fast Open) follows the SYN's sequence number
	}
	if !h.init {
		// Midstream, this direction's first data with no ACK to place it.
		h.start(seq)
	}
	h.stats.Segments++
	if h.depthReached {
		return nil
	}
	data := p.Payload
	rel := int32(seq - h.nextSeq)
	if rel < 0 {
		old := -int64(rel)
		if s.cfg.AckGate && h.policy != PolicyFirst && uint64(old) <= h.off {
			h.overwritePending(h.off-uint64(old), data)
		}
		if old >= int64(len(data)) {
			h.stats.Retransmitted++
			return nil
		}
		h.stats.Overlaps++
		data = data[old:]
		rel = 0
	}
	if rel > 0 {
		// A hole before this segment (or before buffered data) that the
		// receiver acknowledged was lost by the capture, not the network:
		// skip it rather than stall the stream for good.
		target := h.off + uint64(rel)
		if len(h.ranges) > 0 {
			target = min(target, h.ranges[0].start)
		}
		if h.acked(target) {
			h.skip(target - h.off)
			if h.depthReached {
				return nil
			}
			rel = int32(seq - h.nextSeq)
		}
	}
	start := h.off + uint64(rel)
	end := start + uint64(len(data))

	if rel == 0 && (len(h.ranges) == 0 || end < h.ranges[0].start) {
		h.stats.InOrder++
		if end > depth {
			data = data[:depth-start]
		}
		if len(h.ranges) > 0 {
			h.head += len(data) // keep buffered bytes at their index
		}
		h.advance(uint64(len(data)), depth)
		h.remember(data, s.cfg.History, s.cfg.AckGate)
		return data
	}

	if end > depth {
		if start >= depth {
			return nil
		}
		data = data[:depth-start]
	}
	if rel > 0 {
		h.stats.OutOfOrder++
	}
	h.insert(start, data, &s.cfg)
	return h.pop(s.cfg.History, s.cfg.AckGate)
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
	if s.cfg.AckGate {
		if b := h.release(true); len(b) > 0 {
			return b
		}
	}
	h.compact()
	if len(h.ranges) == 0 || h.depthReached {
		return nil
	}
	h.skip(h.ranges[0].start - h.off)
	out := h.pop(s.cfg.History, s.cfg.AckGate)
	if s.cfg.AckGate {
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
	if !s.cfg.AckGate {
		return nil
	}
	return s.half[dir&1].release(true)
}

// acked reports whether the peer acknowledged every byte before offset x.
func (h *half) acked(x uint64) bool {
	return h.ackValid && int64(int32(h.ack-h.nextSeq)) >= int64(x-h.off)
}

// skip jumps over a hole of n bytes the capture never delivered.
func (h *half) skip(n uint64) {
	if n == 0 {
		return
	}
	h.stats.Gaps++
	h.stats.GapBytes += n
	if len(h.ranges) > 0 {
		h.head += int(n) // keep buffered bytes at their index
	}
	h.off += n
	h.nextSeq += uint32(n)
	h.win = h.win[:0] // the window must not join bytes across the hole
	h.raw = h.off     // bytes pending before the hole left with the window
	h.advance(0, h.depth)
}

// pop delivers the buffered range that starts at the stream's next byte.
func (h *half) pop(hist int, gated bool) []byte {
	if len(h.ranges) == 0 || h.ranges[0].start != h.off || h.depthReached {
		return nil
	}
	n := h.ranges[0].end - h.ranges[0].start
	out := h.buf[h.head : h.head+int(n)]
	h.head += int(n)
	h.ranges = append(h.ranges[:0], h.ranges[1:]...)
	h.advance(n, h.depth)
	h.remember(out, hist, gated)
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
		h.ranges = h.ranges[:0]
	}
}

// compact drops delivered bytes from the front of the out-of-order buffer;
// it runs at the start of a call, once the previous result may be reused.
func (h *half) compact() {
	if len(h.ranges) == 0 {
		h.buf, h.head = h.buf[:0], 0
		return
	}
	if h.head == 0 {
		return
	}
	n := copy(h.buf, h.buf[h.head:])
	h.buf, h.head = h.buf[:n], 0
}

// insert stores data at stream offset start (≥ h.off) into the out-of-order
// buffer, keeping bytes already held (first data wins).
func (h *half) insert(start uint64, data []byte, cfg *Config) {
	end := start + uint64(len(data))
	limit := h.off + uint64(cfg.MaxBuffered)
	if end > limit {
		h.stats.DroppedSegs++
		if start >= limit {
			h.stats.DroppedBytes += uint64(len(data))
			return
		}
		h.stats.DroppedBytes += end - limit
		data = data[:limit-start]
		end = limit
	}
	// Ranges i..j-1 overlap or touch [start, end) and merge with it.
	i := 0
	for i < len(h.ranges) && h.ranges[i].end < start {
		i++
	}
	j := i
	for j < len(h.ranges) && h.ranges[j].start <= end {
		j++
	}
	if i == j && len(h.ranges) >= cfg.MaxSegments {
		h.stats.DroppedSegs++
		h.stats.DroppedBytes += uint64(len(data))
		return
	}
	if need := h.head + int(end-h.off); need > len(h.buf) {
		h.buf = grow(h.buf, need)
	}
	// Copy only into the holes between existing ranges.
	cur := start
	for k := i; k < j; k++ {
		r := h.ranges[k]
		if r.start > cur {
			h.put(cur, data[cur-start:r.start-start])
		}
		if r.start < end && r.end > start {
			h.stats.Overlaps++
		}
		if r.end > cur {
			cur = r.end
		}
	}
	if cur < end {
		h.put(cur, data[cur-start:])
	}
	merged := span{start, end}
	if i < j {
		merged.start = min(merged.start, h.ranges[i].start)
		merged.end = max(merged.end, h.ranges[j-1].end)
		h.ranges[i] = merged
		h.ranges = append(h.ranges[:i+1], h.ranges[j:]...)
		return
	}
	h.ranges = append(h.ranges, span{})
	copy(h.ranges[i+1:], h.ranges[i:])
	h.ranges[i] = merged
}

func (h *half) put(at uint64, b []byte) {
	copy(h.buf[h.head+int(at-h.off):], b)
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
// buffer is full, so each byte is copied a bounded number of times.
func (h *half) remember(b []byte, hist int, gated bool) {
	if len(h.win)+len(b) <= cap(h.win) {
		h.win = append(h.win, b...)
		return
	}
	keep := hist
	if pending := int(h.off-h.raw) - len(b); gated && pending > keep {
		keep = pending
	}
	if keep < len(h.win) {
		n := copy(h.win, h.win[len(h.win)-keep:])
		h.win = h.win[:n]
	}
	if len(h.win)+len(b) > cap(h.win) {
		nb := make([]byte, len(h.win), max(2*(len(h.win)+len(b)), min(4*hist, 512)))
		copy(nb, h.win)
		h.win = nb
	}
	h.win = append(h.win, b...)
}
