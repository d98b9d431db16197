package decode

import (
	"encoding/binary"
	"net/netip"
)

const ipv4MinHeader = 20

// decodeIPv4 decodes an IPv4 header and what it carries. data starts at the
// IP header and may include link-layer padding beyond the total length,
// which is cut off.
func (d *Decoder) decodeIPv4(data []byte, p *Packet) {
	if len(data) < ipv4MinHeader {
		d.bad(ReasonIPv4Trunc)
		return
	}
	if data[0]>>4 != 4 {
		d.bad(ReasonIPv4BadVersion)
		return
	}
	hlen := int(data[0]&0x0f) * 4
	if hlen < ipv4MinHeader {
		d.bad(ReasonIPv4BadIHL)
		return
	}
	if hlen > len(data) {
		d.bad(ReasonIPv4Trunc)
		return
	}
	total := int(binary.BigEndian.Uint16(data[2:4]))
	if total == 0 && !d.inReasm && binary.BigEndian.Uint16(data[6:8])&0x3fff == 0 {
		// Frames captured before segmentation offload (TSO/GSO, also
		// virtio's 64 KiB frames) may carry total length 0: the NIC
		// fills it in per segment; BIG TCP frames exceed 64 KiB and
		// cannot carry a length at all. Wireshark and tcpdump take the
		// captured length.
		total = len(data)
		d.event(ReasonIPv4TSO)
	}
	if total < hlen {
		d.bad(ReasonIPv4Len)
		return
	}
	p.IPVersion = 4
	p.IPHeader = data[:hlen]
	p.TOS = data[1]
	p.IPLen = total
	p.IPID = uint32(binary.BigEndian.Uint16(data[4:6]))
	ff := binary.BigEndian.Uint16(data[6:8])
	p.IPFlags = uint8(ff >> 13)
	p.FragOff = ff & 0x1fff
	p.TTL = data[8]
	p.IPProto = data[9]
	p.SrcIP = netip.AddrFrom4([4]byte(data[12:16]))
	p.DstIP = netip.AddrFrom4([4]byte(data[16:20]))
	if hlen > ipv4MinHeader {
		p.IPOptions = data[ipv4MinHeader:hlen]
	}
	if !d.fitIPLen(total, &data, p, ReasonIPv4Trunc) {
		return
	}
	body := data[hlen:]
	if p.IPFlags&0x1 != 0 || p.FragOff != 0 {
		p.Payload = body
		if p.Truncated {
			// A fragment whose bytes were not all captured cannot be
			// reassembled; it is still shown to IP-only rules.
			p.Fragment = true
			return
		}
		d.defragIPv4(data[:hlen], body, p)
		return
	}
	d.decodeL4(p.IPProto, body, p)
}

// fitIPLen cuts *data to the IP length and tells a snap-length cut (the
// wire had the bytes; decode what we have) from a length field that lies.
func (d *Decoder) fitIPLen(iplen int, data *[]byte, p *Packet, trunc Reason) bool {
	if iplen <= len(*data) {
		*data = (*data)[:iplen]
		return true
	}
	if len(p.Data) < p.OrigLen && !d.inReasm {
		// The link header plus iplen must fit in what the wire carried;
		// else the length field is wrong, not the capture.
		linkLen := len(p.Data) - len(*data)
		if linkLen >= 0 && linkLen+iplen <= p.OrigLen {
			p.Truncated = true
			d.event(ReasonCaptureTrunc)
			return true
		}
	}
	d.bad(trunc)
	return false
}

// ipv4Checksum computes the header checksum over h with its checksum field
// taken as zero.
func ipv4Checksum(h []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(h); i += 2 {
		if i == 10 {
			continue
		}
		sum += uint32(binary.BigEndian.Uint16(h[i:]))
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}
