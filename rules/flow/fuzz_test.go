package flow

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/tapwatch/tapwatch/rules/decode"
)

// FuzzLookup drives a small table with arbitrary packets: Lookup, Process,
// Expire and eviction must never panic, and what they report must stay
// consistent (directions, caps, IDs).
func FuzzLookup(f *testing.F) {
	f.Add([]byte{0, 1, 2, 0x02, 0, 0, 0, 1, 0, 5, 1, 2, 1, 0x12, 0, 0, 0, 9, 0, 0})
	f.Add([]byte{2, 3, 1, 8, 0, 0, 0, 0, 0, 1, 2, 1, 3, 0, 0, 0, 0, 0, 0, 1, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 6, 1, 1, 1, 1, 1, 1, 1, 1, 0xff})
	addrs := [4]netip.Addr{
		netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2"),
		netip.MustParseAddr("fe80::1"), netip.MustParseAddr("10.0.0.1"),
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		tb := NewTable(Config{MaxFlows: 8, Midstream: len(in)%2 == 0,
			Timeouts: Timeouts{New: 2 * time.Second, Established: 5 * time.Second, Closed: time.Second}})
		now := t0
		var payload [64]byte
		for len(in) >= 10 {
			b := in[:10]
			in = in[10:]
			now = now.Add(time.Duration(b[9]) * 50 * time.Millisecond)
			src, dst := addrs[b[1]&3], addrs[b[1]>>2&3]
			p := &decode.Packet{IPVersion: 4, SrcIP: src, DstIP: dst, Timestamp: now,
				SrcPort: uint16(b[2] & 3), DstPort: uint16(b[2] >> 2 & 3), L4Header: b[:1],
				TCPFlags: b[3], TCPSeq: binary.BigEndian.Uint32(b[4:8]), TCPAck: uint32(b[8]) << 24,
				Payload: payload[:b[8]&63]}
			switch b[0] % 7 {
			case 0:
				p.IPProto = decode.ProtoTCP
			case 1:
				p.IPProto = decode.ProtoUDP
			case 2:
				p.IPProto, p.ICMPType, p.ICMPID = decode.ProtoICMP, b[3]&15, uint16(b[2])
			case 3:
				p.IPProto, p.L4Header, p.Fragment = decode.ProtoTCP, nil, true
			case 4:
				p.IPProto, p.L4Header = 47, nil
			case 5:
				p.IPVersion = 0
			case 6:
				p.IPProto, p.ICMPType = decode.ProtoICMPv6, 128+b[3]&1
			}
			fl, dir := tb.Lookup(p, uint32(b[0]>>4))
			if (fl == nil) != (p.IPVersion == 0) {
				t.Fatalf("flow %v for IP version %d", fl != nil, p.IPVersion)
			}
			if fl == nil {
				continue
			}
			if fl.ID == 0 || fl.ID >= 1<<63 || fl.Key.Proto != p.IPProto {
				t.Fatalf("flow %+v", fl)
			}
			if fl.Key.Src != fl.Key.Dst && (p.SrcIP == fl.Key.Src) != (dir == ToServer) {
				t.Fatalf("dir %v for %v -> %v in flow %+v", dir, p.SrcIP, p.DstIP, fl.Key)
			}
			if fl.TCP != nil {
				out := fl.TCP.Process(p, dir)
				if len(out) > 0 && !fl.Established() {
					t.Fatal("data delivered on a session that is not established")
				}
			}
			if b[0]&0x80 != 0 {
				tb.Expire(now, func(f *Flow, r EndReason) {
					if now.Sub(f.Last) <= time.Second {
						t.Fatalf("flow expired after %v idle", now.Sub(f.Last))
					}
				})
			}
			if s := tb.Stats(); s.Active > 8 || s.Active+s.Evicted+s.Timedout+s.Reused != s.Created {
				t.Fatalf("stats %+v", s)
			}
			checkKeys(t, tb)
		}
		ids := map[uint64]bool{}
		tb.Flush(func(f *Flow, _ EndReason) {
			if ids[f.ID] {
				t.Fatalf("duplicate ID %d", f.ID)
			}
			ids[f.ID] = true
		})
	})
}
