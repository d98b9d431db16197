package decode

import "encoding/binary"

// EtherTypes (GRE protocol types) a tunnel may carry besides IP.
const (
	EtherTypePPP uint16 = 0x880b // PPP, as PPTP's enhanced GRE carries it
	EtherTypeTEB uint16 = 0x6558 // transparent Ethernet bridging (Ethernet over GRE)
)

// MaxTunnelDepth bounds how deep DecodeInner follows nested tunnels: real
// networks nest one or two, and each level costs a full inspection.
const MaxTunnelDepth = 8

const greMinHeader = 4

// GRE flag bits in the first byte (RFC 2784/2890) and PPTP's ack bit in the
// second (RFC 2637).
const (
	greChecksum = 0x80
	greRouting  = 0x40
	greKey      = 0x20
	greSeq      = 0x10
	greAck      = 0x80
)

// decodeGRE reads a GRE header (version 0, RFC 2784/2890, or version 1,
// PPTP's enhanced GRE) and points p.Inner at the payload when it is a
// protocol DecodeInner knows. Source routing (deprecated by RFC 2784) and
// unknown versions leave the packet decoded at the IP layer.
func (d *Decoder) decodeGRE(b []byte, p *Packet) {
	if len(b) < greMinHeader {
		d.bad(ReasonGRETrunc)
		return
	}
	flags, ver := b[0], b[1]&0x07
	proto := binary.BigEndian.Uint16(b[2:4])
	n := greMinHeader
	switch ver {
	case 0:
		if flags&greRouting != 0 {
			return
		}
		if flags&greChecksum != 0 {
			n += 4
		}
		if flags&greKey != 0 {
			n += 4
		}
		if flags&greSeq != 0 {
			n += 4
		}
	case 1:
		// Enhanced GRE always has the key (payload length, call id) and
		// carries PPP only.
		if flags&greKey == 0 || proto != EtherTypePPP {
			d.bad(ReasonGRETrunc)
			return
		}
		n += 4
		if flags&greSeq != 0 {
			n += 4
		}
		if b[1]&greAck != 0 {
			n += 4
		}
	default:
		d.bad(ReasonGRETrunc)
		return
	}
	if len(b) < n {
		d.bad(ReasonGRETrunc)
		return
	}
	switch proto {
	case EtherTypeIPv4, EtherTypeIPv6, EtherTypePPP, EtherTypeTEB:
		if len(b) > n {
			p.Inner, p.InnerType = b[n:], proto
		}
	}
}

// DecodeInner decodes the packet outer's tunnel carries (outer.Inner) into
// p, which it resets first. p gets outer's capture metadata, a Src naming
// the tunnel and the outermost packet's tuple in its Tunnel* fields; its
// Data is the tunnel payload. It returns false when outer carries nothing,
// the nesting is deeper than MaxTunnelDepth, or the inner packet is
// malformed (counted like any malformed frame).
//
// When both outer and p are IP datagrams rebuilt from fragments, outer's
// slices may no longer be valid afterwards: inspect outer first.
func (d *Decoder) DecodeInner(outer, p *Packet) bool {
	if len(outer.Inner) == 0 {
		return false
	}
	if outer.TunnelDepth >= MaxTunnelDepth {
		d.event(ReasonTunnelDepth)
		return false
	}
	inner, typ := outer.Inner, outer.InnerType
	p.Reset()
	p.Timestamp, p.Num, p.Data = outer.Timestamp, outer.Num, inner
	// A snap-length cut of the outer frame cuts the inner packet too.
	p.OrigLen = len(inner) + outer.OrigLen - len(outer.Data)
	p.LinkType = LinkRaw
	p.TunnelDepth = outer.TunnelDepth + 1
	if outer.TunnelDepth == 0 {
		p.TunnelSrcIP, p.TunnelDstIP, p.TunnelProto = outer.SrcIP, outer.DstIP, outer.IPProto
		p.TunnelSrcPort, p.TunnelDstPort = outer.SrcPort, outer.DstPort
	} else {
		p.TunnelSrcIP, p.TunnelDstIP, p.TunnelProto = outer.TunnelSrcIP, outer.TunnelDstIP, outer.TunnelProto
		p.TunnelSrcPort, p.TunnelDstPort = outer.TunnelSrcPort, outer.TunnelDstPort
	}
	switch {
	case outer.IPProto == ProtoGRE:
		p.Src = PktSrcGRETunnel
	case outer.IPVersion == 6:
		p.Src = PktSrcIPv6Tunnel
	default:
		p.Src = PktSrcIPv4Tunnel
	}
	d.reason = ReasonNone
	d.inReasm = false
	switch typ {
	case EtherTypeIPv4:
		p.EtherType = typ
		d.decodeIPv4(inner, p)
	case EtherTypeIPv6:
		p.EtherType = typ
		d.decodeIPv6(inner, p)
	case EtherTypePPP:
		// Logged with its PPP header, like Suricata's GRE pseudo packet.
		p.LinkType = LinkPPP
		d.decodePPP(inner, p)
	case EtherTypeTEB:
		p.LinkType = LinkEthernet
		d.decodeEthernet(inner, p)
	default:
		return false
	}
	if d.reason != ReasonNone {
		d.stats.Malformed++
		d.stats.Reasons[d.reason]++
		return false
	}
	return true
}
