package decode

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// bigUDP4 returns an IPv4/UDP datagram (no link header) with n payload bytes.
func bigUDP4(t testing.TB, n int, id uint16) []byte {
	ip := ip4(layers.IPProtocolUDP)
	ip.Flags, ip.Id = 0, id
	data := make([]byte, n)
	for i := range data {
		data[i] = byte(i * 7)
	}
	return serialize(t, ip, udpLayer(ip), gopacket.Payload(data))
}

// frag4 splits an IPv4 datagram into Ethernet frames of at most chunk data
// bytes (a multiple of 8).
func frag4(dgram []byte, chunk int) [][]byte {
	hl := int(dgram[0]&0xf) * 4
	body := dgram[hl:]
	var out [][]byte
	for off := 0; off < len(body); off += chunk {
		end := min(off+chunk, len(body))
		out = append(out, frag4At(dgram[:hl], off, body[off:end], end < len(body)))
	}
	return out
}

// frag4At builds one IPv4 fragment frame carrying data at byte offset off.
func frag4At(hdr []byte, off int, data []byte, more bool) []byte {
	h := append([]byte(nil), hdr...)
	binary.BigEndian.PutUint16(h[2:4], uint16(len(h)+len(data)))
	ff := uint16(off / 8)
	if more {
		ff |= 0x2000
	}
	binary.BigEndian.PutUint16(h[6:8], ff)
	binary.BigEndian.PutUint16(h[10:12], ipv4Checksum(h))
	return append(append(ethHeader(EtherTypeIPv4), h...), data...)
}

// bigUDP6 returns an IPv6/UDP packet (no link header) with n payload bytes.
func bigUDP6(t testing.TB, n int) []byte {
	ip := ip6(layers.IPProtocolUDP)
	data := make([]byte, n)
	for i := range data {
		data[i] = byte(i * 13)
	}
	return serialize(t, ip, udpLayer(ip), gopacket.Payload(data))
}

// frag6 splits an IPv6 packet whose next header is the upper layer into
// fragments, with a hop-by-hop header in the unfragmentable part.
func frag6(pkt []byte, chunk int, id uint32) [][]byte {
	body := pkt[40:]
	var out [][]byte
	for off := 0; off < len(body); off += chunk {
		end := min(off+chunk, len(body))
		h := append([]byte(nil), pkt[:40]...)
		h[6] = 0                                  // hop-by-hop
		hop := []byte{44, 0, 1, 4, 0, 0, 0, 0}    // next: fragment; PadN
		fh := []byte{pkt[6], 0, 0, 0, 0, 0, 0, 0} // next: the upper layer
		fo := uint16(off/8) << 3
		if end < len(body) {
			fo |= 1
		}
		binary.BigEndian.PutUint16(fh[2:4], fo)
		binary.BigEndian.PutUint32(fh[4:8], id)
		binary.BigEndian.PutUint16(h[4:6], uint16(len(hop)+len(fh)+end-off))
		f := append(ethHeader(EtherTypeIPv6), h...)
		f = append(append(append(f, hop...), fh...), body[off:end]...)
		out = append(out, f)
	}
	return out
}

// feed decodes frames in order and returns the packet after the last one,
// checking the earlier ones are bare fragments.
func feed(t *testing.T, d *Decoder, frames [][]byte, ts time.Time) *Packet {
	t.Helper()
	p := &Packet{}
	for i, f := range frames {
		p.Timestamp = ts
		ok := d.Decode(LinkEthernet, f, p)
		if i < len(frames)-1 {
			if !ok || !p.Fragment || p.Reassembled || p.HasL4() || p.IPVersion == 0 {
				t.Fatalf("fragment %d: ok=%v fragment=%v reassembled=%v l4=%v", i, ok, p.Fragment, p.Reassembled, p.HasL4())
			}
		} else if !ok {
			t.Fatalf("last fragment malformed: %v", d.Stats().ByReason())
		}
	}
	return p
}

