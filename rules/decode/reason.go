package decode

// Reasons. Most mark a malformed frame (Decode returns false); the ones
// marked "event" are counted while the frame still decodes, so operators see
// evasion attempts (overlaps) and resource pressure (evictions) without
// losing the packet.
const (
	ReasonNone             Reason = iota // not counted; the zero value
	ReasonEthTrunc                       // Ethernet header cut short
	ReasonVLANTrunc                      // 802.1Q/802.1ad tag cut short
	ReasonVLANExtra                      // event: more than two VLAN tags, the extra ones skipped
	ReasonSLLTrunc                       // Linux cooked header (v1 or v2) cut short
	ReasonNullTrunc                      // NULL/LOOP family word cut short
	ReasonUnknownLinkType                // link type not decoded
	ReasonPPPoETrunc                     // PPPoE session header cut short
	ReasonMPLSTrunc                      // MPLS label stack cut short or too deep
	ReasonIPUnknownVersion               // raw IP whose version is neither 4 nor 6
	ReasonIPv4Trunc                      // IPv4 header or datagram cut short
	ReasonIPv4BadVersion                 // IPv4 header with version != 4
	ReasonIPv4BadIHL                     // IHL < 5
	ReasonIPv4Len                        // total length smaller than the header
	ReasonIPv6Trunc                      // IPv6 header or payload cut short
	ReasonIPv6BadVersion                 // IPv6 header with version != 6
	ReasonIPv6ExtHdr                     // extension header cut short, too many, or nested fragment
	ReasonTCPTrunc                       // TCP header cut short
	ReasonTCPBadOffset                   // TCP data offset < 5
	ReasonUDPTrunc                       // UDP header cut short
	ReasonUDPLen                         // UDP length field < 8 or beyond the captured datagram
	ReasonICMPTrunc                      // ICMP header cut short
	ReasonICMPv6Trunc                    // ICMPv6 header cut short
	ReasonFragOverlap                    // event: a fragment overlapped data already held
	ReasonFragTooBig                     // reassembled datagram would exceed 65535 bytes
	ReasonFragTimeout                    // event: an incomplete datagram expired (60 s packet time)
	ReasonDefragEvicted                  // event: an incomplete datagram dropped for the memory cap
	ReasonCaptureTrunc                   // event: the capture's snap length cut the datagram; headers decoded
	ReasonPPPTrunc                       // PPP or Cisco HDLC link header cut short
	ReasonIPv4TSO                        // event: IPv4 total length 0 on a segmentation-offload frame; captured length used
	ReasonGRETrunc                       // GRE header cut short, or a GRE version tapwatch does not decode
	ReasonTunnelDepth                    // event: tunnels nested deeper than DecodeInner follows
	numReasons
)

// The Stats.Reasons array in the contract has 32 slots.
var _ [32 - numReasons]struct{}

// String returns the reason's name, as used in stats output (e.g. "ipv4_trunc").
func (r Reason) String() string {
	switch r {
	case ReasonNone:
		return "none"
	case ReasonEthTrunc:
		return "eth_trunc"
	case ReasonVLANTrunc:
		return "vlan_trunc"
	case ReasonVLANExtra:
		return "vlan_extra"
	case ReasonSLLTrunc:
		return "sll_trunc"
	case ReasonNullTrunc:
		return "null_trunc"
	case ReasonUnknownLinkType:
		return "unknown_linktype"
	case ReasonPPPoETrunc:
		return "pppoe_trunc"
	case ReasonMPLSTrunc:
		return "mpls_trunc"
	case ReasonIPUnknownVersion:
		return "ip_unknown_version"
	case ReasonIPv4Trunc:
		return "ipv4_trunc"
	case ReasonIPv4BadVersion:
		return "ipv4_bad_version"
	case ReasonIPv4BadIHL:
		return "ipv4_bad_ihl"
	case ReasonIPv4Len:
		return "ipv4_len"
	case ReasonIPv6Trunc:
		return "ipv6_trunc"
	case ReasonIPv6BadVersion:
		return "ipv6_bad_version"
	case ReasonIPv6ExtHdr:
		return "ipv6_exthdr"
	case ReasonTCPTrunc:
		return "tcp_trunc"
	case ReasonTCPBadOffset:
		return "tcp_bad_offset"
	case ReasonUDPTrunc:
		return "udp_trunc"
	case ReasonUDPLen:
		return "udp_len"
	case ReasonICMPTrunc:
		return "icmp_trunc"
	case ReasonICMPv6Trunc:
		return "icmpv6_trunc"
	case ReasonFragOverlap:
		return "frag_overlap"
	case ReasonFragTooBig:
		return "frag_too_big"
	case ReasonFragTimeout:
		return "frag_timeout"
	case ReasonDefragEvicted:
		return "defrag_evicted"
	case ReasonCaptureTrunc:
		return "capture_trunc"
	case ReasonPPPTrunc:
		return "ppp_trunc"
	case ReasonGRETrunc:
		return "gre_trunc"
	case ReasonTunnelDepth:
		return "tunnel_depth"
	case ReasonIPv4TSO:
		return "ipv4_tso_len"
	}
	return "unknown"
}

// ByReason returns the non-zero reason counters keyed by reason name.
func (s Stats) ByReason() map[string]uint64 {
	m := make(map[string]uint64)
	for i, n := range s.Reasons {
		if n != 0 && i != int(ReasonNone) {
			m[Reason(i).String()] = n
		}
	}
	return m
}
