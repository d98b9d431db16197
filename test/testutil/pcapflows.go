package testutil

import (
	"encoding/binary"
	"errors"
	"io"
	"net/netip"
	"sort"
	"testing"

	"github.com/tapwatch/tapwatch/rules/decode"
)

// FlowKey names a connection either way round: A is the lower endpoint.
type FlowKey struct {
	A, B netip.AddrPort
}

// HasPort reports whether either endpoint uses port.
func (k FlowKey) HasPort(port uint16) bool {
	return k.A.Port() == port || k.B.Port() == port
}

// Flow is one TCP or UDP connection of a capture. Direction 0 is from the
// client (the sender of the first packet, or the receiver of a SYN-ACK seen
// first), 1 is towards it.
type Flow struct {
	Key    FlowKey
	Client netip.AddrPort
	Proto  uint8 // decode.ProtoTCP or decode.ProtoUDP

	isn     [2]uint32
	haveISN [2]bool
	segs    [2][]segment
	udp     [2][][]byte
	streams [2][]byte
}

type segment struct {
	seq  uint32
	data []byte
}

// Stream returns a TCP flow's payload in direction dir, reassembled by
// sequence number: the first copy wins on overlap, and a hole ends the
// stream, as a reassembler would wait there. Enough for clean captures.
func (f *Flow) Stream(dir int) []byte { return f.streams[dir] }

// UDP returns a UDP flow's non-empty payloads in direction dir, in order.
func (f *Flow) UDP(dir int) [][]byte { return f.udp[dir] }

// ReadFlows decodes a capture with rules/decode into its flows, in order of
// first packet. A file that is not a capture, or breaks off, is logged, not
// failed: corpus walks meet such files.
func ReadFlows(tb testing.TB, path string) []*Flow {
	tb.Helper()
	r, err := decode.OpenPcap(path)
	if err != nil {
		tb.Logf("%s: %v", path, err)
		return nil
	}
	defer r.Close()
	type key struct {
		FlowKey
		proto uint8
	}
	dec := decode.NewDecoder(decode.Config{})
	var p decode.Packet
	flows := map[key]*Flow{}
	var order []*Flow
	for {
		data, ci, err := r.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				tb.Logf("%s: %v", path, err)
			}
			break
		}
		p.Timestamp, p.OrigLen = ci.Timestamp, ci.Length
		if !dec.Decode(ci.LinkType, data, &p) && p.L4Header == nil {
			continue
		}
		if p.IPProto != decode.ProtoTCP && p.IPProto != decode.ProtoUDP || p.L4Header == nil {
			continue
		}
		src := netip.AddrPortFrom(p.SrcIP, p.SrcPort)
		dst := netip.AddrPortFrom(p.DstIP, p.DstPort)
		k := key{FlowKey{src, dst}, p.IPProto}
		if src.Compare(dst) > 0 {
			k.A, k.B = dst, src
		}
		f := flows[k]
		if f == nil {
			f = &Flow{Key: k.FlowKey, Client: src, Proto: p.IPProto}
			if p.IPProto == decode.ProtoTCP && len(p.L4Header) >= 14 && p.L4Header[13]&0x12 == 0x12 {
				f.Client = dst // first packet seen is the SYN-ACK
			}
			flows[k] = f
			order = append(order, f)
		}
		dir := 0
		if src != f.Client {
			dir = 1
		}
		if p.IPProto == decode.ProtoUDP {
			if len(p.Payload) > 0 {
				f.udp[dir] = append(f.udp[dir], append([]byte(nil), p.Payload...))
			}
			continue
		}
		f.addSegment(dir, p.L4Header, p.Payload)
	}
	for _, f := range order {
		for dir := range 2 {
			f.streams[dir] = f.reassemble(dir)
			f.segs[dir] = nil
		}
	}
	return order
}

// addSegment records a TCP segment: a SYN sets the initial sequence number,
// else the first data segment does (a flow picked up midstream).
func (f *Flow) addSegment(dir int, hdr, payload []byte) {
	if len(hdr) < 14 {
		return
	}
	seq := binary.BigEndian.Uint32(hdr[4:])
	if hdr[13]&0x02 != 0 {
		f.isn[dir], f.haveISN[dir] = seq+1, true
		return
	}
	if len(payload) == 0 {
		return
	}
	if !f.haveISN[dir] {
		f.isn[dir], f.haveISN[dir] = seq, true
	}
	f.segs[dir] = append(f.segs[dir], segment{seq, append([]byte(nil), payload...)})
}

func (f *Flow) reassemble(dir int) []byte {
	s := f.segs[dir]
	base := f.isn[dir]
	sort.SliceStable(s, func(i, j int) bool { return int32(s[i].seq-base) < int32(s[j].seq-base) })
	var out []byte
	for _, sg := range s {
		off := int(int32(sg.seq - base))
		if off < 0 {
			continue
		}
		if off > len(out) {
			break // a hole: stop here, as a reassembler would wait
		}
		if end := off + len(sg.data); end > len(out) {
			out = append(out, sg.data[len(out)-off:]...)
		}
	}
	return out
}
