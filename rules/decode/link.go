package decode

import "encoding/binary"

// EtherTypes the link decoders dispatch on.
const (
	EtherTypeIPv4        uint16 = 0x0800
	EtherTypeARP         uint16 = 0x0806
	EtherTypeVLAN        uint16 = 0x8100 // 802.1Q
	EtherTypeQinQ        uint16 = 0x88a8 // 802.1ad
	EtherTypeQinQOld     uint16 = 0x9100 // pre-standard QinQ, still seen on switches
	EtherTypeIPv6        uint16 = 0x86dd
	EtherTypePPPoESess   uint16 = 0x8864
	EtherTypeMPLSUnicast uint16 = 0x8847
	EtherTypeMPLSMulti   uint16 = 0x8848
)

const (
	ethHeaderLen  = 14
	sllHeaderLen  = 16
	sll2HeaderLen = 20
	// maxVLANTags bounds the tag loop; a frame of nothing but tags is
	// still only as long as its bytes, but there is no reason to walk more.
	maxVLANTags   = 8
	maxMPLSLabels = 16
)

func (d *Decoder) decodeLink(lt LinkType, data []byte, p *Packet) {
	switch lt {
	case LinkEthernet:
		d.decodeEthernet(data, p)
	case LinkSLL:
		d.decodeSLL(data, p)
	case LinkSLL2:
		d.decodeSLL2(data, p)
	case LinkRaw, linkRawBSD, linkRawOpenBSD:
		d.decodeRawIP(data, p)
	case LinkIPv4:
		p.EtherType = EtherTypeIPv4
		d.decodeIPv4(data, p)
	case LinkIPv6:
		p.EtherType = EtherTypeIPv6
		d.decodeIPv6(data, p)
	case LinkNull:
		d.decodeNull(data, p, false)
	case LinkLoop:
		d.decodeNull(data, p, true)
	case LinkPPP:
		d.decodePPP(data, p)
	case LinkCHDLC:
		if len(data) < 4 {
			d.bad(ReasonPPPTrunc)
			return
		}
		d.decodeEtherType(binary.BigEndian.Uint16(data[2:4]), data[4:], p)
	default:
		d.bad(ReasonUnknownLinkType)
	}
}

// Further link types decoded because they are cheap and appear in capture
// collections.
const (
	LinkPPP   LinkType = 9   // PPP, with or without HDLC-like framing
	LinkCHDLC LinkType = 104 // Cisco HDLC: address, control, EtherType
)

// DLT_RAW has different values in some BSD-written files; pcap readers map
// them to LINKTYPE_RAW and so do we.
const (
	linkRawBSD     LinkType = 12
	linkRawOpenBSD LinkType = 14
)

func (d *Decoder) decodeEthernet(data []byte, p *Packet) {
	if len(data) < ethHeaderLen {
		d.bad(ReasonEthTrunc)
		return
	}
	p.HasEth = true
	copy(p.DstMAC[:], data[0:6])
	copy(p.SrcMAC[:], data[6:12])
	d.decodeEtherType(binary.BigEndian.Uint16(data[12:14]), data[ethHeaderLen:], p)
}

// decodeEtherType walks VLAN tags, then dispatches on the inner EtherType.
// Non-IP EtherTypes (ARP, LLDP, 802.3 lengths...) leave the frame decoded at
// the link layer: the engine still sees it.
func (d *Decoder) decodeEtherType(et uint16, rest []byte, p *Packet) {
	for n := 0; et == EtherTypeVLAN || et == EtherTypeQinQ || et == EtherTypeQinQOld; n++ {
		if len(rest) < 4 {
			p.EtherType = et
			d.bad(ReasonVLANTrunc)
			return
		}
		if n == maxVLANTags {
			break
		}
		if p.VLANCount < uint8(len(p.VLAN)) {
			p.VLAN[p.VLANCount] = binary.BigEndian.Uint16(rest[0:2]) & 0x0fff
			p.VLANCount++
		} else if n == len(p.VLAN) {
			d.event(ReasonVLANExtra)
		}
		et = binary.BigEndian.Uint16(rest[2:4])
		rest = rest[4:]
	}
	p.EtherType = et
	switch et {
	case EtherTypeIPv4:
		d.decodeIPv4(rest, p)
	case EtherTypeIPv6:
		d.decodeIPv6(rest, p)
	case EtherTypePPPoESess:
		d.decodePPPoE(rest, p)
	case EtherTypeMPLSUnicast, EtherTypeMPLSMulti:
		d.decodeMPLS(rest, p)
	}
}

func (d *Decoder) decodeSLL(data []byte, p *Packet) {
	if len(data) < sllHeaderLen {
		d.bad(ReasonSLLTrunc)
		return
	}
	d.decodeSLLProto(binary.BigEndian.Uint16(data[2:4]), binary.BigEndian.Uint16(data[14:16]), data[sllHeaderLen:], p)
}

func (d *Decoder) decodeSLL2(data []byte, p *Packet) {
	if len(data) < sll2HeaderLen {
		d.bad(ReasonSLLTrunc)
		return
	}
	d.decodeSLLProto(binary.BigEndian.Uint16(data[8:10]), binary.BigEndian.Uint16(data[0:2]), data[sll2HeaderLen:], p)
}

