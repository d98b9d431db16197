package decode

import (
	"encoding/binary"
	"net/netip"
)

const (
	ipv6HeaderLen  = 40
	ipv6FragHdrLen = 8
	// maxIPv6ExtHeaders bounds the extension-header walk: real stacks
	// send a handful, and a longer chain is itself an evasion signal.
	maxIPv6ExtHeaders = 16
)

// IPv6 next-header values that are extension headers.
const (
	ipv6HopByHop = 0
	ipv6Routing  = 43
	ipv6Fragment = 44
	ipv6ESP      = 50
	ipv6AH       = 51
	ipv6NoNext   = 59
	ipv6DstOpts  = 60
)

func (d *Decoder) decodeIPv6(data []byte, p *Packet) {
	if len(data) < ipv6HeaderLen {
		d.bad(ReasonIPv6Trunc)
		return
	}
	if data[0]>>4 != 6 {
		d.bad(ReasonIPv6BadVersion)
		return
	}
	p.IPVersion = 6
	p.IPHeader = data[:ipv6HeaderLen]
	p.TOS = uint8(binary.BigEndian.Uint16(data[0:2]) >> 4)
	plen := int(binary.BigEndian.Uint16(data[4:6]))
	nh := data[6]
	p.IPProto = nh
	p.TTL = data[7]
	p.SrcIP = netip.AddrFrom16([16]byte(data[8:24]))
	p.DstIP = netip.AddrFrom16([16]byte(data[24:40]))
	if plen == 0 && nh == ipv6HopByHop {
		// A jumbogram (RFC 2675) carries its length in a hop-by-hop
		// option; take the captured bytes.
		plen = len(data) - ipv6HeaderLen
	}
	p.IPLen = ipv6HeaderLen + plen
	if !d.fitIPLen(p.IPLen, &data, p, ReasonIPv6Trunc) {
		return
	}

	// Walk the extension headers. nhAt is the offset of the byte holding
	// the current next-header value, which reassembly rewrites when it
	// drops the fragment header.
	off, nhAt := ipv6HeaderLen, 6
	for i := 0; ; i++ {
		if i == maxIPv6ExtHeaders {
			d.bad(ReasonIPv6ExtHdr)
			return
		}
		var hlen int
		switch nh {
		case ipv6HopByHop, ipv6Routing, ipv6DstOpts:
			if len(data)-off < 2 {
				d.bad(ReasonIPv6ExtHdr)
				return
			}
			hlen = (int(data[off+1]) + 1) * 8
		case ipv6AH:
			if len(data)-off < 2 {
				d.bad(ReasonIPv6ExtHdr)
				return
			}
			hlen = (int(data[off+1]) + 2) * 4
		case ipv6Fragment:
			if len(data)-off < ipv6FragHdrLen {
				d.bad(ReasonIPv6ExtHdr)
				return
			}
			fh := data[off : off+ipv6FragHdrLen]
			fo := binary.BigEndian.Uint16(fh[2:4])
			p.IPID = binary.BigEndian.Uint32(fh[4:8])
			p.FragOff = fo >> 3
			if fo&0x1 != 0 {
				p.IPFlags = 0x1
			}
			if p.FragOff == 0 && p.IPFlags == 0 {
				// An atomic fragment (RFC 6946) is a whole datagram.
				nh, nhAt, off = fh[0], off, off+ipv6FragHdrLen
				p.IPProto = nh
				continue
			}
			if d.inReasm {
				d.bad(ReasonIPv6ExtHdr)
				return
			}
			p.IPProto = fh[0]
			p.Payload = data[off+ipv6FragHdrLen:]
			if p.Truncated {
				p.Fragment = true
				return
			}
			d.defragIPv6(data[:off], nhAt, fh[0], p.Payload, p)
			return
		case ipv6ESP:
			// Encrypted: nothing further to decode.
			p.Payload = data[off:]
			return
		case ipv6NoNext:
			p.Payload = data[off:off]
			return
		default:
			d.decodeL4(nh, data[off:], p)
			return
		}
		if len(data)-off < hlen {
			d.bad(ReasonIPv6ExtHdr)
			return
		}
		nhAt = off
		nh = data[off]
		p.IPProto = nh
		off += hlen
	}
}
