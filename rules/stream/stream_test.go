package stream

import (
	"bytes"
	"syscall"
	"testing"

	"github.com/tapwatch/tapwatch/rules/decode"
)

const (
	syn    = decode.TCPSyn
	ack    = decode.TCPAck
	synack = decode.TCPSyn | decode.TCPAck
	fin    = decode.TCPFin
	rst    = decode.TCPRst
	psh    = decode.TCPPsh
)

// seg builds a TCP packet the way the decoder would fill it.
func seg(flags uint8, seq, ackN uint32, payload string) *decode.Packet {
	p := &decode.Packet{IPVersion: 4, IPProto: decode.ProtoTCP, L4Header: make([]byte, 20),
		SrcPort: 1234, DstPort: 80, TCPSeq: seq, TCPAck: ackN, TCPFlags: flags}
	if payload != "" {
		p.Payload = []byte(payload)
	}
	return p
}

// handshake runs a 3WHS with client ISN cisn and server ISN sisn.
func handshake(t *testing.T, s *Session, cisn, sisn uint32) {
	t.Helper()
	s.Process(seg(syn, cisn, 0, ""), ToServer)
	if s.State() != StateSynSent || s.Established() {
		t.Fatalf("after SYN: state %v established %v", s.State(), s.Established())
	}
	s.Process(seg(synack, sisn, cisn+1, ""), ToClient)
	if s.State() != StateSynRecv || s.Established() {
		t.Fatalf("after SYN/ACK: state %v", s.State())
	}
	s.Process(seg(ack, cisn+1, sisn+1, ""), ToServer)
	if s.State() != StateEstablished || !s.Established() {
		t.Fatalf("after ACK: state %v", s.State())
	}
}

func TestHandshakeInOrder(t *testing.T) {
	s := NewSession(Config{})
	handshake(t, s, 1000, 5000)
	p := seg(ack|psh, 1001, 5001, "GET / HTTP/1.0\r\n")
	got := s.Process(p, ToServer)
	if string(got) != "GET / HTTP/1.0\r\n" {
		t.Fatalf("got %q", got)
	}
	if &got[0] != &p.Payload[0] {
		t.Error("in-order data should be delivered from the packet without copying")
	}
	if got := s.Process(seg(ack|psh, 5001, 1017, "HTTP/1.0 200"), ToClient); string(got) != "HTTP/1.0 200" {
		t.Fatalf("to client got %q", got)
	}
	if got := s.Process(seg(ack|psh, 1017, 5013, "\r\n"), ToServer); string(got) != "\r\n" {
		t.Fatalf("got %q", got)
	}
	if w := s.Window(ToServer, 4); string(w) != "0\r\n\r\n"[1:] {
		t.Errorf("window %q", w)
	}
	if w := s.Window(ToServer, 1000); string(w) != "GET / HTTP/1.0\r\n\r\n" {
		t.Errorf("full window %q", w)
	}
	if s.Offset(ToServer) != 18 || s.Offset(ToClient) != 12 {
		t.Errorf("offsets %d %d", s.Offset(ToServer), s.Offset(ToClient))
	}
}

func TestHandshakeWrongAckNotEstablished(t *testing.T) {
	s := NewSession(Config{})
	s.Process(seg(syn, 100, 0, ""), ToServer)
	s.Process(seg(synack, 900, 555, ""), ToClient) // acks the wrong ISN
	if s.State() != StateSynSent {
		t.Fatalf("state %v, want syn_sent", s.State())
	}
	if got := s.Process(seg(ack, 101, 901, "x"), ToServer); got != nil || s.Established() {
		t.Fatalf("data %q established %v", got, s.Established())
	}
}

