package decode

import (
	"net/netip"
	"time"
)

// LinkType is the pcap LINKTYPE_* value of a frame.
type LinkType uint32

// Link types tapwatch decodes (values from the pcap LINKTYPE registry).
const (
	LinkNull     LinkType = 0   // BSD loopback: 4-byte host-order address family
	LinkEthernet LinkType = 1   // Ethernet II, optionally 802.1Q/802.1ad tagged
	LinkRaw      LinkType = 101 // raw IPv4 or IPv6, version from the first nibble
	LinkLoop     LinkType = 108 // OpenBSD loopback: 4-byte network-order family
	LinkSLL      LinkType = 113 // Linux cooked capture v1
	LinkIPv4     LinkType = 228 // raw IPv4
	LinkIPv6     LinkType = 229 // raw IPv6
	LinkSLL2     LinkType = 276 // Linux cooked capture v2
)

// IP protocol numbers used across the engine.
const (
	ProtoICMP   uint8 = 1
	ProtoIPIP   uint8 = 4 // IPv4 inside IP
	ProtoTCP    uint8 = 6
	ProtoUDP    uint8 = 17
	ProtoIPv6   uint8 = 41 // IPv6 inside IP
	ProtoGRE    uint8 = 47
	ProtoICMPv6 uint8 = 58
)

// TCP flag bits as they appear in the TCP header's flags byte.
const (
	TCPFin uint8 = 0x01
	TCPSyn uint8 = 0x02
	TCPRst uint8 = 0x04
	TCPPsh uint8 = 0x08
	TCPAck uint8 = 0x10
	TCPUrg uint8 = 0x20
	TCPEce uint8 = 0x40
	TCPCwr uint8 = 0x80
)

// Packet is one decoded frame. Slices point into Data (or, for a reassembled
// IP datagram, into a buffer owned by the Decoder that stays valid until the
// next Decode call). The zero value is an empty packet; Reset it before reuse.
type Packet struct {
	Timestamp time.Time
	LinkType  LinkType
	Data      []byte // the whole frame as captured
	OrigLen   int    // length on the wire (may exceed len(Data) when truncated by snaplen)
	Num       uint64 // 1-based position in its capture (pcap_cnt in EVE), 0 when live

	// Link layer.
	HasEth    bool
	SrcMAC    [6]byte
	DstMAC    [6]byte
	EtherType uint16    // after VLAN tags
	VLAN      [2]uint16 // outer first; VLANCount says how many are valid
	VLANCount uint8

	// Network layer. IPVersion is 0 when the frame carries no IP.
	IPVersion uint8
	SrcIP     netip.Addr
	DstIP     netip.Addr
	IPHeader  []byte // the IPv4 header incl. options, or the IPv6 fixed header
	IPProto   uint8  // IPv4 protocol, or IPv6's last next-header (the L4 protocol)
	TTL       uint8  // IPv4 TTL or IPv6 hop limit
	TOS       uint8  // IPv4 TOS or IPv6 traffic class
	IPID      uint32 // IPv4 identification, or the IPv6 fragment header's identification
	IPFlags   uint8  // IPv4 flags in the low 3 bits: 0x4 reserved, 0x2 DF, 0x1 MF; IPv6 fragment header's M flag as 0x1
	FragOff   uint16 // fragment offset in 8-byte units, as in the header (IPv4 or IPv6 fragment header)
	IPOptions []byte // IPv4 options bytes (empty when IHL is 5)
	IPLen     int    // IPv4 total length, or 40 + IPv6 payload length
	// Reassembled is true when the packet is an IP datagram rebuilt from fragments.
	Reassembled bool
	// Fragment is true for a fragment that is not (yet) a whole datagram:
	// it has no L4 layer; it is still passed on for IP-only rules.
	Fragment bool
	// Truncated is true when the capture's snap length cut the datagram
	// short of its IP length: headers that fit are decoded, Payload holds
	// what was captured.
	Truncated bool
	// FragOverlap is true when this fragment overlapped data already held
	// for its datagram, or, on a reassembled datagram, when any of its
	// fragments did (first data wins; see defrag.go).
	FragOverlap bool

	// Transport layer: set according to IPProto.
	L4Header  []byte // the TCP/UDP/ICMP header bytes
	SrcPort   uint16
	DstPort   uint16
	TCPSeq    uint32
	TCPAck    uint32
	TCPFlags  uint8
	TCPWin    uint16
	TCPUrg    uint16
	TCPOpts   []byte
	ICMPType  uint8
	ICMPCode  uint8
	ICMPID    uint16 // echo and similar messages only
	ICMPSeq   uint16
	HasICMPID bool

	// Payload is the application data after the transport header (or after
	// the IP header when the transport protocol is not decoded).
	Payload []byte

	// Tunnels. A packet whose IP payload is another packet (IP-in-IP,
	// IPv6-in-IP, GRE) decodes as the outer packet with Inner set, so
	// rules on the outer header still see it; DecodeInner then turns
	// Inner into a packet of its own, as Suricata's tunnel pseudo packets.
	Inner     []byte // what the tunnel carries, from InnerType's first header
	InnerType uint16 // EtherType of Inner: IPv4, IPv6, EtherTypePPP or EtherTypeTEB

	// Set on packets that did not come off the wire as they are.
	Src PktSrc
	// StreamGap is, on a pseudo packet carrying stream data, how many
	// bytes the capture missed just before Payload.
	StreamGap   uint32
	TunnelDepth uint8 // 0 on the wire, 1 for the first inner packet...
	// The outermost packet of a tunnel packet (EVE's "tunnel" object).
	TunnelSrcIP, TunnelDstIP     netip.Addr
	TunnelSrcPort, TunnelDstPort uint16
	TunnelProto                  uint8
}