func checkReassembled(t *testing.T, p *Packet, want []byte, wantPayload int) {
	t.Helper()
	if !p.Reassembled || p.Fragment || !p.IsUDP() || p.DstPort != 53 {
		t.Fatalf("reassembled=%v fragment=%v udp=%v", p.Reassembled, p.Fragment, p.IsUDP())
	}
	if len(p.Payload) != wantPayload || !bytes.Equal(p.Payload, want[len(want)-wantPayload:]) {
		t.Fatalf("payload %d bytes, want %d equal to the original", len(p.Payload), wantPayload)
	}
	if p.IPFlags&0x1 != 0 || p.FragOff != 0 {
		t.Errorf("reassembled header still fragmented: flags=%d off=%d", p.IPFlags, p.FragOff)
	}
}

func reversed(fs [][]byte) [][]byte {
	r := make([][]byte, len(fs))
	for i, f := range fs {
		r[len(fs)-1-i] = f
	}
	return r
}

func TestDefragIPv4(t *testing.T) {
	dg := bigUDP4(t, 3000, 0x4242)
	frags := frag4(dg, 1200)
	if len(frags) != 3 {
		t.Fatalf("%d fragments", len(frags))
	}
	ts := time.Unix(1700000000, 0)
	for name, order := range map[string][][]byte{
		"in order":  frags,
		"reversed":  reversed(frags),
		"middle":    {frags[1], frags[0], frags[2]},
		"duplicate": {frags[0], frags[0], frags[2], frags[1]},
	} {
		t.Run(name, func(t *testing.T) {
			d := NewDecoder(Config{})
			p := feed(t, d, order, ts)
			checkReassembled(t, p, dg, 3000)
			if p.IPLen != len(dg) || p.IPID != 0x4242 || ipv4Checksum(p.IPHeader) != binary.BigEndian.Uint16(p.IPHeader[10:12]) {
				t.Errorf("iplen=%d id=%#x checksum mismatch", p.IPLen, p.IPID)
			}
			if !p.HasEth || len(p.Data) != len(order[len(order)-1]) {
				t.Errorf("link layer lost on the reassembled packet")
			}
			st := d.Stats()
			if wantOverlap := name == "duplicate"; (st.Reasons[ReasonFragOverlap] != 0) != wantOverlap {
				t.Errorf("frag_overlap=%d", st.Reasons[ReasonFragOverlap])
			}
			if st.Malformed != 0 || d.defrag.mem != 0 || len(d.defrag.sets) != 0 {
				t.Errorf("malformed=%d, %d bytes / %d sets left", st.Malformed, d.defrag.mem, len(d.defrag.sets))
			}
		})
	}
}

// TestDefragOverlapFirstWins sends a fragment that rewrites bytes already
// held: the first data wins, and the overlap is flagged.
func TestDefragOverlapFirstWins(t *testing.T) {
	dg := bigUDP4(t, 64, 7)
	hdr, body := dg[:20], dg[20:] // 8 UDP + 64 data = 72 bytes
	evil := bytes.Repeat([]byte{0xee}, 32)
	frames := [][]byte{
		frag4At(hdr, 0, body[:40], true),
		frag4At(hdr, 24, evil, true), // overlaps [24,40) held, adds [40,56)
		frag4At(hdr, 56, body[56:], false),
	}
	d := NewDecoder(Config{})
	p := feed(t, d, frames, time.Unix(1, 0))
	if !p.Reassembled || !p.FragOverlap || d.Stats().Reasons[ReasonFragOverlap] != 1 {
		t.Fatalf("reassembled=%v overlap=%v %v", p.Reassembled, p.FragOverlap, d.Stats().ByReason())
	}
	want := append(append(append([]byte(nil), body[8:40]...), evil[16:]...), body[56:]...)
	if !bytes.Equal(p.Payload, want) {
		t.Errorf("payload\n got %x\nwant %x", p.Payload, want)
	}
}

func TestDefragIPv6(t *testing.T) {
	pkt := bigUDP6(t, 2500)
	frags := frag6(pkt, 1000, 0xabcdef)
	for name, order := range map[string][][]byte{"in order": frags, "reversed": reversed(frags)} {
		t.Run(name, func(t *testing.T) {
			d := NewDecoder(Config{})
			p := feed(t, d, order, time.Unix(5, 0))
			checkReassembled(t, p, pkt, 2500)
			if p.IPVersion != 6 || p.IPProto != ProtoUDP || p.IPLen != len(pkt)+8 || p.IPID != 0 {
				t.Errorf("ver=%d proto=%d iplen=%d (want %d) id=%d", p.IPVersion, p.IPProto, p.IPLen, len(pkt)+8, p.IPID)
			}
		})
	}
	// A fragment alone reports its identification and the upper protocol.
	d := NewDecoder(Config{})
	p := &Packet{}
	if !d.Decode(LinkEthernet, frags[1], p) || !p.Fragment || p.IPID != 0xabcdef || p.IPProto != ProtoUDP || p.FragOff != 125 || p.IPFlags != 1 {
		t.Errorf("lone fragment: fragment=%v id=%#x proto=%d off=%d flags=%d", p.Fragment, p.IPID, p.IPProto, p.FragOff, p.IPFlags)
	}
}