func TestNoHandshakeWithoutMidstream(t *testing.T) {
	// As suricata-verify alert-no-3whs-established: data without a SYN is
	// neither established nor reassembled.
	s := NewSession(Config{})
	if got := s.Process(seg(ack|psh, 1, 1, "MATCH?"), ToServer); got != nil {
		t.Fatalf("delivered %q without handshake", got)
	}
	if s.Established() || s.State() != StateNone {
		t.Fatalf("state %v established %v", s.State(), s.Established())
	}
	if s.Stats(ToServer).NotTracked != 1 {
		t.Errorf("stats %+v", s.Stats(ToServer))
	}
	// A SYN/ACK first does not start a session either.
	s2 := NewSession(Config{})
	s2.Process(seg(synack, 1, 1, ""), ToClient)
	if s2.State() != StateNone {
		t.Fatalf("state %v", s2.State())
	}
}

func TestMidstream(t *testing.T) {
	s := NewSession(Config{Midstream: true})
	if got := s.Process(seg(ack|psh, 7000, 300, "abc"), ToServer); string(got) != "abc" {
		t.Fatalf("got %q", got)
	}
	if !s.Established() || !s.Midstream() {
		t.Fatal("midstream pickup should be established")
	}
	// The reverse direction starts at the first packet's ACK: a later
	// segment arriving first waits for the earlier one.
	if got := s.Process(seg(ack|psh, 303, 7003, "def"), ToClient); got != nil {
		t.Fatalf("out of order delivered %q", got)
	}
	if got := s.Process(seg(ack|psh, 300, 7003, "abc"), ToClient); string(got) != "abcdef" {
		t.Fatalf("got %q", got)
	}
}

func TestMidstreamSynAck(t *testing.T) {
	s := NewSession(Config{Midstream: true})
	s.Process(seg(synack, 500, 101, ""), ToClient)
	if s.State() != StateSynRecv || s.Established() {
		t.Fatalf("state %v", s.State())
	}
	if got := s.Process(seg(ack|psh, 101, 501, "hi"), ToServer); string(got) != "hi" || !s.Established() {
		t.Fatalf("got %q state %v", got, s.State())
	}
}

