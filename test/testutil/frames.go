package testutil

import (
	"encoding/binary"
	"net"
	"net/netip"
)

// Frame describes a crafted Ethernet frame carrying UDP or TCP over IPv4 or
// IPv6, optionally 802.1Q-tagged.
type Frame struct {
	Dst, Src   net.HardwareAddr
	VLAN       uint16 // 0: untagged
	SrcIP      netip.Addr
	DstIP      netip.Addr
	Proto      uint8 // 17 (UDP) when 0
	SrcPort    uint16
	DstPort    uint16
	Payload    []byte
	FragOffset uint16 // IPv4: in 8-byte units; with MoreFrags makes a fragment
	MoreFrags  bool
	IPv6Frag   bool // IPv6: insert a fragment header (first fragment, M set)
}

// Bytes renders the frame. The IPv4 header checksum is set (br_netfilter
// drops frames without it); L4 checksums are left zero ("none" for UDP over
// IPv4), receivers of these frames being raw sockets and taps.
func (f Frame) Bytes() []byte {
	proto := f.Proto
	if proto == 0 {
		proto = 17
	}
	l4 := make([]byte, 8, 8+len(f.Payload)+12)
	binary.BigEndian.PutUint16(l4[0:], f.SrcPort)
	binary.BigEndian.PutUint16(l4[2:], f.DstPort)
	if proto == 6 {
		l4 = append(l4, make([]byte, 12)...) // 20-byte TCP header
		l4[12] = 5 << 4
	} else {
		binary.BigEndian.PutUint16(l4[4:], uint16(8+len(f.Payload)))
	}
	l4 = append(l4, f.Payload...)

	b := make([]byte, 0, 14+4+40+8+len(l4))
	b = append(b, f.Dst...)
	b = append(b, f.Src...)
	if f.VLAN != 0 {
		b = binary.BigEndian.AppendUint16(b, 0x8100)
		b = binary.BigEndian.AppendUint16(b, f.VLAN)
	}
	if f.SrcIP.Is4() {
		b = binary.BigEndian.AppendUint16(b, 0x0800)
		ip := make([]byte, 20)
		ip[0] = 0x45
		binary.BigEndian.PutUint16(ip[2:], uint16(20+len(l4)))
		fo := f.FragOffset & 0x1fff
		if f.MoreFrags {
			fo |= 0x2000
		}
		binary.BigEndian.PutUint16(ip[6:], fo)
		ip[8] = 64
		ip[9] = proto
		s, d := f.SrcIP.As4(), f.DstIP.As4()
		copy(ip[12:], s[:])
		copy(ip[16:], d[:])
		binary.BigEndian.PutUint16(ip[10:], ipChecksum(ip))
		b = append(b, ip...)
	} else {
		b = binary.BigEndian.AppendUint16(b, 0x86dd)
		ip := make([]byte, 40)
		ip[0] = 0x60
		next := proto
		plen := len(l4)
		if f.IPv6Frag {
			next = 44
			plen += 8
		}
		binary.BigEndian.PutUint16(ip[4:], uint16(plen))
		ip[6] = next
		ip[7] = 64
		s, d := f.SrcIP.As16(), f.DstIP.As16()
		copy(ip[8:], s[:])
		copy(ip[24:], d[:])
		b = append(b, ip...)
		if f.IPv6Frag {
			b = append(b, proto, 0, 0, 1, 0, 0, 0x12, 0x34) // offset 0, M=1
		}
	}
	return append(b, l4...)
}

// MustMAC parses a MAC or panics; for test tables.
func MustMAC(s string) net.HardwareAddr {
	m, err := net.ParseMAC(s)
	if err != nil {
		panic(err)
	}
	return m
}

func ipChecksum(h []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(h); i += 2 {
		sum += uint32(h[i])<<8 | uint32(h[i+1])
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}
