package flow

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/tapwatch/tapwatch/rules/decode"
	"github.com/tapwatch/tapwatch/test/testutil"
)

// These tests replay real captures. The decoder (rules/decode) is written
// in parallel, so they decode with gopacket into decode.Packet themselves;
// only classic pcap files are read (pcapng files are skipped).

var errNotPcap = errors.New("not a classic pcap file")

// readPcap decodes a classic pcap file into packets.
func readPcap(path string) ([]*decode.Packet, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(raw) < 24 {
		return nil, errNotPcap
	}
	var bo binary.ByteOrder
	nano := false
	switch m := binary.LittleEndian.Uint32(raw); m {
	case 0xa1b2c3d4, 0xa1b23c4d:
		bo, nano = binary.LittleEndian, m == 0xa1b23c4d
	case 0xd4c3b2a1, 0x4d3cb2a1:
		bo, nano = binary.BigEndian, m == 0x4d3cb2a1
	default:
		return nil, errNotPcap
	}
	link := bo.Uint32(raw[20:]) & 0xffff
	var first gopacket.Decoder
	switch link {
	case 1:
		first = layers.LayerTypeEthernet
	case 113:
		first = layers.LayerTypeLinuxSLL
	case 101, 228, 229:
		first = rawIP{}
	default:
		return nil, errNotPcap
	}
	var out []*decode.Packet
	for off := 24; off+16 <= len(raw); {
		sec, frac := bo.Uint32(raw[off:]), bo.Uint32(raw[off+4:])
		incl, orig := int(bo.Uint32(raw[off+8:])), int(bo.Uint32(raw[off+12:]))
		off += 16
		if incl < 0 || off+incl > len(raw) {
			break
		}
		data := raw[off : off+incl]
		off += incl
		ns := int64(frac) * 1000
		if nano {
			ns = int64(frac)
		}
		p := toPacket(gopacket.NewPacket(data, first, gopacket.NoCopy), data)
		p.Timestamp = time.Unix(int64(sec), ns)
		p.OrigLen = orig
		p.Num = uint64(len(out) + 1)
		out = append(out, p)
	}
	return out, nil
}

type rawIP struct{}

func (rawIP) Decode(data []byte, pb gopacket.PacketBuilder) error {
	if len(data) > 0 && data[0]>>4 == 6 {
		return layers.LayerTypeIPv6.Decode(data, pb)
	}
	return layers.LayerTypeIPv4.Decode(data, pb)
}

func toPacket(gp gopacket.Packet, data []byte) *decode.Packet {
	p := &decode.Packet{Data: data}
	if l, ok := gp.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ok {
		p.IPVersion, p.IPProto = 4, uint8(l.Protocol)
		p.SrcIP, _ = netip.AddrFromSlice(l.SrcIP.To4())
		p.DstIP, _ = netip.AddrFromSlice(l.DstIP.To4())
		p.Fragment = l.Flags&layers.IPv4MoreFragments != 0 || l.FragOffset != 0
	} else if l, ok := gp.Layer(layers.LayerTypeIPv6).(*layers.IPv6); ok {
		p.IPVersion, p.IPProto = 6, uint8(l.NextHeader)
		p.SrcIP, _ = netip.AddrFromSlice(l.SrcIP)
		p.DstIP, _ = netip.AddrFromSlice(l.DstIP)
	} else {
		return p
	}
	switch l := gp.TransportLayer().(type) {
	case *layers.TCP:
		p.IPProto, p.L4Header, p.Payload = decode.ProtoTCP, l.Contents, l.Payload
		p.SrcPort, p.DstPort, p.TCPSeq, p.TCPAck = uint16(l.SrcPort), uint16(l.DstPort), l.Seq, l.Ack
		p.TCPFlags = tcpFlags(l)
	case *layers.UDP:
		p.IPProto, p.L4Header, p.Payload = decode.ProtoUDP, l.Contents, l.Payload
		p.SrcPort, p.DstPort = uint16(l.SrcPort), uint16(l.DstPort)
	}
	if l, ok := gp.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4); ok {
		p.IPProto, p.L4Header, p.Payload = decode.ProtoICMP, l.Contents, l.Payload
		p.ICMPType, p.ICMPCode = l.TypeCode.Type(), l.TypeCode.Code()
		p.ICMPID, p.ICMPSeq, p.HasICMPID = l.Id, l.Seq, true
	}
	return p
}

