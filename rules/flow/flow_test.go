package flow

import (
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/tapwatch/tapwatch/rules/decode"
	"github.com/tapwatch/tapwatch/rules/stream"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

var (
	cli = netip.MustParseAddr("10.0.0.9") // deliberately the higher address
	srv = netip.MustParseAddr("10.0.0.1")
)

func pkt(proto uint8, src netip.Addr, sp uint16, dst netip.Addr, dp uint16, at time.Duration) *decode.Packet {
	v := uint8(4)
	if src.Is6() {
		v = 6
	}
	return &decode.Packet{IPVersion: v, SrcIP: src, DstIP: dst, IPProto: proto, SrcPort: sp, DstPort: dp,
		L4Header: make([]byte, 8), Timestamp: t0.Add(at), OrigLen: 60}
}

func tcp(src netip.Addr, sp uint16, dst netip.Addr, dp uint16, flags uint8, seq, ack uint32, data string, at time.Duration) *decode.Packet {
	p := pkt(decode.ProtoTCP, src, sp, dst, dp, at)
	p.TCPFlags, p.TCPSeq, p.TCPAck = flags, seq, ack
	if data != "" {
		p.Payload = []byte(data)
	}
	return p
}

const (
	syn    = decode.TCPSyn
	ack    = decode.TCPAck
	synack = decode.TCPSyn | decode.TCPAck
	fin    = decode.TCPFin
	rst    = decode.TCPRst
)

// look runs Lookup and, as the engine does, Process for TCP.
func look(t *testing.T, tb *Table, p *decode.Packet) (*Flow, Dir, []byte) {
	t.Helper()
	f, d := tb.Lookup(p, 0)
	if f == nil {
		t.Fatalf("no flow for %+v", p)
	}
	var data []byte
	if f.TCP != nil {
		data = f.TCP.Process(p, d)
	}
	return f, d, data
}

func TestTCPHandshakeDirectionsAndData(t *testing.T) {
	tb := NewTable(Config{})
	f1, d1, _ := look(t, tb, tcp(cli, 40000, srv, 80, syn, 100, 0, "", 0))
	if d1 != ToServer || f1.Key.Src != cli || f1.Key.SrcPort != 40000 || f1.Key.Dst != srv || f1.Key.DstPort != 80 {
		t.Fatalf("dir %v key %+v", d1, f1.Key)
	}
	if f1.ID == 0 || f1.ID >= 1<<63 || f1.TCP == nil || f1.Established() {
		t.Fatalf("flow %+v", f1)
	}
	f2, d2, _ := look(t, tb, tcp(srv, 80, cli, 40000, synack, 900, 101, "", time.Millisecond))
	if f2 != f1 || d2 != ToClient || f1.Established() {
		t.Fatalf("SYN/ACK: same flow %v dir %v", f2 == f1, d2)
	}
	f3, d3, data := look(t, tb, tcp(cli, 40000, srv, 80, ack, 101, 901, "GET /", 2*time.Millisecond))
	if f3 != f1 || d3 != ToServer || !f1.Established() || string(data) != "GET /" {
		t.Fatalf("ACK: dir %v est %v data %q", d3, f1.Established(), data)
	}
	if f1.Pkts != [2]uint64{2, 1} || f1.Bytes != [2]uint64{120, 60} {
		t.Fatalf("counters %v %v", f1.Pkts, f1.Bytes)
	}
	if !f1.Last.Equal(t0.Add(2*time.Millisecond)) || !f1.Start.Equal(t0) {
		t.Fatalf("times %v %v", f1.Start, f1.Last)
	}
	if s := tb.Stats(); s.Active != 1 || s.Created != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestSynAckFirstSenderIsServer(t *testing.T) {
	tb := NewTable(Config{})
	f, d, _ := look(t, tb, tcp(srv, 80, cli, 40000, synack, 900, 101, "", 0))
	if d != ToClient || f.Key.Src != cli || f.Key.SrcPort != 40000 || f.Key.DstPort != 80 {
		t.Fatalf("dir %v key %+v", d, f.Key)
	}
	_, d, _ = look(t, tb, tcp(cli, 40000, srv, 80, ack, 101, 901, "", 1))
	if d != ToServer {
		t.Fatalf("client packet dir %v", d)
	}
	// A plain packet first makes its sender the client.
	f2, d2, _ := look(t, tb, tcp(srv, 81, cli, 40001, ack, 1, 1, "", 0))
	if d2 != ToServer || f2.Key.Src != srv {
		t.Fatalf("dir %v key %+v", d2, f2.Key)
	}
}

func TestNoHandshakeNotEstablishedUnlessMidstream(t *testing.T) {
	for _, mid := range []bool{false, true} {
		tb := NewTable(Config{Midstream: mid})
		f, _, data := look(t, tb, tcp(cli, 1, srv, 1212, ack, 5, 5, "MATCH?", 0))
		look(t, tb, tcp(srv, 1212, cli, 1, ack, 5, 11, "", 1))
		if f.Established() != mid || (data != nil) != mid {
			t.Fatalf("midstream %v: established %v data %q", mid, f.Established(), data)
		}
	}
}

func TestUDPEstablishedAfterBothSides(t *testing.T) {
	tb := NewTable(Config{})
	f, d, _ := look(t, tb, pkt(decode.ProtoUDP, cli, 5353, srv, 53, 0))
	if f.TCP != nil || f.Established() || d != ToServer {
		t.Fatal("new UDP flow")
	}
	look(t, tb, pkt(decode.ProtoUDP, cli, 5353, srv, 53, 1))
	if f.Established() {
		t.Fatal("one side only")
	}
	f2, d2, _ := look(t, tb, pkt(decode.ProtoUDP, srv, 53, cli, 5353, 2))
	if f2 != f || d2 != ToClient || !f.Established() {
		t.Fatalf("reply: same %v dir %v est %v", f2 == f, d2, f.Established())
	}
	// Another port is another flow.
	if f3, _ := tb.Lookup(pkt(decode.ProtoUDP, cli, 5354, srv, 53, 3), 0); f3 == f {
		t.Fatal("different ports share a flow")
	}
}

func TestZonesSeparate(t *testing.T) {
	tb := NewTable(Config{})
	a, _ := tb.Lookup(pkt(decode.ProtoUDP, cli, 1, srv, 2, 0), 1)
	b, _ := tb.Lookup(pkt(decode.ProtoUDP, cli, 1, srv, 2, 0), 2)
	if a == b || a.Key.Zone != 1 || b.Key.Zone != 2 || a.ID == b.ID {
		t.Fatal("zones share a flow")
	}
}

func TestICMPEchoPairsAndErrors(t *testing.T) {
	tb := NewTable(Config{})
	icmp := func(src, dst netip.Addr, typ uint8, id uint16) *decode.Packet {
		p := pkt(decode.ProtoICMP, src, 0, dst, 0, 0)
		p.ICMPType, p.ICMPID, p.HasICMPID = typ, id, true
		return p
	}
	req, d1 := tb.Lookup(icmp(cli, srv, 8, 77), 0)
	rep, d2 := tb.Lookup(icmp(srv, cli, 0, 77), 0)
	if req != rep || d1 != ToServer || d2 != ToClient || !req.Established() {
		t.Fatalf("echo pair: same %v dirs %v %v", req == rep, d1, d2)
	}
	if req.Key.SrcPort != 77 || req.Key.Src != cli {
		t.Fatalf("key %+v", req.Key)
	}
	other, _ := tb.Lookup(icmp(cli, srv, 8, 78), 0)
	if other == req {
		t.Fatal("different echo IDs share a flow")
	}
	unreach := icmp(srv, cli, 3, 0)
	unreach.ICMPCode, unreach.HasICMPID = 3, false
	e, _ := tb.Lookup(unreach, 0)
	if e == req || e.Key.SrcPort != 3 || e.Key.DstPort != 3 {
		t.Fatalf("error flow %+v", e.Key)
	}
	// A reply seen first: its sender is the server.
	r, d := tb.Lookup(icmp(srv, cli, 0, 99), 0)
	if d != ToClient || r.Key.Src != cli {
		t.Fatalf("reply first: dir %v key %+v", d, r.Key)
	}
}

func TestNoIPAndFragments(t *testing.T) {
	tb := NewTable(Config{})
	if f, _ := tb.Lookup(&decode.Packet{HasEth: true, EtherType: 0x0806}, 0); f != nil {
		t.Fatal("ARP got a flow")
	}
	frag := pkt(decode.ProtoUDP, cli, 0, srv, 0, 0)
	frag.L4Header, frag.Fragment = nil, true
	ff, d := tb.Lookup(frag, 0)
	udp, _ := tb.Lookup(pkt(decode.ProtoUDP, cli, 0, srv, 0, 0), 0)
	if ff == nil || ff == udp || ff.TCP != nil || d != ToServer || ff.Key.SrcPort != 0 {
		t.Fatal("fragment flow")
	}
	back := pkt(decode.ProtoUDP, srv, 0, cli, 0, 0)
	back.L4Header, back.Fragment = nil, true
	if f2, d2 := tb.Lookup(back, 0); f2 != ff || d2 != ToClient {
		t.Fatal("fragments of both directions should share their flow")
	}
	gre := pkt(47, cli, 0, srv, 0, 0)
	gre.L4Header = nil
	if g, _ := tb.Lookup(gre, 0); g == nil || g == ff || g.Key.Proto != 47 {
		t.Fatal("GRE flow")
	}
	if s := tb.Stats(); s.NoFlow != 1 || s.Fragment != 2 {
		t.Fatalf("stats %+v", s)
	}
}

func TestPortReuseStartsNewFlow(t *testing.T) {
	var ended []EndReason
	tb := NewTable(Config{OnEnd: func(f *Flow, r EndReason) { ended = append(ended, r) }})
	f, _, _ := look(t, tb, tcp(cli, 4000, srv, 80, syn, 1, 0, "", 0))
	id := f.ID
	look(t, tb, tcp(srv, 80, cli, 4000, synack, 1, 2, "", 1))
	look(t, tb, tcp(cli, 4000, srv, 80, ack, 2, 2, "", 2))
	// A SYN on a live session is not reuse.
	if g, _, _ := look(t, tb, tcp(cli, 4000, srv, 80, syn, 1, 0, "", 3)); g.ID != id {
		t.Fatal("SYN retransmission started a new flow")
	}
	look(t, tb, tcp(cli, 4000, srv, 80, rst, 2, 0, "", 4))
	if !f.TCP.Closed() {
		t.Fatal("RST did not close")
	}
	g, d, _ := look(t, tb, tcp(cli, 4000, srv, 80, syn, 5000, 0, "", 5))
	if g.ID == id || d != ToServer || g.TCP.State() != stream.StateSynSent || g.Pkts[0] != 1 {
		t.Fatalf("reuse: id %d (old %d) state %v", g.ID, id, g.TCP.State())
	}
	if len(ended) != 1 || ended[0] != ReasonReuse || tb.Stats().Reused != 1 || tb.Stats().Active != 1 {
		t.Fatalf("ended %v stats %+v", ended, tb.Stats())
	}
}

func TestTimeouts(t *testing.T) {
	tb := NewTable(Config{Timeouts: Timeouts{New: 30 * time.Second, Established: 300 * time.Second, Closed: time.Second}})
	udpNew, _ := tb.Lookup(pkt(decode.ProtoUDP, cli, 1, srv, 2, 0), 0)
	udpEst, _ := tb.Lookup(pkt(decode.ProtoUDP, cli, 3, srv, 4, 0), 0)
	tb.Lookup(pkt(decode.ProtoUDP, srv, 4, cli, 3, 0), 0)
	closed, _, _ := look(t, tb, tcp(cli, 5, srv, 6, syn, 1, 0, "", 0))
	look(t, tb, tcp(srv, 6, cli, 5, rst|ack, 0, 2, "", 0))
	idNew, idEst, idClosed := udpNew.ID, udpEst.ID, closed.ID
	var got []uint64
	end := func(f *Flow, r EndReason) {
		if r != ReasonTimeout {
			t.Errorf("reason %v", r)
		}
		got = append(got, f.ID)
	}
	tb.Expire(t0.Add(time.Second), end)
	if len(got) != 0 {
		t.Fatalf("expired at exactly the closed timeout: %v", got)
	}
	tb.Expire(t0.Add(2*time.Second), end)
	if len(got) != 1 || got[0] != idClosed {
		t.Fatalf("after 2s: %v want closed %d", got, idClosed)
	}
	tb.Expire(t0.Add(31*time.Second), end)
	if len(got) != 2 || got[1] != idNew {
		t.Fatalf("after 31s: %v want new %d", got, idNew)
	}
	tb.Expire(t0.Add(299*time.Second), end)
	if len(got) != 2 {
		t.Fatalf("established expired early: %v", got)
	}
	tb.Expire(t0.Add(301*time.Second), end)
	if len(got) != 3 || got[2] != idEst || tb.Stats().Active != 0 || tb.Stats().Timedout != 3 {
		t.Fatalf("after 301s: %v stats %+v", got, tb.Stats())
	}
}

func TestDefaultTimeoutsFollowSuricataYAML(t *testing.T) {
	tb := NewTable(Config{})
	f, _, _ := look(t, tb, tcp(cli, 1, srv, 2, syn, 1, 0, "", 0))
	u, _ := tb.Lookup(pkt(decode.ProtoUDP, cli, 1, srv, 2, 0), 0)
	fid, uid := f.ID, u.ID
	var got []uint64
	tb.Expire(t0.Add(45*time.Second), func(f *Flow, _ EndReason) { got = append(got, f.ID) })
	if len(got) != 1 || got[0] != uid {
		t.Fatalf("at 45s: %v (udp new 30s, tcp new 60s)", got)
	}
	tb.Expire(t0.Add(61*time.Second), func(f *Flow, _ EndReason) { got = append(got, f.ID) })
	if len(got) != 2 || got[1] != fid {
		t.Fatalf("at 61s: %v", got)
	}
}

func TestEvictionUnderMaxFlows(t *testing.T) {
	var evicted []uint16
	tb := NewTable(Config{MaxFlows: 3, OnEnd: func(f *Flow, r EndReason) {
		if r != ReasonForced {
			t.Errorf("reason %v", r)
		}
		evicted = append(evicted, f.Key.SrcPort)
	}})
	for port := uint16(1); port <= 3; port++ {
		tb.Lookup(pkt(decode.ProtoUDP, cli, port, srv, 53, 0), 0)
	}
	tb.Lookup(pkt(decode.ProtoUDP, cli, 1, srv, 53, 1), 0) // 1 is now the most recent
	tb.Lookup(pkt(decode.ProtoUDP, cli, 4, srv, 53, 2), 0)
	tb.Lookup(pkt(decode.ProtoUDP, cli, 5, srv, 53, 3), 0)
	if len(evicted) != 2 || evicted[0] != 2 || evicted[1] != 3 {
		t.Fatalf("evicted %v, want least recently used 2 then 3", evicted)
	}
	s := tb.Stats()
	if s.Active != 3 || s.Evicted != 2 || s.Created != 5 {
		t.Fatalf("stats %+v", s)
	}
	var flushed []uint16
	tb.Flush(func(f *Flow, r EndReason) {
		if r != ReasonShutdown {
			t.Errorf("reason %v", r)
		}
		flushed = append(flushed, f.Key.SrcPort)
	})
	if len(flushed) != 3 || tb.Stats().Active != 0 {
		t.Fatalf("flushed %v", flushed)
	}
}

func TestFlowReuseIsClean(t *testing.T) {
	tb := NewTable(Config{MaxFlows: 1})
	f, _, _ := look(t, tb, tcp(cli, 1, srv, 2, syn, 1, 0, "", 0))
	f.Bits.Set(3)
	f.AppProto, f.App = "http", 1
	old := f.ID
	g, _ := tb.Lookup(pkt(decode.ProtoUDP, cli, 1, srv, 2, 0), 0)
	if g != f {
		// MaxFlows 1 evicts f for g: the table must reuse its object.
		t.Fatal("the evicted flow's object was not reused for the next flow")
	}
	if g.ID == old || g.Bits.IsSet(3) || g.AppProto != "" || g.App != nil || g.TCP != nil || g.Pkts != [2]uint64{1, 0} {
		t.Fatalf("reused flow kept state: %+v", g)
	}
	h, _, _ := look(t, tb, tcp(cli, 7, srv, 8, ack, 1, 0, "", 0))
	if h.TCP == nil || h.TCP.State() != stream.StateNone {
		t.Fatal("reused TCP session kept state")
	}
}

func TestIDsUniqueAcrossShards(t *testing.T) {
	seen := map[uint64]bool{}
	for shard := uint8(0); shard < 4; shard++ {
		tb := NewTable(Config{Shard: shard, MaxFlows: 10})
		for port := 0; port < 5000; port++ {
			f, _ := tb.Lookup(pkt(decode.ProtoUDP, cli, uint16(port), srv, 53, 0), 0)
			if f.ID == 0 || f.ID >= 1<<63 || seen[f.ID] {
				t.Fatalf("bad or repeated ID %d", f.ID)
			}
			seen[f.ID] = true
		}
	}
}

func TestBits(t *testing.T) {
	var b Bits
	if b.IsSet(0) || b.IsSet(1000) || b.Any() {
		t.Fatal("empty set")
	}
	b.Set(3)
	b.Set(200)
	b.Set(-1)
	if !b.IsSet(3) || !b.IsSet(200) || b.IsSet(4) || b.IsSet(199) || b.IsSet(-1) {
		t.Fatal("set")
	}
	b.Toggle(3)
	b.Toggle(64)
	if b.IsSet(3) || !b.IsSet(64) {
		t.Fatal("toggle")
	}
	b.Unset(200)
	b.Unset(5000)
	if b.IsSet(200) || !b.Any() {
		t.Fatal("unset")
	}
	b.Clear()
	if b.Any() || b.IsSet(64) {
		t.Fatal("clear")
	}
}

func TestLookupExistingNoAlloc(t *testing.T) {
	tb := NewTable(Config{})
	p := pkt(decode.ProtoUDP, netip.MustParseAddr("2001:db8::1"), 1, netip.MustParseAddr("2001:db8::2"), 2, 0)
	tb.Lookup(p, 0)
	tp := tcp(cli, 1, srv, 2, ack, 1, 1, "x", 0)
	tb.Lookup(tp, 0)
	allocs := testing.AllocsPerRun(1000, func() {
		tb.Lookup(p, 0)
		if f, d := tb.Lookup(tp, 0); f.TCP.Process(tp, d) != nil {
			t.Fatal("data without handshake")
		}
	})
	if allocs != 0 {
		t.Fatalf("Lookup of existing flows allocates %.1f times", allocs)
	}
}

func BenchmarkLookupExisting(b *testing.B) {
	tb := NewTable(Config{})
	const n = 1024
	ps := make([]*decode.Packet, n)
	for i := range ps {
		src := netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})
		if i%2 == 0 {
			ps[i] = pkt(decode.ProtoUDP, src, uint16(i), srv, 53, 0)
		} else {
			ps[i] = tcp(srv, 80, src, uint16(i), ack, 1, 1, "", 0)
		}
		tb.Lookup(ps[i], 0)
	}
	b.ReportAllocs()
	defer cpuNs(b)()
	i := 0
	for b.Loop() {
		tb.Lookup(ps[i&(n-1)], 0)
		i++
	}
}

