package eve

import (
	"crypto/sha1"
	"encoding/base64"
	"net/netip"
)

// ICMP message types whose reply/request counterpart makes a flow
// two-way, per the Community ID spec; other types are one-way.
func icmpCounterpart(v6 bool, t uint8) (uint8, bool) {
	if v6 {
		switch t {
		case 128, 130, 133, 135, 139, 144:
			return t + 1, true
		case 129, 131, 134, 136, 140, 145:
			return t - 1, true
		}
		return 0, false
	}
	switch t {
	case 8:
		return 0, true
	case 0:
		return 8, true
	case 13, 15, 17:
		return t + 1, true
	case 14, 16, 18:
		return t - 1, true
	case 10:
		return 9, true
	case 9:
		return 10, true
	}
	return 0, false
}

// AppendCommunityID appends the Community ID v1 string ("1:" + base64
// SHA-1) of a flow tuple to dst. For ICMP and ICMPv6, sport is the message
// type and dport the code. Protocols without ports hash with zero ports.
func AppendCommunityID(dst []byte, seed uint16, proto uint8, src, dstIP netip.Addr, sport, dport uint16) []byte {
	src, dstIP = src.Unmap(), dstIP.Unmap()
	oneWay := false
	switch proto {
	case 1, 58:
		if c, ok := icmpCounterpart(proto == 58, uint8(sport)); ok {
			dport = uint16(c)
		} else {
			oneWay = true
		}
	case 6, 17, 132:
	default:
		sport, dport = 0, 0
	}
	if !oneWay {
		c := src.Compare(dstIP)
		if c > 0 || (c == 0 && sport > dport) {
			src, dstIP = dstIP, src
			sport, dport = dport, sport
		}
	}
	var buf [2 + 16 + 16 + 2 + 4]byte
	b := buf[:0]
	b = append(b, byte(seed>>8), byte(seed))
	b = append(b, src.AsSlice()...)
	b = append(b, dstIP.AsSlice()...)
	b = append(b, proto, 0)
	switch proto {
	case 1, 58, 6, 17, 132:
		b = append(b, byte(sport>>8), byte(sport), byte(dport>>8), byte(dport))
	}
	sum := sha1.Sum(b)
	dst = append(dst, "1:"...)
	return base64.StdEncoding.AppendEncode(dst, sum[:])
}

// CommunityID returns the Community ID v1 of a flow tuple.
func CommunityID(seed uint16, proto uint8, src, dst netip.Addr, sport, dport uint16) string {
	return string(AppendCommunityID(nil, seed, proto, src, dst, sport, dport))
}
