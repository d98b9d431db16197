package dns

import "encoding/binary"

// StreamStats counts what a StreamParser saw.
type StreamStats struct {
	Messages  uint64 // messages handed to the callback
	Malformed uint64 // messages whose Parse returned an error (still handed on)
	Empty     uint64 // zero-length frames, skipped
}

// StreamParser splits the two reassembled byte streams of a DNS-over-TCP
// connection into messages (RFC 1035 4.2.2: each is preceded by its length
// as two bytes). Frames may be split at any byte across Feed calls. The
// zero value is ready to use; one StreamParser belongs to one connection.
type StreamParser struct {
	half  [2]streamHalf
	msg   Message
	stats StreamStats
}

type streamHalf struct {
	buf []byte // an incomplete frame, including its length prefix
}

// Feed consumes data moving in dir and calls fn for every complete message,
// including malformed ones (check their Anomalies). The *Message is reused:
// fn must copy what it keeps.
func (s *StreamParser) Feed(dir Dir, data []byte, fn func(*Message)) {
	h := &s.half[dir&1]
	if len(h.buf) > 0 {
		// Complete the pending frame first, copying only what it needs.
		if len(h.buf) < 2 {
			n := min(2-len(h.buf), len(data))
			h.buf = append(h.buf, data[:n]...)
			data = data[n:]
			if len(h.buf) < 2 {
				return
			}
		}
		want := 2 + int(binary.BigEndian.Uint16(h.buf))
		n := min(want-len(h.buf), len(data))
		h.buf = append(h.buf, data[:n]...)
		data = data[n:]
		if len(h.buf) < want {
			return
		}
		s.deliver(h.buf[2:], fn)
		h.buf = h.buf[:0]
	}
	// Whole frames are parsed straight from the caller's bytes.
	for len(data) >= 2 {
		want := 2 + int(binary.BigEndian.Uint16(data))
		if len(data) < want {
			break
		}
		s.deliver(data[2:want], fn)
		data = data[want:]
	}
	h.buf = append(h.buf, data...)
}

func (s *StreamParser) deliver(frame []byte, fn func(*Message)) {
	if len(frame) == 0 {
		s.stats.Empty++
		return
	}
	if err := Parse(frame, &s.msg); err != nil {
		s.stats.Malformed++
	}
	s.stats.Messages++
	if fn != nil {
		fn(&s.msg)
	}
}

// Stats returns the counters so far.
func (s *StreamParser) Stats() StreamStats { return s.stats }

// Pending reports how many bytes of an incomplete frame dir holds.
func (s *StreamParser) Pending(dir Dir) int { return len(s.half[dir&1].buf) }
