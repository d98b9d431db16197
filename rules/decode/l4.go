package decode

import "encoding/binary"

const (
	tcpMinHeader  = 20
	udpHeaderLen  = 8
	icmpHeaderLen = 8
)

// decodeL4 decodes the transport header of proto from body (the IP payload,
// already cut to the IP length). Protocols without a decoder leave the IP
// payload in p.Payload.
func (d *Decoder) decodeL4(proto uint8, body []byte, p *Packet) {
	switch proto {
	case ProtoTCP:
		d.decodeTCP(body, p)
	case ProtoUDP:
		d.decodeUDP(body, p)
	case ProtoICMP:
		d.decodeICMP(body, p)
	case ProtoICMPv6:
		d.decodeICMPv6(body, p)
	case ProtoIPIP:
		p.Payload, p.Inner, p.InnerType = body, body, EtherTypeIPv4
	case ProtoIPv6:
		p.Payload, p.Inner, p.InnerType = body, body, EtherTypeIPv6
	case ProtoGRE:
		p.Payload = body
		d.decodeGRE(body, p)
	default:
		p.Payload = body
	}
}

func (d *Decoder) decodeTCP(b []byte, p *Packet) {
	if len(b) < tcpMinHeader {
		d.bad(ReasonTCPTrunc)
		return
	}
	hlen := int(b[12]>>4) * 4
	if hlen < tcpMinHeader {
		d.bad(ReasonTCPBadOffset)
		return
	}
	if hlen > len(b) {
		d.bad(ReasonTCPTrunc)
		return
	}
	p.L4Header = b[:hlen]
	p.SrcPort = binary.BigEndian.Uint16(b[0:2])
	p.DstPort = binary.BigEndian.Uint16(b[2:4])
	p.TCPSeq = binary.BigEndian.Uint32(b[4:8])
	p.TCPAck = binary.BigEndian.Uint32(b[8:12])
	p.TCPFlags = b[13]
	p.TCPWin = binary.BigEndian.Uint16(b[14:16])
	p.TCPUrg = binary.BigEndian.Uint16(b[18:20])
	if hlen > tcpMinHeader {
		p.TCPOpts = b[tcpMinHeader:hlen]
	}
	p.Payload = b[hlen:]
}

func (d *Decoder) decodeUDP(b []byte, p *Packet) {
	if len(b) < udpHeaderLen {
		d.bad(ReasonUDPTrunc)
		return
	}
	ulen := int(binary.BigEndian.Uint16(b[4:6]))
	if ulen == 0 && len(b) > 0xffff {
		// A jumbogram (RFC 2675) or a BIG TCP/GSO UDP frame: the length
		// does not fit the field.
		ulen = len(b)
	}
	if ulen < udpHeaderLen || (ulen > len(b) && !p.Truncated) {
		d.bad(ReasonUDPLen)
		return
	}
	p.L4Header = b[:udpHeaderLen]
	p.SrcPort = binary.BigEndian.Uint16(b[0:2])
	p.DstPort = binary.BigEndian.Uint16(b[2:4])
	// The UDP length wins over the IP length when shorter: bytes between
	// them are not UDP payload.
	if ulen < len(b) {
		b = b[:ulen]
	}
	p.Payload = b[udpHeaderLen:]
}

func (d *Decoder) decodeICMP(b []byte, p *Packet) {
	if len(b) < icmpHeaderLen {
		d.bad(ReasonICMPTrunc)
		return
	}
	p.L4Header = b[:icmpHeaderLen]
	p.ICMPType, p.ICMPCode = b[0], b[1]
	switch p.ICMPType {
	// echo reply, echo, timestamp, timestamp reply, info request/reply,
	// address mask request/reply: the second word is identifier+sequence.
	case 0, 8, 13, 14, 15, 16, 17, 18:
		p.ICMPID = binary.BigEndian.Uint16(b[4:6])
		p.ICMPSeq = binary.BigEndian.Uint16(b[6:8])
		p.HasICMPID = true
	}
	p.Payload = b[icmpHeaderLen:]
}

func (d *Decoder) decodeICMPv6(b []byte, p *Packet) {
	if len(b) < icmpHeaderLen {
		d.bad(ReasonICMPv6Trunc)
		return
	}
	p.L4Header = b[:icmpHeaderLen]
	p.ICMPType, p.ICMPCode = b[0], b[1]
	if p.ICMPType == 128 || p.ICMPType == 129 {
		p.ICMPID = binary.BigEndian.Uint16(b[4:6])
		p.ICMPSeq = binary.BigEndian.Uint16(b[6:8])
		p.HasICMPID = true
	}
	p.Payload = b[icmpHeaderLen:]
}

// FindTCPOption walks TCP options opts (Packet.TCPOpts) and returns the
// first option, kind and length bytes included, that match accepts. The
// walk stops at End of Option List and at a malformed length, as stacks
// do, so nothing after either is found.
func FindTCPOption(opts []byte, match func(kind byte, opt []byte) bool) ([]byte, bool) {
	for len(opts) > 0 {
		switch opts[0] {
		case 0: // end of option list
			return nil, false
		case 1: // no-op
			opts = opts[1:]
			continue
		}
		if len(opts) < 2 || opts[1] < 2 || int(opts[1]) > len(opts) {
			return nil, false
		}
		opt := opts[:opts[1]]
		if match(opt[0], opt) {
			return opt, true
		}
		opts = opts[len(opt):]
	}
	return nil, false
}
