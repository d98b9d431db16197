package flow

import (
	"net/netip"

	"github.com/tapwatch/tapwatch/rules/decode"
)

// keyKind separates flows that would otherwise share address and port
// values: an ICMP echo ID is not a port, and an IP fragment without its
// transport header must not land in the flow of ports 0/0.
type keyKind uint8

const (
	kindPorts keyKind = iota // TCP, UDP
	kindEcho                 // ICMP/ICMPv6 echo request and reply, by ID
	kindICMP                 // other ICMP, by type and code
	kindIP                   // other protocols; fragments and truncated L4 (addresses + proto)
)

// hashKey is the symmetric map key: (a, ap) is the lower endpoint, so both
// directions of a conversation find the same entry. The fields fill 64
// bytes with no padding, so the map hashes and compares it as plain memory
// instead of field by field.
type hashKey struct {
	a, b   netip.Addr
	zone   uint32
	ap, bp uint16
	extra  uint16 // echo ID, or ICMP type<<8|code
	proto  uint8
	kind   keyKind
	_pad   uint32 // always 0: keeps the struct free of padding
}

// Echo message types, which Suricata pairs into one flow per ID.
const (
	icmpEchoReply    = 0
	icmpEchoRequest  = 8
	icmp6EchoRequest = 128
	icmp6EchoReply   = 129
)

// makeKey builds p's hash key. fwd reports whether p's sender is the a side.
func makeKey(p *decode.Packet, zone uint32) (k hashKey, fwd bool, ok bool) {
	if p.IPVersion == 0 || !p.SrcIP.IsValid() || !p.DstIP.IsValid() {
		return k, false, false
	}
	k.zone, k.proto = zone, p.IPProto
	var sp, dp uint16
	switch {
	case p.L4Header == nil:
		k.kind = kindIP
	case p.IPProto == decode.ProtoTCP || p.IPProto == decode.ProtoUDP:
		sp, dp = p.SrcPort, p.DstPort
	case p.IPProto == decode.ProtoICMP || p.IPProto == decode.ProtoICMPv6:
		if isEcho(p) {
			k.kind, k.extra = kindEcho, p.ICMPID
		} else {
			k.kind, k.extra = kindICMP, uint16(p.ICMPType)<<8|uint16(p.ICMPCode)
		}
	default:
		k.kind = kindIP
	}
	c := p.SrcIP.Compare(p.DstIP)
	fwd = c < 0 || (c == 0 && sp <= dp)
	if fwd {
		k.a, k.b, k.ap, k.bp = p.SrcIP, p.DstIP, sp, dp
	} else {
		k.a, k.b, k.ap, k.bp = p.DstIP, p.SrcIP, dp, sp
	}
	return k, fwd, true
}

func isEcho(p *decode.Packet) bool {
	if p.IPProto == decode.ProtoICMP {
		return p.ICMPType == icmpEchoRequest || p.ICMPType == icmpEchoReply
	}
	return p.ICMPType == icmp6EchoRequest || p.ICMPType == icmp6EchoReply
}

// senderIsServer reports whether the first packet of a flow comes from the
// server: a TCP SYN/ACK (Suricata reverses such flows) or an echo reply.
// midstream says whether TCP sessions are picked up without a handshake:
// then a first packet without SYN sent from a well-known port to an
// ephemeral one is taken as the server's, as Suricata ends up deciding when
// its protocol detection reverses such a flow.
func senderIsServer(p *decode.Packet, k *hashKey, midstream bool) bool {
	switch k.kind {
	case kindPorts:
		if p.IPProto != decode.ProtoTCP {
			return false
		}
		switch p.TCPFlags & (decode.TCPSyn | decode.TCPAck) {
		case decode.TCPSyn | decode.TCPAck:
			return true
		case decode.TCPAck:
			return midstream && p.SrcPort < 1024 && p.DstPort >= 1024
		}
		return false
	case kindEcho:
		return p.ICMPType == icmpEchoReply && p.IPProto == decode.ProtoICMP ||
			p.ICMPType == icmp6EchoReply && p.IPProto == decode.ProtoICMPv6
	}
	return false
}

// mapKey rebuilds the map key of f, the inverse of flowKey.
func (f *Flow) mapKey() hashKey {
	k := hashKey{zone: f.Key.Zone, proto: f.Key.Proto, kind: f.kind, a: f.Key.Src, b: f.Key.Dst}
	ap, bp := f.Key.SrcPort, f.Key.DstPort
	if !f.clientIsA {
		k.a, k.b, ap, bp = k.b, k.a, bp, ap
	}
	switch f.kind {
	case kindPorts:
		k.ap, k.bp = ap, bp
	case kindEcho:
		k.extra = f.Key.SrcPort
	case kindICMP:
		k.extra = f.Key.SrcPort<<8 | f.Key.DstPort
	}
	return k
}

// flowKey is the exported Key of a new flow whose client is the a side when
// clientA is set.
func flowKey(k *hashKey, p *decode.Packet, clientA bool) Key {
	key := Key{Zone: k.zone, Proto: k.proto, Src: k.a, Dst: k.b, SrcPort: k.ap, DstPort: k.bp}
	if !clientA {
		key.Src, key.Dst, key.SrcPort, key.DstPort = k.b, k.a, k.bp, k.ap
	}
	switch k.kind {
	case kindEcho:
		key.SrcPort, key.DstPort = p.ICMPID, p.ICMPID
	case kindICMP:
		key.SrcPort, key.DstPort = uint16(p.ICMPType), uint16(p.ICMPCode)
	}
	return key
}
