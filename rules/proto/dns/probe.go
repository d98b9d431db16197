package dns

import "encoding/binary"

// Probe reports whether payload looks like a DNS message, for detecting
// DNS by content on any port. It checks the header for a plausible opcode
// and counts, and that the first question (if any) is a well-formed name
// followed by its type and class. It does not allocate.
func Probe(payload []byte) bool {
	if len(payload) < headerLen {
		return false
	}
	flags := binary.BigEndian.Uint16(payload[2:])
	switch (flags >> 11) & 0xf {
	case 0, 1, 2, 4, 5, 6: // query, iquery, status, notify, update, DSO
	default:
		return false
	}
	qd := int(binary.BigEndian.Uint16(payload[4:]))
	an := int(binary.BigEndian.Uint16(payload[6:]))
	ns := int(binary.BigEndian.Uint16(payload[8:]))
	ar := int(binary.BigEndian.Uint16(payload[10:]))
	response := flags&flagQR != 0
	if qd == 0 {
		// Only a response (e.g. a FORMERR) may come without a question.
		return response && an+ns+ar > 0 && an+ns+ar <= len(payload)/11
	}
	if qd > 64 || (!response && an > 64) {
		return false
	}
	// Every record needs at least 5 (question) or 11 (RR) bytes.
	if headerLen+5*qd+11*(an+ns+ar) > len(payload) && (!response || flags&flagTC == 0) {
		return false
	}
	off := headerLen
	for steps := 0; ; steps++ {
		if off >= len(payload) || steps > maxNameSteps {
			return false
		}
		l := int(payload[off])
		if l == 0 {
			off++
			break
		}
		if l&0xc0 == 0xc0 {
			// A question name can only point backwards into the header
			// region's successors; accept any in-range pointer.
			if off+2 > len(payload) || int(binary.BigEndian.Uint16(payload[off:])&0x3fff) >= len(payload) {
				return false
			}
			off += 2
			break
		}
		if l&0xc0 != 0 {
			return false
		}
		off += 1 + l
	}
	if off+4 > len(payload) {
		return false
	}
	class := binary.BigEndian.Uint16(payload[off+2:])
	// IN, CH, HS, NONE, ANY; mDNS sets the top bit (unicast response).
	switch class & 0x7fff {
	case 1, 3, 4, 254, 255:
		return true
	}
	return false
}

// ProbeTCP reports whether data, the first bytes of a TCP stream, looks like
// DNS over TCP: a plausible two-byte length followed by a message Probe
// accepts (judged on the bytes present when the segment holds only part of
// the frame).
func ProbeTCP(data []byte) bool {
	if len(data) < 2+headerLen {
		return false
	}
	n := int(binary.BigEndian.Uint16(data))
	if n < headerLen {
		return false
	}
	return Probe(data[2:min(len(data), 2+n)])
}
