package keyword

import "github.com/tapwatch/tapwatch/rules/decode"

// icmpIDMatch tests the identifier of ICMP messages that carry one (echo,
// timestamp, information, address mask; ICMPv6 echo).
type icmpIDMatch struct{ cmp NumCmp }

func parseICMPID(arg string) (icmpIDMatch, error) {
	c, err := hdrParseNum("icmp_id", hdrUnquote(arg), 0xffff)
	return icmpIDMatch{c}, err
}

// Match is false for ICMP messages without an identifier: there the bytes
// at that offset mean something else (an MTU, a pointer, unused).
func (m icmpIDMatch) Match(p *decode.Packet) bool {
	return p.IsICMP() && p.HasICMPID && m.cmp.Match(uint64(p.ICMPID))
}

func init() {
	Register(Keyword{Name: "icmp_id", Apply: func(s *Sig, arg string) error {
		m, err := parseICMPID(arg)
		if err != nil {
			return err
		}
		s.AddPacketMatch(m)
		return nil
	}})
}
