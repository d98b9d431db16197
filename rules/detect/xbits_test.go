package detect

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/tapwatch/tapwatch/rules/decode"
)

// syn4 is a TCP SYN from src:sport to dst:80 at t0+at.
func syn4(n int, at time.Duration, src, dst string, sport uint16) *decode.Packet {
	p := tcpSeg(n, false, decode.TCPSyn, 0, "")
	p.Timestamp = t0.Add(at)
	p.SrcIP, p.DstIP = netip.MustParseAddr(src), netip.MustParseAddr(dst)
	p.SrcPort = sport
	p.TCPAck = 0
	return p
}

// udp4 is a UDP datagram from src to dst:53 at t0+at.
func udp4(n int, at time.Duration, src, dst, payload string) *decode.Packet {
	p := udp(n, false, payload)
	p.Timestamp = t0.Add(at)
	p.SrcIP, p.DstIP = netip.MustParseAddr(src), netip.MustParseAddr(dst)
	return p
}

func hitsBySID(got []rec) string {
	m := map[uint32][]uint64{}
	for _, r := range got {
		m[r.sid] = append(m[r.sid], r.num)
	}
	return fmt.Sprint(m)
}

// TestEngineXbitsHostAcrossFlows: a bit set on a host by one flow's rule is
// seen by another flow's rule (track ip_src), on packets from that host
// only, until it expires (inclusive, in packet time).
func TestEngineXbitsHostAcrossFlows(t *testing.T) {
	e := engine(t, Options{}, `alert udp any any -> any 53 (msg:"set"; content:"evil"; xbits:set,bad,track ip_src,expire 10; xbits:noalert; sid:1;)
alert tcp any any -> any 80 (msg:"bad host"; flow:to_server; xbits:isset,bad,track ip_src; sid:2;)
alert tcp any any -> any 80 (msg:"clean host"; flow:to_server; xbits:isnotset,bad,track ip_src; sid:3;)
`)
	const a, b, srv, dns = "10.0.0.1", "10.0.0.9", "10.0.0.2", "8.8.8.8"
	set := 2 * time.Millisecond
	got, _ := run(e.NewWorker(),
		syn4(1, 1*time.Millisecond, a, srv, 40000),                  // before the bit: clean
		udp4(2, set, a, dns, "evil"),                                // sets bad on a, no alert (noalert)
		syn4(3, 3*time.Millisecond, a, srv, 40001),                  // another flow from a: bad
		syn4(4, 4*time.Millisecond, b, srv, 40002),                  // another host: clean
		syn4(5, set+10*time.Second, a, srv, 40003),                  // at the expiry: still set
		syn4(6, set+10*time.Second+time.Millisecond, a, srv, 40004), // expired: clean
	)
	if h, want := hitsBySID(got), "map[2:[3 5] 3:[1 4 6]]"; h != want {
		t.Errorf("alerts by sid (packet numbers): got %s, want %s", h, want)
	}
}

// TestEngineXbitsTrackers: ip_dst writes the same host bits ip_src reads;
// ip_pair bits belong to the two addresses in either order and live apart
// from host bits of the same name.
func TestEngineXbitsTrackers(t *testing.T) {
	e := engine(t, Options{}, `alert udp any any -> any any (msg:"mark dst"; content:"mark"; xbits:set,m,track ip_dst; xbits:noalert; sid:1;)
alert udp any any -> any any (msg:"pair"; content:"pair"; xbits:set,m,track ip_pair; xbits:noalert; sid:2;)
alert tcp any any -> any any (msg:"src marked"; xbits:isset,m,track ip_src; sid:3;)
alert tcp any any -> any any (msg:"pair marked"; xbits:isset,m,track ip_pair; sid:4;)
`)
	const a, b, c = "10.0.0.1", "10.0.0.2", "10.0.0.3"
	ms := time.Millisecond
	got, _ := run(e.NewWorker(),
		udp4(1, 1*ms, a, b, "mark"), // host bit m on b
		syn4(2, 2*ms, b, c, 40000),  // from b: host bit seen; no pair bit for b,c
		syn4(3, 3*ms, a, c, 40001),  // from a: nothing
		udp4(4, 4*ms, a, c, "pair"), // pair bit m on {a, c}
		syn4(5, 5*ms, c, a, 40002),  // reverse direction of the pair: seen
		syn4(6, 6*ms, a, b, 40003),  // pair {a, b}: not set; a has no host bit
	)
	if h, want := hitsBySID(got), "map[3:[2] 4:[5]]"; h != want {
		t.Errorf("alerts by sid (packet numbers): got %s, want %s", h, want)
	}
}

