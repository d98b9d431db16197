package stream

import (
	"testing"
	"unsafe"
)

// Sessions that never carry data (scans, refused connections) are most of
// what a sensor tracks: they must not hold reassembly state.
func TestNoDataNoBuffers(t *testing.T) {
	if n := unsafe.Sizeof(Session{}); n > 144 {
		t.Errorf("Session is %d bytes", n)
	}
	s := NewSession(Config{})
	handshake(t, s, 0, 0)
	s.Process(seg(fin|ack, 1, 1, ""), ToServer)
	s.Process(seg(fin|ack, 1, 2, ""), ToClient)
	s.Process(seg(ack, 2, 2, ""), ToServer)
	if !s.Closed() || s.half[0].r != nil || s.half[1].r != nil {
		t.Fatalf("closed %v, buffers %v %v", s.Closed(), s.half[0].r, s.half[1].r)
	}
	if s.Stats(ToServer) != (Stats{}) || s.Window(ToClient, -1) != nil || s.Drain(ToServer) != nil || s.Buffered(ToServer) != 0 {
		t.Fatal("a session without data reports some")
	}
	s.Process(seg(ack, 2, 2, "late"), ToServer)
	if s.half[0].r == nil || s.Stats(ToServer).Segments != 1 {
		t.Fatalf("data after close: stats %+v", s.Stats(ToServer))
	}
}

// A rejected RST is counted although the direction has no data.
func TestCountersWithoutData(t *testing.T) {
	s := NewSession(Config{})
	handshake(t, s, 0, 0)
	s.Process(seg(rst, 1<<30, 0, ""), ToServer)
	if st := s.Stats(ToServer); st.RejectedRST != 1 || s.Closed() {
		t.Fatalf("stats %+v closed %v", st, s.Closed())
	}
}

// A session put back leaves nothing behind, and its buffers go to the next
// direction that has data, not to the next session.
func TestPoolRecycles(t *testing.T) {
	p := NewPool(Config{AckGate: true})
	a := p.Get()
	handshake(t, a, 0, 0)
	a.Process(seg(ack, 1, 1, "hello"), ToServer)
	a.Process(seg(ack, 20, 1, "later"), ToServer) // out of order: buffered
	if a.Buffered(ToServer) != 5 {
		t.Fatalf("buffered %d", a.Buffered(ToServer))
	}
	r := a.half[0].r
	p.Put(a)

	b := p.Get()
	if b != a || b.half[0].r != nil || b.half[1].r != nil || b.State() != StateNone || b.pool != p {
		t.Fatal("Get did not return the session put back, emptied")
	}
	handshake(t, b, 100, 200)
	if b.half[0].r != nil {
		t.Fatal("buffers taken without data")
	}
	b.Process(seg(ack, 201, 101, "x"), ToClient)
	b.Process(seg(ack, 203, 101, "z"), ToClient) // a byte lost before it
	if b.half[1].r != r {
		t.Fatal("the pooled buffers were not lent to the next direction with data")
	}
	if st := b.Stats(ToClient); st.Segments != 2 || st.InOrder != 1 || st.OutOfOrder != 1 || b.Buffered(ToClient) != 1 || b.Stats(ToServer) != (Stats{}) {
		t.Fatalf("recycled buffers kept state: %+v, %d buffered", st, b.Buffered(ToClient))
	}
	x := string(b.Drain(ToClient)) // valid until the next call
	z := string(b.Drain(ToClient))
	if x != "x" || z != "z" || b.Drain(ToClient) != nil {
		t.Fatalf("drained %q, %q", x, z)
	}
}

func TestDirtyHoldsData(t *testing.T) {
	s := dirty(NewPool(Config{}))
	if s.Buffered(ToServer) == 0 || s.Buffered(ToClient) == 0 || len(s.Window(ToServer, -1)) == 0 || len(s.Window(ToClient, -1)) == 0 {
		t.Fatal("FuzzStream's dirty session holds nothing")
	}
}
