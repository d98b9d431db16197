package stream

import (
	"testing"

	"github.com/tapwatch/tapwatch/rules/decode"
)

// Fast Open options as they appear on the wire (after MSS etc.).
var (
	optTFO    = []byte{34, 10, 1, 2, 3, 4, 5, 6, 7, 8}       // RFC 7413, kind 34 with a cookie
	optTFOExp = []byte{1, 1, 254, 6, 0xf9, 0x89, 0xaa, 0xbb} // experimental kind 254, magic 0xF989
)

// tfoSyn builds a client SYN carrying the Fast Open option and payload.
func tfoSyn(isn uint32, payload string) *decode.Packet {
	p := seg(syn, isn, 0, payload)
	p.TCPOpts = optTFO
	return p
}

func TestFastOpenSynDataDeliveredOnceInOrder(t *testing.T) {
	for _, gate := range []bool{false, true} {
		s := NewSession(Config{AckGate: gate})
		const req = "GET / HTTP/1.0\r\n"
		if got := s.Process(tfoSyn(1000, req), ToServer); got != nil {
			t.Fatalf("gate %v: SYN delivered %q before the handshake", gate, got)
		}
		// The SYN resent (same ISN, same data) replaces the first copy.
		if got := s.Process(tfoSyn(1000, req), ToServer); got != nil {
			t.Fatalf("gate %v: resent SYN delivered %q", gate, got)
		}
		if s.Established() || s.Buffered(ToServer) != len(req) {
			t.Fatalf("gate %v: after SYN established %v buffered %d", gate, s.Established(), s.Buffered(ToServer))
		}
		// The server acknowledges the SYN and its data: established at once.
		s.Process(seg(synack, 5000, 1001+uint32(len(req)), ""), ToClient)
		if s.State() != StateEstablished {
			t.Fatalf("gate %v: after SYN/ACK state %v", gate, s.State())
		}
		// The final ACK, carrying the next bytes: SYN data first, then them.
		got := s.Process(seg(ack|psh, 1001+uint32(len(req)), 5001, "Host: x\r\n"), ToServer)
		want := req + "Host: x\r\n"
		if gate {
			// The gate holds bytes until the peer acknowledges them: the
			// SYN data is acknowledged, the rest not yet.
			want = req
		}
		if string(got) != want {
			t.Fatalf("gate %v: got %q, want %q", gate, got, want)
		}
		if gate {
			s.Process(seg(ack, 5001, 1001+uint32(len(req))+9, ""), ToClient)
			if got := s.Process(seg(ack, 1001+uint32(len(req))+9, 5001, ""), ToServer); string(got) != "Host: x\r\n" {
				t.Fatalf("gate: later bytes %q", got)
			}
		}
		// A late copy of the SYN adds nothing.
		if got := s.Process(tfoSyn(1000, req), ToServer); got != nil {
			t.Fatalf("gate %v: SYN retransmission delivered %q", gate, got)
		}
		if st := s.Stats(ToServer); st.NotTracked != 0 {
			t.Fatalf("gate %v: NotTracked %d", gate, st.NotTracked)
		}
		if got := s.Drain(ToServer); got != nil {
			t.Fatalf("gate %v: drain %q", gate, got)
		}
	}
}

func TestFastOpenSynDataDeliveredOnPureAck(t *testing.T) {
	s := NewSession(Config{})
	p := seg(syn, 7, 0, "hello")
	p.TCPOpts = optTFOExp
	s.Process(p, ToServer)
	s.Process(seg(synack, 90, 13, ""), ToClient)
	if got := s.Process(seg(ack, 13, 91, ""), ToServer); string(got) != "hello" {
		t.Fatalf("got %q", got)
	}
	if got := s.Process(seg(ack|psh, 13, 91, " world"), ToServer); string(got) != " world" {
		t.Fatalf("got %q", got)
	}
	// The server may answer before the final ACK; with Fast Open that
	// data counts too.
	s2 := NewSession(Config{})
	s2.Process(tfoSyn(7, "hello"), ToServer)
	s2.Process(seg(synack, 90, 13, ""), ToClient)
	if got := s2.Process(seg(ack|psh, 91, 13, "reply"), ToClient); string(got) != "reply" {
		t.Fatalf("early server data: got %q", got)
	}
	if got := s2.Process(seg(ack, 13, 96, ""), ToServer); string(got) != "hello" {
		t.Fatalf("SYN data after early reply: got %q", got)
	}
}

