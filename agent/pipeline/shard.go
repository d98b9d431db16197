package pipeline

import (
	"encoding/binary"

	"github.com/tapwatch/tapwatch/rules/decode"
)

// Sharder maps a raw frame to the worker that owns its flow. Both
// directions of a flow map to the same worker; frames without an IP layer
// and IP fragments go to worker 0, because the decoder that reassembles a
// datagram must see all of its fragments. It parses only what hashing
// needs, so the reader goroutine stays cheap.
type Sharder struct {
	n uint32
}

// NewSharder returns a Sharder over n workers (n < 1 is treated as 1).
func NewSharder(n int) Sharder {
	if n < 1 {
		n = 1
	}
	return Sharder{n: uint32(n)}
}

// Workers is the number of workers.
func (s Sharder) Workers() int { return int(s.n) }

// Worker returns the worker index in [0, Workers()) for frame.
func (s Sharder) Worker(lt decode.LinkType, frame []byte) int {
	if s.n == 1 {
		return 0
	}
	h, ok := FlowHash(lt, frame)
	if !ok {
		return 0
	}
	return int(h % s.n)
}

// WorkerInZone is Worker for live frames: the zone (bridge or VLAN) is part
// of the flow key, so equal tuples of two tenants may land on different
// workers; both directions of one flow still meet.
func (s Sharder) WorkerInZone(lt decode.LinkType, frame []byte, zone uint32) int {
	if s.n == 1 {
		return 0
	}
	h, ok := FlowHash(lt, frame)
	if !ok {
		return 0
	}
	h ^= zone * 0x9e3779b1
	return int(h % s.n)
}

// FlowHash returns a direction-independent hash of a frame's IP addresses,
// protocol and ports. ok is false for frames without a (complete, first
// and only) IP datagram: non-IP, truncated headers, fragments.
func FlowHash(lt decode.LinkType, frame []byte) (h uint32, ok bool) {
	off, ver := l3Offset(lt, frame)
	if off < 0 {
		return 0, false
	}
	ip := frame[off:]
	var a, b []byte
	var proto uint8
	var l4 []byte
	switch ver {
	case 4:
		if len(ip) < 20 || ip[0]>>4 != 4 {
			return 0, false
		}
		ihl := int(ip[0]&0x0f) * 4
		if ihl < 20 || len(ip) < ihl {
			return 0, false
		}
		if binary.BigEndian.Uint16(ip[6:8])&0x3fff != 0 { // MF or offset
			return 0, false
		}
		proto = ip[9]
		a, b = ip[12:16], ip[16:20]
		l4 = ip[ihl:]
	case 6:
		if len(ip) < 40 || ip[0]>>4 != 6 {
			return 0, false
		}
		a, b = ip[8:24], ip[24:40]
		proto = ip[6]
		l4 = ip[40:]
		// Walk extension headers to the transport header; a fragment
		// header sends the frame to the defrag worker.
		for i := 0; i < 8; i++ {
			switch proto {
			case 0, 43, 60:
				if len(l4) < 8 {
					return 0, false
				}
				n := (int(l4[1]) + 1) * 8
				if len(l4) < n {
					return 0, false
				}
				proto, l4 = l4[0], l4[n:]
				continue
			case 44:
				return 0, false
			}
			break
		}
	default:
		return 0, false
	}
	var pa, pb uint16
	if (proto == 6 || proto == 17 || proto == 132) && len(l4) >= 4 {
		pa, pb = binary.BigEndian.Uint16(l4[0:2]), binary.BigEndian.Uint16(l4[2:4])
	}
	// Order the endpoints so both directions hash alike.
	if c := cmpBytes(a, b); c > 0 || (c == 0 && pa > pb) {
		a, b, pa, pb = b, a, pb, pa
	}
	h = 2166136261
	for _, c := range a {
		h = (h ^ uint32(c)) * 16777619
	}
	for _, c := range b {
		h = (h ^ uint32(c)) * 16777619
	}
	for _, v := range [...]uint8{proto, uint8(pa >> 8), uint8(pa), uint8(pb >> 8), uint8(pb)} {
		h = (h ^ uint32(v)) * 16777619
	}
	// FNV's low bits mix poorly; fold the high half in before the modulo.
	return h ^ h>>16, true
}

func cmpBytes(a, b []byte) int {
	for i := range a {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}

// l3Offset finds the IP header in a frame of link type lt and its version,
// or -1.
func l3Offset(lt decode.LinkType, f []byte) (int, int) {
	var et uint16
	off := 0
	switch lt {
	case decode.LinkEthernet:
		if len(f) < 14 {
			return -1, 0
		}
		et, off = binary.BigEndian.Uint16(f[12:14]), 14
		for (et == 0x8100 || et == 0x88a8 || et == 0x9100) && len(f) >= off+4 {
			et = binary.BigEndian.Uint16(f[off+2 : off+4])
			off += 4
		}
	case decode.LinkRaw:
		if len(f) < 1 {
			return -1, 0
		}
		return 0, int(f[0] >> 4)
	case decode.LinkIPv4:
		return 0, 4
	case decode.LinkIPv6:
		return 0, 6
	case decode.LinkSLL:
		if len(f) < 16 {
			return -1, 0
		}
		et, off = binary.BigEndian.Uint16(f[14:16]), 16
	case decode.LinkSLL2:
		if len(f) < 20 {
			return -1, 0
		}
		et, off = binary.BigEndian.Uint16(f[0:2]), 20
	case decode.LinkNull, decode.LinkLoop:
		if len(f) < 5 {
			return -1, 0
		}
		return 4, int(f[4] >> 4)
	default:
		return -1, 0
	}
	switch et {
	case 0x0800:
		return off, 4
	case 0x86dd:
		return off, 6
	}
	return -1, 0
}