func tcpFlags(l *layers.TCP) uint8 {
	var f uint8
	for _, b := range []struct {
		on  bool
		bit uint8
	}{{l.FIN, decode.TCPFin}, {l.SYN, decode.TCPSyn}, {l.RST, decode.TCPRst}, {l.PSH, decode.TCPPsh},
		{l.ACK, decode.TCPAck}, {l.URG, decode.TCPUrg}, {l.ECE, decode.TCPEce}, {l.CWR, decode.TCPCwr}} {
		if b.on {
			f |= b.bit
		}
	}
	return f
}

// replay runs packets through a table as the engine would, collecting each
// flow's reassembled streams.
type replay struct {
	tb      *Table
	streams map[uint64]*[2]bytes.Buffer
	est     map[uint64]bool
}

func newReplay(cfg Config) *replay {
	return &replay{tb: NewTable(cfg), streams: map[uint64]*[2]bytes.Buffer{}, est: map[uint64]bool{}}
}

func (r *replay) run(t testing.TB, pkts []*decode.Packet) {
	for _, p := range pkts {
		f, d := r.tb.Lookup(p, 0)
		if f == nil {
			continue
		}
		if f.Established() {
			r.est[f.ID] = true
		}
		if f.TCP == nil || !p.IsTCP() {
			continue
		}
		data := f.TCP.Process(p, d)
		bufs := r.streams[f.ID]
		if bufs == nil {
			bufs = new([2]bytes.Buffer)
			r.streams[f.ID] = bufs
		}
		bufs[d].Write(data)
		// Invariants that hold on any traffic.
		st := f.TCP.Stats(d)
		if uint64(bufs[d].Len())+st.GapBytes != f.TCP.Offset(d) && !f.TCP.DepthReached(d) {
			t.Fatalf("packet %d: offset %d != delivered %d + gaps %d", p.Num, f.TCP.Offset(d), bufs[d].Len(), st.GapBytes)
		}
		if w := f.TCP.Window(d, 256); st.Gaps == 0 && !bytes.HasSuffix(bufs[d].Bytes(), w) {
			t.Fatalf("packet %d: window is not the stream's tail", p.Num)
		}
	}
}

func (r *replay) all(d Dir) []byte {
	var b []byte
	for _, s := range r.streams {
		b = append(b, s[d].Bytes()...)
	}
	return b
}

func svPackets(t *testing.T, test, file string) []*decode.Packet {
	t.Helper()
	pkts, err := readPcap(testutil.CorpusPath(t, "suricata-verify", test, file))
	if err != nil {
		t.Fatal(err)
	}
	return pkts
}

func TestCorpusNo3WHSNotEstablished(t *testing.T) {
	pkts := svPackets(t, "alert-no-3whs-established", "no-3whs.pcap")
	seen := false
	for _, p := range pkts {
		seen = seen || bytes.Contains(p.Payload, []byte("MATCH?"))
	}
	if !seen {
		t.Fatal("capture lost its MATCH? payload; the test would prove nothing")
	}
	r := newReplay(Config{})
	r.run(t, pkts)
	if bytes.Contains(r.all(ToServer), []byte("MATCH?")) {
		t.Fatal("data of a session without handshake was reassembled")
	}
	for id, est := range r.est {
		if est {
			t.Fatalf("flow %d established without a handshake", id)
		}
	}
}

func TestCorpusMidstreamPickup(t *testing.T) {
	pkts := svPackets(t, "alert-testmyids-midstream5", "input.pcap")
	want := []byte("uid=0(root)")
	on := newReplay(Config{Midstream: true})
	on.run(t, pkts)
	if !bytes.Contains(on.all(ToClient), want) {
		t.Fatalf("midstream: response not reassembled; to client: %q", on.all(ToClient))
	}
	off := newReplay(Config{})
	off.run(t, pkts)
	if len(off.all(ToClient))+len(off.all(ToServer)) != 0 {
		t.Fatal("without midstream nothing should be reassembled")
	}
}