func TestFastOpenSynDataNotAcknowledged(t *testing.T) {
	for _, gate := range []bool{false, true} {
		s := NewSession(Config{AckGate: gate})
		s.Process(tfoSyn(1000, "GET /a"), ToServer)
		// The server takes only the SYN (cookie refused): the data is gone.
		s.Process(seg(synack, 5000, 1001, ""), ToClient)
		if !s.Established() || s.Buffered(ToServer) != 0 {
			t.Fatalf("gate %v: established %v buffered %d", gate, s.Established(), s.Buffered(ToServer))
		}
		// The client sends it again after the handshake.
		got := s.Process(seg(ack|psh, 1001, 5001, "GET /a"), ToServer)
		if gate {
			if got != nil {
				t.Fatalf("gate: unacknowledged data returned %q", got)
			}
			s.Process(seg(ack, 5001, 1007, ""), ToClient)
			got = s.Process(seg(ack, 1007, 5001, ""), ToServer)
		}
		if string(got) != "GET /a" {
			t.Fatalf("gate %v: got %q", gate, got)
		}
		if got := s.Process(seg(ack|psh, 1001, 5001, "GET /a"), ToServer); got != nil {
			t.Fatalf("gate %v: retransmission delivered again: %q", gate, got)
		}
		if got := s.Drain(ToServer); got != nil {
			t.Fatalf("gate %v: drain %q", gate, got)
		}
	}
}

func TestFastOpenWrongAckNotEstablished(t *testing.T) {
	s := NewSession(Config{})
	s.Process(tfoSyn(1000, "abc"), ToServer)
	s.Process(seg(synack, 5000, 1002, ""), ToClient) // neither SYN nor SYN+data
	if s.Established() || s.State() != StateSynSent {
		t.Fatalf("state %v established %v", s.State(), s.Established())
	}
	// An unanswered SYN's data never reaches inspection.
	if got := s.Drain(ToServer); got != nil {
		t.Fatalf("drain %q", got)
	}
}

func TestSynDataWithoutFastOpenOptionIgnored(t *testing.T) {
	// Without the option the SYN's payload is not stream data: the server
	// must acknowledge the SYN alone, and the handshake is the plain one.
	s := NewSession(Config{})
	s.Process(seg(syn, 1000, 0, "abc"), ToServer)
	s.Process(seg(synack, 5000, 1004, ""), ToClient)
	if s.State() != StateSynSent {
		t.Fatalf("SYN/ACK acknowledging the payload: state %v", s.State())
	}
	s.Process(seg(synack, 5000, 1001, ""), ToClient)
	if s.State() != StateSynRecv {
		t.Fatalf("state %v", s.State())
	}
	if got := s.Process(seg(ack, 1001, 5001, ""), ToServer); got != nil || !s.Established() {
		t.Fatalf("final ACK: got %q established %v", got, s.Established())
	}
	if got := s.Process(seg(ack|psh, 1001, 5001, "xyz"), ToServer); string(got) != "xyz" {
		t.Fatalf("got %q", got)
	}
}

func TestPlainHandshakeUnchangedByFastOpen(t *testing.T) {
	// A cookie request (empty option) on a plain SYN: the SYN/ACK still
	// acknowledges only the SYN; no data is held or delivered early.
	s := NewSession(Config{})
	handshake(t, s, 1000, 5000)
	if s.Buffered(ToServer) != 0 {
		t.Fatal("plain handshake buffered data")
	}
	if got := s.Process(seg(ack|psh, 1001, 5001, "abc"), ToServer); string(got) != "abc" {
		t.Fatalf("got %q", got)
	}
	s2 := NewSession(Config{})
	p := seg(syn, 1000, 0, "")
	p.TCPOpts = []byte{34, 2}
	s2.Process(p, ToServer)
	s2.Process(seg(synack, 5000, 1001, ""), ToClient)
	if !s2.Established() || s2.Buffered(ToServer) != 0 {
		t.Fatalf("cookie request: established %v buffered %d", s2.Established(), s2.Buffered(ToServer))
	}
	if got := s2.Process(seg(ack|psh, 1001, 5001, "abc"), ToServer); string(got) != "abc" {
		t.Fatalf("cookie request: got %q", got)
	}
}

func TestHasFastOpen(t *testing.T) {
	for _, c := range []struct {
		opts []byte
		want bool
	}{
		{nil, false},
		{optTFO, true},
		{optTFOExp, true},
		{[]byte{34, 2}, true},
		{[]byte{2, 4, 5, 0xb4, 1, 34, 2}, true},
		{[]byte{254, 6, 0x12, 0x34, 0, 0}, false}, // other experiment
		{[]byte{0, 34, 2}, false},                 // after end of options
		{[]byte{2, 40, 34, 2}, false},             // length past the end
		{[]byte{2, 0, 34, 2}, false},              // bad length
		{[]byte{254, 3, 0xf9}, false},
	} {
		if got := hasFastOpen(c.opts); got != c.want {
			t.Errorf("hasFastOpen(% x) = %v, want %v", c.opts, got, c.want)
		}
	}
}

func TestFastOpenAsyncOneside(t *testing.T) {
	// Only the client's side is seen: its ACK after a Fast Open SYN
	// follows the SYN's data, and completes the handshake.
	s := NewSession(Config{AsyncOneside: true})
	s.Process(tfoSyn(1000, "abc"), ToServer)
	if got := s.Process(seg(ack|psh, 1004, 5001, "def"), ToServer); string(got) != "abcdef" {
		t.Fatalf("got %q (state %v)", got, s.State())
	}
}
