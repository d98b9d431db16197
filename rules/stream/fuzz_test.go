package stream

import (
	"encoding/binary"
	"testing"

	"github.com/tapwatch/tapwatch/rules/decode"
)

// content is the byte a segment of the given variant carries at stream
// offset off; segments of different variants disagree, so "first data wins"
// is observable.
func content(variant byte, off uint64) byte { return byte(off*7+off>>8) ^ variant*0x5b }

// FuzzStream feeds random segment sequences. In reference mode the segments
// are slices of known content at known offsets, and every byte Process
// delivers must be the first copy the session saw of that offset; without
// gaps, everything contiguous from the start (up to depth) must come out.
// In chaos mode arbitrary packets only have to not panic.
func FuzzStream(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 0, 0, 10, 0, 0, 5, 0, 1, 0, 0, 5, 0})
	f.Add([]byte{2, 0xff, 0xff, 0xff, 0xf0, 200, 0, 20, 0, 8, 1, 0, 0, 0, 30, 2, 0, 4, 0, 10, 3})
	f.Add([]byte{1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20})
	f.Add([]byte{4, 0, 0, 0, 1, 0, 0, 3, 0, 3, 0, 0, 0, 0, 3, 0x81, 0, 9, 0, 4, 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) < 6 {
			return
		}
		mode := in[0]
		if mode&1 != 0 {
			chaos(in[1:])
			return
		}
		midstream := mode&2 != 0
		isn := binary.BigEndian.Uint32(in[1:5])
		depth := int(in[5])*16 + 1
		if mode&4 != 0 {
			depth = 0 // default 1 MiB
		}
		// The session and its buffers come back from a pool, after a
		// session that left bytes of its own in them.
		pool := NewPool(Config{Depth: depth, Midstream: midstream, MaxSegments: 1 << 16, MaxBuffered: 1 << 20})
		pool.Put(dirty(pool))
		pool.Put(dirty(pool))
		s := pool.Get()
		if midstream {
			// Pick up with a bare ACK at isn, so the stream starts at isn.
			s.Process(&decode.Packet{IPProto: decode.ProtoTCP, L4Header: []byte{0}, TCPSeq: isn, TCPAck: 1, TCPFlags: ack}, ToServer)
		} else {
			s.Process(&decode.Packet{IPProto: decode.ProtoTCP, L4Header: []byte{0}, TCPSeq: isn - 1, TCPFlags: syn}, ToServer)
			s.Process(&decode.Packet{IPProto: decode.ProtoTCP, L4Header: []byte{0}, TCPSeq: 7, TCPAck: isn, TCPFlags: synack}, ToClient)
			s.Process(&decode.Packet{IPProto: decode.ProtoTCP, L4Header: []byte{0}, TCPSeq: isn, TCPAck: 8, TCPFlags: ack}, ToServer)
		}
		if !s.Established() {
			t.Fatal("not established")
		}
		// first[x] is 1 + the first byte seen at offset x, 0 when none.
		first := make([]uint16, 1<<16+1500)
		var delivered uint64
		buf := make([]byte, 0, 1024)
		rest := in[6:]
		for len(rest) >= 5 {
			off := uint64(binary.BigEndian.Uint16(rest[0:2]))
			n := int(binary.BigEndian.Uint16(rest[2:4]) % 1500)
			variant := rest[4]
			rest = rest[5:]
			if variant&0x80 != 0 {
				// A peer ACK, possibly past holes: gaps get skipped.
				s.Process(&decode.Packet{IPProto: decode.ProtoTCP, L4Header: []byte{0}, TCPSeq: 8,
					TCPAck: isn + uint32(off), TCPFlags: ack}, ToClient)
				continue
			}
			buf = buf[:0]
			for i := 0; i < n; i++ {
				buf = append(buf, content(variant, off+uint64(i)))
			}
			for i := 0; i < n; i++ {
				if x := off + uint64(i); first[x] == 0 && x >= s.Offset(ToServer) {
					first[x] = 1 + uint16(buf[i])
				}
			}
			p := &decode.Packet{IPProto: decode.ProtoTCP, L4Header: []byte{0}, TCPSeq: isn + uint32(off),
				TCPAck: 8, TCPFlags: ack, Payload: buf}
			out := s.Process(p, ToServer)
			end := s.Offset(ToServer)
			start := end - uint64(len(out))
			for i, b := range out {
				if want := first[start+uint64(i)]; want != 1+uint16(b) {
					t.Fatalf("byte at offset %d: got %#x, first seen %#x (0: none)", start+uint64(i), b, want)
				}
			}
			delivered += uint64(len(out))
			if d := s.Stats(ToServer); delivered+d.GapBytes != end {
				t.Fatalf("offset %d != delivered %d + gaps %d", end, delivered, d.GapBytes)
			}
			w := s.Window(ToServer, 1<<20)
			if len(w) > DefaultWindow*2 {
				t.Fatalf("window %d bytes", len(w))
			}
			for i, b := range w {
				if x := end - uint64(len(w)-i); first[x] != 1+uint16(b) {
					t.Fatalf("window byte at offset %d: got %#x, first seen %#x", x, b, first[x])
				}
			}
		}
		// Completeness first (Drain opens gaps), then everything left over.
		st := s.Stats(ToServer)
		if st.DroppedSegs != 0 {
			t.Fatalf("dropped with generous caps: %+v", st)
		}
		if st.Gaps == 0 {
			// Everything contiguous from offset 0 must have been delivered.
			var want uint64
			for want < uint64(len(first)) && first[want] != 0 {
				want++
			}
			lim := uint64(depth)
			if depth == 0 {
				lim = DefaultDepth
			}
			want = min(want, lim)
			if s.Offset(ToServer) != want {
				t.Fatalf("delivered up to %d, contiguous data reaches %d", s.Offset(ToServer), want)
			}
			if s.DepthReached(ToServer) != (want >= lim) {
				t.Fatalf("DepthReached %v at %d of %d", s.DepthReached(ToServer), want, lim)
			}
		}
		for out := s.Drain(ToServer); out != nil; out = s.Drain(ToServer) {
			start := s.Offset(ToServer) - uint64(len(out))
			for i, b := range out {
				if want := first[start+uint64(i)]; want != 1+uint16(b) {
					t.Fatalf("drained byte at offset %d: got %#x, first seen %#x", start+uint64(i), b, want)
				}
			}
		}
		if s.Buffered(ToServer) != 0 {
			t.Fatalf("%d bytes left after draining", s.Buffered(ToServer))
		}
	})
}