func TestCorpusHandshakeSession(t *testing.T) {
	// The testmyids capture: a full handshake, then an HTTP exchange whose
	// response holds "uid=0(root)".
	pkts := svPackets(t, "flowbit-oring", "input.pcap")
	if len(pkts) == 0 || pkts[0].TCPFlags != decode.TCPSyn {
		t.Fatal("capture does not start with a SYN")
	}
	for _, mid := range []bool{false, true} {
		r := newReplay(Config{Midstream: mid})
		r.run(t, pkts)
		if len(r.est) != 1 || !bytes.HasPrefix(r.all(ToServer), []byte("GET /")) ||
			!bytes.HasPrefix(r.all(ToClient), []byte("HTTP/1.1 200")) || !bytes.Contains(r.all(ToClient), []byte("uid=0(root)")) {
			t.Fatalf("midstream %v: est %v to server %q to client %q", mid, r.est, r.all(ToServer), r.all(ToClient))
		}
		var unique [2]int
		for _, p := range pkts {
			if p.IsTCP() {
				d := 0
				if p.SrcPort == 80 {
					d = 1
				}
				unique[d] += len(p.Payload)
			}
		}
		if got := len(r.all(ToServer)) + len(r.all(ToClient)); got != unique[0]+unique[1] {
			t.Errorf("reassembled %d bytes, the capture carries %d (no retransmissions in it)", got, unique[0]+unique[1])
		}
	}
}

// TestCorpusSweep replays every classic pcap of the corpus with and without
// midstream: no panic, the replay invariants hold, and stream counters
// stay sane. It logs totals (go test -v) for reports.
func TestCorpusSweep(t *testing.T) {
	testutil.SkipIfShort(t, "the corpus sweep")
	root := testutil.Corpus(t)
	var files, pkts int
	var total Stats
	var gaps, dropped, delivered, rejectedRST uint64
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		ps, err := readPcap(path)
		if err != nil {
			return nil
		}
		files++
		pkts += len(ps)
		for _, mid := range []bool{false, true} {
			var ended int
			r := newReplay(Config{Midstream: mid, MaxFlows: 512})
			r.run(t, ps)
			if mid {
				for _, s := range r.streams {
					delivered += uint64(s[0].Len() + s[1].Len())
				}
			}
			r.tb.Flush(func(f *Flow, _ EndReason) {
				ended++
				if f.TCP != nil && mid {
					for d := Dir(0); d < 2; d++ {
						st := f.TCP.Stats(d)
						gaps += st.Gaps
						dropped += st.DroppedSegs
						rejectedRST += st.RejectedRST
					}
				}
			})
			s := r.tb.Stats()
			if uint64(ended) != s.Created-s.Evicted-s.Reused || s.Active != 0 {
				t.Fatalf("%s: flushed %d, stats %+v", path, ended, s)
			}
			if mid {
				total.Created += s.Created
				total.Evicted += s.Evicted
				total.Reused += s.Reused
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 100 {
		t.Fatalf("only %d pcaps read", files)
	}
	t.Logf("%d pcaps, %d packets; midstream: %d flows (%d evicted, %d reused), %d stream bytes, %d gaps, %d dropped segments, %d RSTs rejected",
		files, pkts, total.Created, total.Evicted, total.Reused, delivered, gaps, dropped, rejectedRST)
}

func BenchmarkCorpusReplay(b *testing.B) {
	var pkts []*decode.Packet
	root := testutil.CorpusPath(b, "suricata-verify")
	filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if ps, err := readPcap(path); err == nil {
				pkts = append(pkts, ps...)
			}
		}
		return nil
	})
	b.ReportAllocs()
	defer cpuNs(b)()
	tb := NewTable(Config{Midstream: true})
	for b.Loop() {
		for _, p := range pkts {
			if f, d := tb.Lookup(p, 0); f != nil && f.TCP != nil {
				f.TCP.Process(p, d)
			}
		}
		tb.Flush(nil)
	}
	b.ReportMetric(float64(len(pkts)), "pkts/op")
}
