package keyword

import "github.com/tapwatch/tapwatch/rules/decode"

// itypeMatch tests the ICMP or ICMPv6 type.
type itypeMatch struct{ cmp NumCmp }

func parseIType(arg string) (itypeMatch, error) {
	c, err := hdrParseNum("itype", arg, 0xff)
	return itypeMatch{c}, err
}

// Match is false unless an ICMP or ICMPv6 header was decoded.
func (m itypeMatch) Match(p *decode.Packet) bool {
	return p.IsICMP() && m.cmp.Match(uint64(p.ICMPType))
}

func init() {
	Register(Keyword{Name: "itype", Apply: func(s *Sig, arg string) error {
		m, err := parseIType(arg)
		if err != nil {
			return err
		}
		s.AddPacketMatch(m)
		return nil
	}})
}
