package keyword

import "github.com/tapwatch/tapwatch/rules/decode"

// icodeMatch tests the ICMP or ICMPv6 code.
type icodeMatch struct{ cmp NumCmp }

func parseICode(arg string) (icodeMatch, error) {
	c, err := hdrParseNum("icode", arg, 0xff)
	return icodeMatch{c}, err
}

// Match is false unless an ICMP or ICMPv6 header was decoded.
func (m icodeMatch) Match(p *decode.Packet) bool {
	return p.IsICMP() && m.cmp.Match(uint64(p.ICMPCode))
}

func init() {
	Register(Keyword{Name: "icode", Apply: func(s *Sig, arg string) error {
		m, err := parseICode(arg)
		if err != nil {
			return err
		}
		s.AddPacketMatch(m)
		return nil
	}})
}