func TestDefragTimeout(t *testing.T) {
	dg := bigUDP4(t, 3000, 1)
	frags := frag4(dg, 1200)
	d := NewDecoder(Config{})
	p := &Packet{}
	t0 := time.Unix(1000, 0)
	p.Timestamp = t0
	d.Decode(LinkEthernet, frags[0], p)
	p.Timestamp = t0.Add(30 * time.Second)
	d.Decode(LinkEthernet, frags[1], p)
	p.Timestamp = t0.Add(61 * time.Second)
	d.Decode(LinkEthernet, frags[2], p)
	if p.Reassembled || !p.Fragment {
		t.Fatalf("reassembled across the timeout")
	}
	if n := d.Stats().Reasons[ReasonFragTimeout]; n != 1 {
		t.Errorf("frag_timeout=%d", n)
	}
	// Within the timeout the set completes.
	d = NewDecoder(Config{})
	p = feed(t, d, frags, t0)
	if !p.Reassembled {
		t.Errorf("not reassembled within the timeout")
	}
}

func TestDefragMemoryCap(t *testing.T) {
	d := NewDecoder(Config{DefragMaxBytes: 8 << 10})
	p := &Packet{}
	// Many incomplete datagrams: first fragments only.
	for id := range 50 {
		dg := bigUDP4(t, 3000, uint16(id))
		if !d.Decode(LinkEthernet, frag4(dg, 1200)[0], p) || !p.Fragment {
			t.Fatalf("fragment %d not accepted", id)
		}
		if d.defrag.mem > 8<<10 {
			t.Fatalf("defrag holds %d bytes over its 8 KiB cap", d.defrag.mem)
		}
	}
	if n := d.Stats().Reasons[ReasonDefragEvicted]; n == 0 {
		t.Errorf("no evictions counted")
	}
	// The newest datagram still completes.
	dg := bigUDP4(t, 3000, 49)
	p = feed(t, d, frag4(dg, 1200)[1:], time.Time{})
	if !p.Reassembled {
		t.Errorf("newest datagram not reassembled after evictions")
	}
}

func TestDefragTooBig(t *testing.T) {
	dg := bigUDP4(t, 100, 9)
	d := NewDecoder(Config{})
	p := &Packet{}
	f := frag4At(dg[:20], 65528, make([]byte, 16), false) // ends at 65544
	if d.Decode(LinkEthernet, f, p) || d.Stats().Reasons[ReasonFragTooBig] != 1 {
		t.Errorf("oversized fragment accepted: %v", d.Stats().ByReason())
	}
	if len(d.defrag.sets) != 0 {
		t.Errorf("set kept after frag_too_big")
	}
}

// TestDefragVLANSeparation: same addresses and id on different VLANs are
// different datagrams.
func TestDefragVLANSeparation(t *testing.T) {
	dg := bigUDP4(t, 3000, 3)
	frags := frag4(dg, 1200)
	tag := func(f []byte, vlan uint16) []byte {
		out := append([]byte(nil), f[:12]...)
		out = append(out, 0x81, 0, byte(vlan>>8), byte(vlan), 0x08, 0)
		return append(out, f[14:]...)
	}
	d := NewDecoder(Config{})
	p := &Packet{}
	d.Decode(LinkEthernet, tag(frags[0], 10), p)
	d.Decode(LinkEthernet, tag(frags[1], 10), p)
	d.Decode(LinkEthernet, tag(frags[2], 20), p)
	if p.Reassembled {
		t.Fatalf("fragments of different VLANs reassembled together")
	}
	d.Decode(LinkEthernet, tag(frags[2], 10), p)
	if !p.Reassembled || p.VLAN[0] != 10 {
		t.Errorf("VLAN 10 datagram not reassembled")
	}
}
