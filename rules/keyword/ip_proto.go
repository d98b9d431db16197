package keyword

import (
	"fmt"
	"strings"

	"github.com/tapwatch/tapwatch/rules/decode"
)

// ipProtoMatch tests the IPv4 protocol or IPv6's last next-header, which
// is what decode puts in Packet.IPProto.
type ipProtoMatch struct{ cmp NumCmp }

// ipProtoByName knows the names of /etc/protocols (IANA keywords) so rules
// load the same on every host, whatever its netbase package holds.
func ipProtoByName(name string) (uint8, bool) {
	switch strings.ToLower(name) {
	case "hopopt", "ip":
		return 0, true
	case "icmp":
		return 1, true
	case "igmp":
		return 2, true
	case "ggp":
		return 3, true
	case "ipv4", "ipencap", "ip-in-ip":
		return 4, true
	case "st":
		return 5, true
	case "tcp":
		return 6, true
	case "egp":
		return 8, true
	case "igp":
		return 9, true
	case "pup":
		return 12, true
	case "udp":
		return 17, true
	case "hmp":
		return 20, true
	case "xns-idp":
		return 22, true
	case "rdp":
		return 27, true
	case "iso-tp4":
		return 29, true
	case "dccp":
		return 33, true
	case "xtp":
		return 36, true
	case "ddp":
		return 37, true
	case "idpr-cmtp":
		return 38, true
	case "ipv6":
		return 41, true
	case "ipv6-route":
		return 43, true
	case "ipv6-frag":
		return 44, true
	case "idrp":
		return 45, true
	case "rsvp":
		return 46, true
	case "gre":
		return 47, true
	case "esp", "ipv6-crypt":
		return 50, true
	case "ah", "ipv6-auth":
		return 51, true
	case "skip":
		return 57, true
	case "ipv6-icmp", "icmpv6", "icmp6":
		return 58, true
	case "ipv6-nonxt":
		return 59, true
	case "ipv6-opts":
		return 60, true
	case "rspf":
		return 73, true
	case "vmtp":
		return 81, true
	case "eigrp":
		return 88, true
	case "ospf", "ospfigp":
		return 89, true
	case "ax.25":
		return 93, true
	case "ipip":
		return 94, true
	case "etherip":
		return 97, true
	case "encap":
		return 98, true
	case "pim":
		return 103, true
	case "ipcomp":
		return 108, true
	case "vrrp":
		return 112, true
	case "l2tp":
		return 115, true
	case "isis":
		return 124, true
	case "sctp":
		return 132, true
	case "fc":
		return 133, true
	case "mobility-header":
		return 135, true
	case "udplite":
		return 136, true
	case "mpls-in-ip":
		return 137, true
	case "manet":
		return 138, true
	case "hip":
		return 139, true
	case "shim6":
		return 140, true
	case "wesp":
		return 141, true
	case "rohc":
		return 142, true
	case "ethernet":
		return 143, true
	}
	return 0, false
}

// parseIPProto reads [!<>]<number or name>, the forms Suricata accepts.
func parseIPProto(arg string) (ipProtoMatch, error) {
	s := strings.TrimSpace(arg)
	mode := CmpEq
	if s != "" {
		switch s[0] {
		case '!':
			mode, s = CmpNe, s[1:]
		case '<':
			mode, s = CmpLt, s[1:]
		case '>':
			mode, s = CmpGt, s[1:]
		}
	}
	s = strings.TrimLeft(s, " \t")
	if s == "" {
		return ipProtoMatch{}, fmt.Errorf("ip_proto: invalid value %q: no protocol given", arg)
	}
	var v uint64
	if s[0] >= '0' && s[0] <= '9' {
		n, rest, err := parseNumValue(s, 0xff)
		if err != nil || rest != "" {
			return ipProtoMatch{}, fmt.Errorf("ip_proto: invalid value %q: want a protocol number 0-255 or name", arg)
		}
		v = n
	} else {
		n, ok := ipProtoByName(s)
		if !ok {
			return ipProtoMatch{}, fmt.Errorf("ip_proto: invalid value %q: unknown protocol name %q", arg, s)
		}
		v = uint64(n)
	}
	switch {
	case mode == CmpLt && v == 0:
		return ipProtoMatch{}, fmt.Errorf("ip_proto: invalid value %q: <0 can never match", arg)
	case mode == CmpGt && v == 0xff:
		return ipProtoMatch{}, fmt.Errorf("ip_proto: invalid value %q: >255 can never match", arg)
	}
	return ipProtoMatch{NumCmp{Mode: mode, A: v}}, nil
}

// Match is false without an IP layer.
func (m ipProtoMatch) Match(p *decode.Packet) bool {
	return p.IPVersion != 0 && m.cmp.Match(uint64(p.IPProto))
}

func init() {
	Register(Keyword{Name: "ip_proto", Apply: func(s *Sig, arg string) error {
		m, err := parseIPProto(arg)
		if err != nil {
			return err
		}
		if m.cmp.Mode == CmpEq {
			for _, pm := range s.Packet {
				// Suricata refuses two different exact protocols: the rule
				// could never match, which is a mistake, not a filter.
				if o, ok := pm.(ipProtoMatch); ok && o.cmp.Mode == CmpEq && o.cmp.A != m.cmp.A {
					return fmt.Errorf("ip_proto: %q conflicts with ip_proto:%d earlier in the rule", arg, o.cmp.A)
				}
			}
		}
		s.AddPacketMatch(m)
		return nil
	}})
}

// IPProto returns the one IP protocol s's ip_proto keyword demands, if it
// demands exactly one: the engine then files the rule only with packets
// of that protocol instead of testing it on every packet.
func (s *Sig) IPProto() (uint8, bool) {
	for _, pm := range s.Packet {
		if m, ok := pm.(ipProtoMatch); ok && m.cmp.Mode == CmpEq {
			return uint8(m.cmp.A), true
		}
	}
	return 0, false
}