// PktSrc says where a packet came from, as EVE's pkt_src.
type PktSrc uint8

// Packet sources.
const (
	PktSrcWire        PktSrc = iota // captured as is
	PktSrcIPv4Tunnel                // decoded from inside an IPv4 packet (IP-in-IP, IPv6-in-IPv4)
	PktSrcIPv6Tunnel                // decoded from inside an IPv6 packet
	PktSrcGRETunnel                 // decoded from inside GRE
	PktSrcFlowTimeout               // pseudo packet: stream data inspected when its flow ended
	PktSrcStreamFlush               // pseudo packet: stream data inspected when its connection closed
)

// String is Suricata's spelling of s in EVE's pkt_src.
func (s PktSrc) String() string {
	switch s {
	case PktSrcIPv4Tunnel:
		return "ipv4 tunnel"
	case PktSrcIPv6Tunnel:
		return "ipv6 tunnel"
	case PktSrcGRETunnel:
		return "gre tunnel"
	case PktSrcFlowTimeout:
		return "stream (flow timeout)"
	case PktSrcStreamFlush:
		return "stream (detect/log)"
	}
	return "wire/pcap"
}

// Reset clears p for reuse without releasing its memory.
func (p *Packet) Reset() { *p = Packet{} }

// HasL4 reports whether a TCP, UDP, ICMP or ICMPv6 header was decoded.
func (p *Packet) HasL4() bool { return p.L4Header != nil }

// IsTCP reports whether p carries a decoded TCP header.
func (p *Packet) IsTCP() bool { return p.L4Header != nil && p.IPProto == ProtoTCP }

// IsUDP reports whether p carries a decoded UDP header.
func (p *Packet) IsUDP() bool { return p.L4Header != nil && p.IPProto == ProtoUDP }

// IsICMP reports whether p carries a decoded ICMP or ICMPv6 header.
func (p *Packet) IsICMP() bool {
	return p.L4Header != nil && (p.IPProto == ProtoICMP || p.IPProto == ProtoICMPv6)
}
