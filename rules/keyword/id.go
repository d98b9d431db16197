package keyword

import "github.com/tapwatch/tapwatch/rules/decode"

// idMatch tests the IPv4 identification field.
type idMatch struct{ cmp NumCmp }

func parseID(arg string) (idMatch, error) {
	c, err := hdrParseNum("id", hdrUnquote(arg), 0xffff)
	return idMatch{c}, err
}

// Match is false for IPv6, whose identification lives in the fragment
// header and which Suricata's id does not read.
func (m idMatch) Match(p *decode.Packet) bool {
	return p.IPVersion == 4 && m.cmp.Match(uint64(p.IPID))
}

func init() {
	Register(Keyword{Name: "id", Apply: func(s *Sig, arg string) error {
		m, err := parseID(arg)
		if err != nil {
			return err
		}
		s.AddPacketMatch(m)
		return nil
	}})
}