// dirty returns a session of pool whose directions hold delivered and
// out-of-order bytes that are not what FuzzStream sends (as far as the
// pool's depth lets them in).
func dirty(pool *Pool) *Session {
	s := pool.Get()
	junk := make([]byte, 3000)
	for i := range junk {
		junk[i] = byte(i*13) ^ 0xa5
	}
	s.Process(&decode.Packet{IPProto: decode.ProtoTCP, L4Header: []byte{0}, TCPSeq: 99, TCPFlags: syn}, ToServer)
	s.Process(&decode.Packet{IPProto: decode.ProtoTCP, L4Header: []byte{0}, TCPSeq: 499, TCPAck: 100, TCPFlags: synack}, ToClient)
	for dir, seq := range []uint32{100, 500} {
		for _, off := range []uint32{0, 2000, 1000} {
			s.Process(&decode.Packet{IPProto: decode.ProtoTCP, L4Header: []byte{0}, TCPSeq: seq + off,
				TCPAck: 600 - seq, TCPFlags: ack, Payload: junk[off : off+700]}, Dir(dir))
		}
	}
	return s
}

// chaos runs arbitrary packets through a session with small caps.
func chaos(in []byte) {
	s := NewSession(Config{Depth: int(in[0]) * 64, Midstream: in[0]&1 != 0, MaxBuffered: 512, MaxSegments: 4, Window: 32})
	in = in[1:]
	for len(in) >= 12 {
		p := &decode.Packet{IPProto: decode.ProtoTCP, L4Header: []byte{0},
			TCPSeq:   binary.BigEndian.Uint32(in[0:4]),
			TCPAck:   binary.BigEndian.Uint32(in[4:8]),
			TCPFlags: in[8],
		}
		n := int(in[9]) % 600
		dir := Dir(in[10] & 1)
		if in[10]&2 != 0 {
			s.Track(p, dir)
		}
		in = in[12:]
		p.Payload = make([]byte, n)
		s.Process(p, dir)
		s.Window(dir, int(in0(in)))
		s.Buffered(dir)
		if in0(in)&0x40 != 0 {
			s.Drain(dir)
		}
	}
}

func in0(b []byte) byte {
	if len(b) == 0 {
		return 0
	}
	return b[0]
}