func BenchmarkLookupNewFlowsUnderCap(b *testing.B) {
	tb := NewTable(Config{MaxFlows: 4096})
	p := pkt(decode.ProtoUDP, cli, 0, srv, 53, 0)
	b.ReportAllocs()
	defer cpuNs(b)()
	i := 0
	for b.Loop() {
		i++
		p.SrcPort = uint16(i)
		p.SrcIP = netip.AddrFrom4([4]byte{10, 1, byte(i >> 24), byte(i >> 16)})
		tb.Lookup(p, 0)
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

func TestStreamTotalsInStats(t *testing.T) {
	tb := NewTable(Config{Stream: stream.Config{MaxBuffered: 4}})
	look(t, tb, tcp(cli, 1, srv, 2, syn, 0, 0, "", 0))
	look(t, tb, tcp(srv, 2, cli, 1, synack, 0, 1, "", 0))
	look(t, tb, tcp(cli, 1, srv, 2, ack, 1, 1, "", 0))
	look(t, tb, tcp(cli, 1, srv, 2, ack, 4, 1, "abcdef", 0)) // 5 bytes over the cap
	look(t, tb, tcp(srv, 2, cli, 1, ack, 1, 10, "", 0))      // acks past the hole
	look(t, tb, tcp(cli, 1, srv, 2, ack, 10, 1, "x", 0))
	if s := tb.Stats(); s.StreamGaps != 0 {
		t.Fatalf("counted before the flow ended: %+v", s)
	}
	tb.Flush(nil)
	// abcdef at offsets 3..8 keeps only "a" (cap 4 from offset 0); the
	// ACK then lets "x" at offset 9 skip the hole 0..2 to "a", but "x" is
	// still past the cap: one gap, two drops of 5 and 1 bytes.
	if s := tb.Stats(); s.StreamDroppedSegs != 2 || s.StreamDroppedBytes != 6 || s.StreamGaps != 1 {
		t.Fatalf("stats %+v", s)
	}
}

// checkKeys verifies that every flow in tb derives the map key it is filed
// under (Flow.mapKey): the table relies on it to remove ended flows.
func checkKeys(t *testing.T, tb *Table) {
	t.Helper()
	for k, f := range tb.flows {
		if got := f.mapKey(); got != k {
			t.Fatalf("flow %+v (kind %d, client a %v) derives key %+v, filed under %+v", f.Key, f.kind, f.clientIsA, got, k)
		}
	}
}

func TestMapKeyDerivedFromKey(t *testing.T) {
	tb := NewTable(Config{Midstream: true})
	six := netip.MustParseAddr("fe80::1")
	icmp := func(proto uint8, src, dst netip.Addr, typ, code uint8, id uint16) *decode.Packet {
		p := pkt(proto, src, 0, dst, 0, 0)
		p.ICMPType, p.ICMPCode, p.ICMPID, p.HasICMPID = typ, code, id, true
		return p
	}
	frag := pkt(decode.ProtoTCP, cli, 0, srv, 0, 0)
	frag.L4Header, frag.Fragment = nil, true
	gre := pkt(47, srv, 0, cli, 0, 0)
	gre.L4Header = nil
	for _, p := range []*decode.Packet{
		tcp(cli, 40000, srv, 80, syn, 1, 0, "", 0),
		tcp(srv, 443, cli, 40001, synack, 1, 2, "", 0), // the server speaks first
		tcp(srv, 22, cli, 40002, ack, 1, 2, "", 0),     // midstream, server's side first
		tcp(cli, 7, cli, 7, synack, 1, 2, "", 0),       // one endpoint, server first
		tcp(cli, 0, srv, 0, syn, 1, 0, "", 0),          // ports 0: not a fragment
		pkt(decode.ProtoUDP, srv, 53, cli, 5353, 0),
		pkt(decode.ProtoUDP, six, 1, six, 1, 0),
		icmp(decode.ProtoICMP, cli, srv, 8, 0, 77),
		icmp(decode.ProtoICMP, srv, cli, 0, 0, 78), // reply first
		icmp(decode.ProtoICMP, srv, cli, 3, 3, 0),
		icmp(decode.ProtoICMPv6, six, netip.MustParseAddr("fe80::2"), 129, 0, 5),
		frag, gre,
	} {
		if f, _ := tb.Lookup(p, 3); f == nil {
			t.Fatalf("no flow for %+v", p)
		}
	}
	checkKeys(t, tb)
	tb.Flush(nil)
	if len(tb.flows) != 0 || tb.head != nil {
		t.Fatalf("%d flows left after Flush", len(tb.flows))
	}
}

func TestChangedKeyStillForgotten(t *testing.T) {
	tb := NewTable(Config{})
	f, _ := tb.Lookup(pkt(decode.ProtoUDP, cli, 1, srv, 2, 0), 0)
	f.Key.SrcPort = 99 // against the rules, but it must not corrupt the table
	tb.Flush(nil)
	if len(tb.flows) != 0 {
		t.Fatal("the flow stayed in the map")
	}
}