func TestOutOfOrder(t *testing.T) {
	s := NewSession(Config{})
	handshake(t, s, 0, 0)
	if got := s.Process(seg(ack, 7, 1, "HIJ"), ToServer); got != nil {
		t.Fatalf("got %q", got)
	}
	if got := s.Process(seg(ack, 4, 1, "DEF"), ToServer); got != nil {
		t.Fatalf("got %q", got)
	}
	if s.Buffered(ToServer) != 6 {
		t.Fatalf("buffered %d", s.Buffered(ToServer))
	}
	if got := s.Process(seg(ack, 1, 1, "ABCD"), ToServer); string(got) != "ABCDEFGHIJ"[:3]+"DEFHIJ" {
		// 'D' at offset 3 came first from the buffered segment: first data wins.
		t.Fatalf("got %q", got)
	}
	if got := s.Process(seg(ack, 10, 1, "K"), ToServer); string(got) != "K" {
		t.Fatalf("got %q", got)
	}
	if w := s.Window(ToServer, 100); string(w) != "ABCDEFHIJK" {
		t.Fatalf("window %q", w)
	}
	st := s.Stats(ToServer)
	if st.OutOfOrder != 2 || st.Overlaps == 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestRetransmissionFirstDataWins(t *testing.T) {
	s := NewSession(Config{})
	handshake(t, s, 10, 20)
	if got := s.Process(seg(ack, 11, 21, "hello"), ToServer); string(got) != "hello" {
		t.Fatalf("got %q", got)
	}
	if got := s.Process(seg(ack, 11, 21, "HELLO"), ToServer); got != nil {
		t.Fatalf("retransmission delivered %q", got)
	}
	// Partly old: only the new tail counts, and the old part keeps its first copy.
	if got := s.Process(seg(ack, 14, 21, "LO world"), ToServer); string(got) != " world" {
		t.Fatalf("overlap delivered %q", got)
	}
	if w := s.Window(ToServer, 100); string(w) != "hello world" {
		t.Fatalf("window %q", w)
	}
	st := s.Stats(ToServer)
	if st.Retransmitted != 1 || st.Overlaps != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestSequenceWraparound(t *testing.T) {
	s := NewSession(Config{})
	isn := uint32(0xfffffffa)
	handshake(t, s, isn, 1)
	// Bytes at seq 0xfffffffb..0xffffffff, then 0x0.. after the wrap.
	if got := s.Process(seg(ack, 0x1, 2, "6789"), ToServer); got != nil {
		t.Fatalf("got %q", got)
	}
	if got := s.Process(seg(ack, isn+1, 2, "012345"), ToServer); string(got) != "0123456789" {
		t.Fatalf("got %q", got)
	}
	if got := s.Process(seg(ack, isn+1, 2, "0123"), ToServer); got != nil {
		t.Fatalf("old data across the wrap delivered %q", got)
	}
	if s.Offset(ToServer) != 10 {
		t.Fatalf("offset %d", s.Offset(ToServer))
	}
}

func TestRST(t *testing.T) {
	s := NewSession(Config{})
	handshake(t, s, 1, 1)
	s.Process(seg(rst|ack, 2, 2, ""), ToClient)
	if !s.Closed() || s.State() != StateClosed {
		t.Fatalf("state %v", s.State())
	}
	if !s.Established() {
		t.Error("a session that was established stays established after RST")
	}
	if got := s.Process(seg(ack, 2, 2, "late"), ToServer); got != nil {
		t.Fatalf("data after RST delivered %q", got)
	}
}

func TestFINClose(t *testing.T) {
	s := NewSession(Config{})
	handshake(t, s, 1, 1)
	s.Process(seg(fin|ack, 2, 2, "bye"), ToServer)
	if s.State() != StateFinWait1 || s.Closed() {
		t.Fatalf("state %v", s.State())
	}
	s.Process(seg(fin|ack, 2, 6, ""), ToClient)
	if !s.Closed() {
		t.Fatalf("state %v, want closed after both FINs", s.State())
	}
	s.Process(seg(ack, 5, 3, ""), ToServer)
	if s.State() != StateClosed {
		t.Fatalf("state %v", s.State())
	}
}

func TestDepth(t *testing.T) {
	s := NewSession(Config{Depth: 10})
	handshake(t, s, 0, 0)
	if got := s.Process(seg(ack, 1, 1, "0123456"), ToServer); string(got) != "0123456" || s.DepthReached(ToServer) {
		t.Fatalf("got %q", got)
	}
	if got := s.Process(seg(ack, 8, 1, "789abc"), ToServer); string(got) != "789" {
		t.Fatalf("got %q", got)
	}
	if !s.DepthReached(ToServer) || s.DepthReached(ToClient) {
		t.Fatal("depth flags wrong")
	}
	if got := s.Process(seg(ack, 11, 1, "def"), ToServer); got != nil {
		t.Fatalf("past depth delivered %q", got)
	}
	// Out-of-order data beyond depth is not buffered either.
	s2 := NewSession(Config{Depth: 4})
	handshake(t, s2, 0, 0)
	s2.Process(seg(ack, 3, 1, "cdef"), ToServer)
	if got := s2.Process(seg(ack, 1, 1, "ab"), ToServer); string(got) != "abcd" {
		t.Fatalf("got %q", got)
	}
}

func TestGapSkippedWhenAcked(t *testing.T) {
	s := NewSession(Config{})
	handshake(t, s, 0, 0)
	s.Process(seg(ack, 1, 1, "aaaa"), ToServer)
	// Bytes 5..8 never captured; the server acknowledges them.
	s.Process(seg(ack, 1, 13, ""), ToClient)
	if got := s.Process(seg(ack, 9, 1, "cccc"), ToServer); string(got) != "cccc" {
		t.Fatalf("got %q", got)
	}
	if st := s.Stats(ToServer); st.Gaps != 1 || st.GapBytes != 4 {
		t.Fatalf("stats %+v", st)
	}
	if s.Offset(ToServer) != 12 {
		t.Fatalf("offset %d", s.Offset(ToServer))
	}
	if w := s.Window(ToServer, 100); string(w) != "cccc" {
		t.Fatalf("window spans the gap: %q", w)
	}
}

func TestBufferCap(t *testing.T) {
	s := NewSession(Config{MaxBuffered: 8, MaxSegments: 2})
	handshake(t, s, 0, 0)
	s.Process(seg(ack, 7, 1, "ghijkl"), ToServer) // offsets 6..11: 4 bytes past the cap
	st := s.Stats(ToServer)
	if st.DroppedBytes != 4 || s.Buffered(ToServer) != 2 {
		t.Fatalf("stats %+v buffered %d", st, s.Buffered(ToServer))
	}
	s.Process(seg(ack, 3, 1, "c"), ToServer)
	s.Process(seg(ack, 5, 1, "X"), ToServer) // would be a third range
	if s.Stats(ToServer).DroppedSegs != 2 {
		t.Fatalf("stats %+v", s.Stats(ToServer))
	}
	if got := s.Process(seg(ack, 1, 1, "ab"), ToServer); string(got) != "abc" {
		t.Fatalf("got %q", got)
	}
}

func TestWindowBounded(t *testing.T) {
	s := NewSession(Config{Window: 16})
	handshake(t, s, 0, 0)
	var all []byte
	seq := uint32(1)
	for i := 0; i < 50; i++ {
		chunk := bytes.Repeat([]byte{byte('a' + i%26)}, 1+i%7)
		s.Process(seg(ack, seq, 1, string(chunk)), ToServer)
		seq += uint32(len(chunk))
		all = append(all, chunk...)
		if w := s.Window(ToServer, 16); !bytes.Equal(w, all[max(0, len(all)-16):]) {
			t.Fatalf("step %d: window %q", i, w)
		}
		if cap(s.half[0].r.win) > 64 {
			t.Fatalf("window buffer grew to %d", cap(s.half[0].r.win))
		}
	}
}

func TestResetKeepsNothing(t *testing.T) {
	s := NewSession(Config{})
	handshake(t, s, 0, 0)
	s.Process(seg(ack, 5, 1, "zz"), ToServer)
	s.Reset(Config{})
	if s.Established() || s.Buffered(ToServer) != 0 || len(s.Window(ToServer, 10)) != 0 || s.State() != StateNone {
		t.Fatal("Reset left state behind")
	}
}

func TestInOrderNoAlloc(t *testing.T) {
	s := NewSession(Config{Window: 1024})
	handshake(t, s, 0, 0)
	p := seg(ack|psh, 1, 1, string(bytes.Repeat([]byte("x"), 100)))
	allocs := testing.AllocsPerRun(1000, func() {
		if s.Process(p, ToServer) == nil {
			t.Fatal("nothing delivered")
		}
		p.TCPSeq += 100
	})
	if allocs != 0 {
		t.Fatalf("in-order Process allocates %.1f times per packet", allocs)
	}
}

func BenchmarkProcessInOrder(b *testing.B) {
	s := NewSession(Config{Depth: 1 << 50})
	s.Process(seg(syn, 0, 0, ""), ToServer)
	s.Process(seg(synack, 0, 1, ""), ToClient)
	s.Process(seg(ack, 1, 1, ""), ToServer)
	p := seg(ack|psh, 1, 1, string(bytes.Repeat([]byte("x"), 1400)))
	b.SetBytes(1400)
	b.ReportAllocs()
	defer cpuNs(b)()
	for b.Loop() {
		s.Process(p, ToServer)
		p.TCPSeq += 1400
		if s.DepthReached(ToServer) {
			b.Fatal("depth")
		}
	}
}

func BenchmarkProcessOutOfOrder(b *testing.B) {
	s := NewSession(Config{Depth: 1 << 50})
	s.Process(seg(syn, 0, 0, ""), ToServer)
	s.Process(seg(synack, 0, 1, ""), ToClient)
	s.Process(seg(ack, 1, 1, ""), ToServer)
	p1 := seg(ack|psh, 1, 1, string(bytes.Repeat([]byte("x"), 1400)))
	p2 := seg(ack|psh, 1401, 1, string(bytes.Repeat([]byte("y"), 1400)))
	b.SetBytes(2800)
	b.ReportAllocs()
	defer cpuNs(b)()
	for b.Loop() {
		s.Process(p2, ToServer) // second segment first
		if len(s.Process(p1, ToServer)) != 2800 {
			b.Fatal("not delivered", s.Offset(ToServer), s.Buffered(ToServer), s.Stats(ToServer), p1.TCPSeq)
		}
		p1.TCPSeq += 2800
		p2.TCPSeq += 2800
	}
}

func TestStaleAckDoesNotOpenGapAfter2GiB(t *testing.T) {
	s := NewSession(Config{Depth: 1 << 40})
	handshake(t, s, 0, 0) // the SYN/ACK acknowledged seq 1
	chunk := seg(ack, 1, 1, string(make([]byte, 1<<20)))
	for i := 0; i < 2049; i++ {
		if got := s.Process(chunk, ToServer); len(got) != 1<<20 {
			t.Fatalf("chunk %d: %d bytes", i, len(got))
		}
		chunk.TCPSeq += 1 << 20
	}
	// Out of order now: must wait, not be taken for a gap the peer acked.
	if got := s.Process(seg(ack, chunk.TCPSeq+10, 1, "later"), ToServer); got != nil || s.Stats(ToServer).Gaps != 0 {
		t.Fatalf("stale ACK skipped a gap: %q %+v", got, s.Stats(ToServer))
	}
}

// cpuNs reports CPU time per op next to wall time: on a shared, loaded
// machine wall-clock ns/op mostly measures waiting for a core.
func cpuNs(b *testing.B) func() {
	start := cpuTime()
	return func() {
		b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
	}
}

func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

func TestAckedHoleReleasedByEmptySegmentAndDrain(t *testing.T) {
	s := NewSession(Config{})
	handshake(t, s, 0, 0)
	s.Process(seg(ack, 5, 1, "tail"), ToServer) // bytes 0..3 lost
	s.Process(seg(ack, 1, 9, ""), ToClient)     // the server got them all
	if got := s.Process(seg(fin|ack, 9, 1, ""), ToServer); string(got) != "tail" {
		t.Fatalf("FIN did not release acked data: %q", got)
	}
	// Without any ACK, Drain gives up on the hole at the flow's end.
	s2 := NewSession(Config{})
	handshake(t, s2, 0, 0)
	s2.Process(seg(ack, 3, 1, "cd"), ToServer)
	s2.Process(seg(ack, 7, 1, "gh"), ToServer)
	if got := s2.Drain(ToServer); string(got) != "cd" {
		t.Fatalf("drain 1: %q", got)
	}
	if got := s2.Drain(ToServer); string(got) != "gh" {
		t.Fatalf("drain 2: %q", got)
	}
	if got := s2.Drain(ToServer); got != nil || s2.Stats(ToServer).Gaps != 2 || s2.Offset(ToServer) != 8 {
		t.Fatalf("drain 3: %q %+v", got, s2.Stats(ToServer))
	}
}

func TestForgedRSTIgnored(t *testing.T) {
	s := NewSession(Config{})
	handshake(t, s, 1000, 5000)
	s.Process(seg(ack, 1001, 5001, "abc"), ToServer)
	s.Process(seg(rst, 1001+1<<30, 0, ""), ToServer) // blind guess, far off
	if s.Closed() || s.Stats(ToServer).RejectedRST != 1 {
		t.Fatalf("forged RST accepted: state %v", s.State())
	}
	if got := s.Process(seg(ack, 1004, 5001, "def"), ToServer); string(got) != "def" {
		t.Fatalf("got %q", got)
	}
	// The server's own RST (its side never sent data) is in window.
	s.Process(seg(rst|ack, 5001, 1007, ""), ToClient)
	if !s.Closed() {
		t.Fatal("genuine RST ignored")
	}
}