// TestEngineXbitsUnsetToggle: unset clears a bit; toggle sets a clear bit
// and clears a set one.
func TestEngineXbitsUnsetToggle(t *testing.T) {
	e := engine(t, Options{}, `alert udp any any -> any any (msg:"set"; content:"set"; xbits:set,x,track ip_src; xbits:noalert; sid:1;)
alert udp any any -> any any (msg:"unset"; content:"unset"; xbits:unset,x,track ip_src; xbits:noalert; sid:2;)
alert udp any any -> any any (msg:"toggle"; content:"toggle"; xbits:toggle,x,track ip_src; xbits:noalert; sid:3;)
alert udp any any -> any any (msg:"probe"; content:"probe"; xbits:isset,x,track ip_src; sid:4;)
`)
	const a, d = "10.0.0.1", "8.8.8.8"
	ms := time.Millisecond
	got, _ := run(e.NewWorker(),
		udp4(1, 1*ms, a, d, "set"),
		udp4(2, 2*ms, a, d, "probe"), // set
		udp4(3, 3*ms, a, d, "unset"),
		udp4(4, 4*ms, a, d, "probe"), // clear
		udp4(5, 5*ms, a, d, "toggle"),
		udp4(6, 6*ms, a, d, "probe"), // set
		udp4(7, 7*ms, a, d, "toggle"),
		udp4(8, 8*ms, a, d, "probe"), // clear
	)
	if h, want := hitsBySID(got), "map[4:[2 6]]"; h != want {
		t.Errorf("alerts by sid (packet numbers): got %s, want %s", h, want)
	}
}

// TestEngineXbitsOrdering: as with flowbits, a rule that sets a bit runs
// before one that tests it, whatever their order in the file, so both
// match on the packet that sets it.
func TestEngineXbitsOrdering(t *testing.T) {
	e := engine(t, Options{}, `alert udp any any -> any any (msg:"reader first in file"; content:"go"; xbits:isset,o,track ip_pair; sid:1;)
alert udp any any -> any any (msg:"setter"; content:"go"; xbits:set,o,track ip_pair; sid:2;)
`)
	got, _ := run(e.NewWorker(), udp4(1, time.Millisecond, "10.0.0.1", "8.8.8.8", "go"))
	if h, want := hitsBySID(got), "map[1:[1] 2:[1]]"; h != want {
		t.Errorf("alerts by sid (packet numbers): got %s, want %s", h, want)
	}
}

// TestEngineXbitsZones: tenants (zones) with the same addresses do not
// share bits.
func TestEngineXbitsZones(t *testing.T) {
	e := engine(t, Options{}, `alert udp any any -> any 53 (msg:"set"; content:"evil"; xbits:set,z,track ip_src; xbits:noalert; sid:1;)
alert tcp any any -> any 80 (msg:"check"; xbits:isset,z,track ip_src; sid:2;)
`)
	w := e.NewWorker()
	var got []rec
	emit := func(a *Alert) { got = append(got, rec{a.SID, a.Packet.Num, a.Action}) }
	ms := time.Millisecond
	w.Process(udp4(1, 1*ms, "10.0.0.1", "8.8.8.8", "evil"), 1, emit)
	w.Process(syn4(2, 2*ms, "10.0.0.1", "10.0.0.2", 40000), 2, emit)
	w.Process(syn4(3, 3*ms, "10.0.0.1", "10.0.0.2", 40001), 1, emit)
	if h, want := hitsBySID(got), "map[2:[3]]"; h != want {
		t.Errorf("alerts by sid (packet numbers): got %s, want %s", h, want)
	}
}

// TestXbitStateBounded: the table holds at most xbitsMax bits, making room
// by dropping the bit closest to expiring, and forgets expired bits as
// packet time passes.
func TestXbitStateBounded(t *testing.T) {
	var x xbitState
	key := func(i int) xbitKey {
		return xbitKey{name: "b", a: netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})}
	}
	now := t0
	const extra = 10
	for i := range xbitsMax + extra {
		// Later keys expire later: the first ones are dropped.
		x.set(key(i), now, now.Add(time.Hour+time.Duration(i)*time.Millisecond))
	}
	if len(x.m) != xbitsMax || len(x.h) != xbitsMax || x.evicted != extra {
		t.Fatalf("held %d (heap %d), evicted %d; want %d, %d", len(x.m), len(x.h), x.evicted, xbitsMax, extra)
	}
	for i := range extra {
		if x.isSet(key(i), now) {
			t.Fatalf("key %d, the soonest to expire, was kept", i)
		}
	}
	if !x.isSet(key(extra), now) || !x.isSet(key(xbitsMax+extra-1), now) {
		t.Fatal("a later key was dropped")
	}
	// Setting a set bit keeps its expiry (Suricata's host bits do).
	x.set(key(extra), now, now.Add(48*time.Hour))
	if x.isSet(key(extra), now.Add(2*time.Hour)) {
		t.Error("set on a set bit extended its expiry")
	}
	// Half of them expire: the sweep forgets exactly those.
	half := now.Add(time.Hour + time.Duration(xbitsMax/2+extra)*time.Millisecond)
	x.sweep(half)
	if n := len(x.m); n != xbitsMax/2 || len(x.h) != n {
		t.Errorf("after the sweep %d held (heap %d), want %d", n, len(x.h), xbitsMax/2)
	}
	x.sweep(now.Add(3 * time.Hour))
	if len(x.m) != 0 || len(x.h) != 0 {
		t.Errorf("after all expired %d held (heap %d)", len(x.m), len(x.h))
	}
	// An expired bit that is set again lives anew.
	x.set(key(1), now, now.Add(time.Second))
	later := now.Add(time.Minute)
	if x.isSet(key(1), later) {
		t.Fatal("expired bit still set")
	}
	x.set(key(1), later, later.Add(time.Second))
	if !x.isSet(key(1), later) {
		t.Error("expired bit not set anew")
	}
}
