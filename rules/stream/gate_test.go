package stream

import (
	"net/netip"
	"testing"
)

func TestSplitHandshake(t *testing.T) {
	// 4WHS: SYN, SYN (server), SYN/ACK (client), ACK (server).
	// 5WHS: a stray ACK from the server after the first SYN.
	for _, fiveWay := range []bool{false, true} {
		s := NewSession(Config{})
		s.Process(seg(syn, 100, 0, ""), ToServer)
		if fiveWay {
			s.Process(seg(ack, 901, 101, ""), ToClient)
		}
		s.Process(seg(syn, 900, 0, ""), ToClient)
		s.Process(seg(synack, 100, 901, ""), ToServer)
		if s.Established() || s.State() != StateSynRecv {
			t.Fatalf("5whs=%v: after client SYN/ACK: %v", fiveWay, s.State())
		}
		s.Process(seg(ack, 901, 101, ""), ToClient)
		if !s.Established() {
			t.Fatalf("5whs=%v: not established after the server's ACK: %v", fiveWay, s.State())
		}
		if got := s.Process(seg(ack|psh, 101, 901, "EVIL"), ToServer); string(got) != "EVIL" {
			t.Errorf("5whs=%v: data %q", fiveWay, got)
		}
	}
}

func TestAsyncOneside(t *testing.T) {
	for _, tc := range []struct {
		name  string
		async bool
		// server: only the server's side is seen (midstream SYN/ACK
		// first); else only the client's (SYN, then data).
		server bool
		want   bool
	}{
		{"server side", true, true, true},
		{"client side", true, false, true},
		{"server side without async", false, true, false},
		{"client side without async", false, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := NewSession(Config{Midstream: true, AsyncOneside: tc.async})
			var got []byte
			if tc.server {
				s.Process(seg(synack, 500, 101, ""), ToClient)
				got = s.Process(seg(ack|psh, 501, 101, "* OK"), ToClient)
			} else {
				s.Process(seg(syn, 100, 0, ""), ToServer)
				got = s.Process(seg(ack|psh, 101, 501, "GET /"), ToServer)
			}
			if s.Established() != tc.want || (len(got) > 0) != tc.want {
				t.Errorf("established %v data %q", s.Established(), got)
			}
		})
	}
}

func TestAckGate(t *testing.T) {
	s := NewSession(Config{AckGate: true})
	handshake(t, s, 1000, 5000)
	if got := s.Process(seg(ack|psh, 1001, 5001, "GOOD"), ToServer); got != nil {
		t.Fatalf("unacknowledged data returned: %q", got)
	}
	if w := s.Window(ToServer, 100); len(w) != 0 {
		t.Errorf("window shows pending bytes: %q", w)
	}
	// A retransmission with other bytes: the first copy wins.
	s.Process(seg(ack|psh, 1001, 5001, "EVIL"), ToServer)
	s.Process(seg(ack, 5001, 1005, ""), ToClient) // the server acknowledges
	if got := s.Process(seg(ack|psh, 1005, 5001, "MORE"), ToServer); string(got) != "GOOD" {
		t.Fatalf("after the ACK got %q, want GOOD", got)
	}
	if got := s.Release(ToServer); string(got) != "MORE" {
		t.Errorf("Release got %q", got)
	}
	if got := s.Drain(ToServer); got != nil {
		t.Errorf("Drain after Release got %q", got)
	}
	// Pending data is returned by Drain at flow end.
	s.Process(seg(ack|psh, 5001, 1009, "resp"), ToClient)
	if got := s.Drain(ToClient); string(got) != "resp" {
		t.Errorf("Drain got %q", got)
	}
}

func TestAckGateReleasesOnClose(t *testing.T) {
	s := NewSession(Config{AckGate: true})
	handshake(t, s, 1000, 5000)
	s.Process(seg(ack|psh, 1001, 5001, "data"), ToServer)
	if got := s.Process(seg(rst|ack, 1005, 5001, ""), ToServer); string(got) != "data" {
		t.Errorf("RST got %q, want the pending data", got)
	}
}

func TestOverlapPolicy(t *testing.T) {
	settings := map[string]string{
		"host-os-policy.windows.0":   "0.0.0.0/0",
		"host-os-policy.old-linux.0": "2.2.2.2",
		"host-os-policy.last.0":      "[3.3.3.0/24, 4.4.4.4]",
		"host-os-policy.nonsense.0":  "5.5.5.5",
		"stream.midstream":           "true",
	}
	ps := HostOSPolicies(settings)
	for _, tc := range []struct {
		server string
		want   Policy
		data   string // what the stream returns after GOOD, then EVIL at the same place
	}{
		{"9.9.9.9", PolicyFirst, "GOOD"},
		{"2.2.2.2", PolicyLastEndsAfter, "EVIL"},
		{"3.3.3.7", PolicyLast, "EVIL"},
		{"4.4.4.4", PolicyLast, "EVIL"},
		{"5.5.5.5", PolicyFirst, "GOOD"},
	} {
		t.Run(tc.server, func(t *testing.T) {
			srv := netip.MustParseAddr(tc.server)
			if got := ps.Lookup(srv); got != tc.want {
				t.Fatalf("policy %d, want %d", got, tc.want)
			}
			s := NewSession(Config{AckGate: true, Policies: ps})
			s.SetHosts(netip.MustParseAddr("1.1.1.1"), srv)
			handshake(t, s, 1000, 5000)
			s.Process(seg(ack|psh, 1001, 5001, "GOOD"), ToServer)
			s.Process(seg(ack|psh, 1001, 5001, "EVIL"), ToServer)
			if got := s.Drain(ToServer); string(got) != tc.data {
				t.Errorf("got %q, want %q", got, tc.data)
			}
		})
	}
	if (*Policies)(nil).Lookup(netip.MustParseAddr("1.2.3.4")) != PolicyFirst || HostOSPolicies(nil) != nil {
		t.Error("no policies must mean first-wins")
	}
}

func TestAckGateBoundedByWindow(t *testing.T) {
	s := NewSession(Config{AckGate: true, Window: 16})
	handshake(t, s, 1000, 5000)
	if got := s.Process(seg(ack|psh, 1001, 5001, "abcd"), ToServer); got != nil {
		t.Fatalf("got %q", got)
	}
	// Eight bytes wait: half the window. Nothing was acknowledged, yet
	// they are returned rather than pushed out of the window unseen.
	if got := s.Process(seg(ack|psh, 1005, 5001, "efgh"), ToServer); string(got) != "abcdefgh" {
		t.Fatalf("got %q", got)
	}
}