const (
	arphrdIPGRE   = 778 // protocol field is a GRE protocol type; not decoded
	arphrdNetlink = 824
)

// decodeSLLProto handles the protocol field shared by SLL and SLL2. For the
// usual ARPHRD types it is an EtherType; values below 0x0600 are Linux
// pseudo-protocols (802.2 LLC, CAN...) that carry no IP.
func (d *Decoder) decodeSLLProto(arphrd, proto uint16, rest []byte, p *Packet) {
	if arphrd == arphrdNetlink || arphrd == arphrdIPGRE || proto < 0x0600 {
		p.EtherType = proto
		return
	}
	d.decodeEtherType(proto, rest, p)
}

// BSD address families in NULL/LOOP headers. AF_INET6 differs by OS.
const (
	afInet         = 2
	afInet6BSD     = 24 // NetBSD, OpenBSD
	afInet6FreeBSD = 28
	afInet6Darwin  = 30
)

// decodeNull decodes DLT_NULL (host byte order of the capturing machine,
// which may not be ours) and DLT_LOOP (network order).
func (d *Decoder) decodeNull(data []byte, p *Packet, loop bool) {
	if len(data) < 4 {
		d.bad(ReasonNullTrunc)
		return
	}
	var fam uint32
	if loop {
		fam = binary.BigEndian.Uint32(data)
	} else {
		fam = binary.LittleEndian.Uint32(data)
		// Families are small: a value with high bytes set was written
		// big-endian.
		if fam&0xffff0000 != 0 {
			fam = binary.BigEndian.Uint32(data)
		}
	}
	switch fam {
	case afInet:
		p.EtherType = EtherTypeIPv4
		d.decodeIPv4(data[4:], p)
	case afInet6BSD, afInet6FreeBSD, afInet6Darwin:
		p.EtherType = EtherTypeIPv6
		d.decodeIPv6(data[4:], p)
	}
}

func (d *Decoder) decodeRawIP(data []byte, p *Packet) {
	if len(data) == 0 {
		d.bad(ReasonIPUnknownVersion)
		return
	}
	switch data[0] >> 4 {
	case 4:
		p.EtherType = EtherTypeIPv4
		d.decodeIPv4(data, p)
	case 6:
		p.EtherType = EtherTypeIPv6
		d.decodeIPv6(data, p)
	default:
		d.bad(ReasonIPUnknownVersion)
	}
}

// PPP protocol numbers carried in PPPoE sessions.
const (
	pppIPv4 = 0x0021
	pppIPv6 = 0x0057
)

// decodePPPoE decodes a PPPoE session header (RFC 2516) and its PPP
// protocol field; non-IP PPP (LCP, IPCP...) stays link-only.
func (d *Decoder) decodePPPoE(rest []byte, p *Packet) {
	if len(rest) < 8 {
		d.bad(ReasonPPPoETrunc)
		return
	}
	// The PPPoE length covers the PPP protocol field and payload; Ethernet
	// padding beyond it is cut here so IP sees the same bytes as on PPP.
	plen := int(binary.BigEndian.Uint16(rest[4:6]))
	body := rest[6:]
	if plen < len(body) {
		body = body[:plen]
	}
	if len(body) < 2 {
		d.bad(ReasonPPPoETrunc)
		return
	}
	switch binary.BigEndian.Uint16(body[0:2]) {
	case pppIPv4:
		d.decodeIPv4(body[2:], p)
	case pppIPv6:
		d.decodeIPv6(body[2:], p)
	}
}

// decodePPP decodes a PPP link header (RFC 1661/1662): an optional
// 0xff 0x03 address/control pair, then a protocol field that is one byte
// when compressed (odd first byte) and two otherwise.
func (d *Decoder) decodePPP(data []byte, p *Packet) {
	if len(data) >= 2 && data[0] == 0xff && data[1] == 0x03 {
		data = data[2:]
	}
	if len(data) < 1 || (data[0]&1 == 0 && len(data) < 2) {
		d.bad(ReasonPPPTrunc)
		return
	}
	proto := uint16(data[0])
	data = data[1:]
	if proto&1 == 0 {
		proto = proto<<8 | uint16(data[0])
		data = data[1:]
	}
	switch proto {
	case pppIPv4:
		p.EtherType = EtherTypeIPv4
		d.decodeIPv4(data, p)
	case pppIPv6:
		p.EtherType = EtherTypeIPv6
		d.decodeIPv6(data, p)
	}
}

// decodeMPLS skips the label stack. MPLS does not say what it carries; like
// Suricata we guess IP from the first nibble after the bottom label, and
// leave anything else (pseudowires) link-only.
func (d *Decoder) decodeMPLS(rest []byte, p *Packet) {
	for i := 0; ; i++ {
		if len(rest) < 4 || i == maxMPLSLabels {
			d.bad(ReasonMPLSTrunc)
			return
		}
		bottom := rest[2]&0x01 != 0
		rest = rest[4:]
		if bottom {
			break
		}
	}
	if len(rest) == 0 {
		return
	}
	switch rest[0] >> 4 {
	case 4:
		d.decodeIPv4(rest, p)
	case 6:
		d.decodeIPv6(rest, p)
	}
}
