package keyword

import "github.com/tapwatch/tapwatch/rules/decode"

// ttlMatch tests the IPv4 TTL or the IPv6 hop limit, which Suricata treats
// as the same field.
type ttlMatch struct{ cmp NumCmp }

func parseTTL(arg string) (ttlMatch, error) {
	c, err := hdrParseNum("ttl", arg, 0xff)
	return ttlMatch{c}, err
}

// Match is false for frames without an IP layer: they have no TTL to test.
func (m ttlMatch) Match(p *decode.Packet) bool {
	return p.IPVersion != 0 && m.cmp.Match(uint64(p.TTL))
}

func init() {
	Register(Keyword{Name: "ttl", Apply: func(s *Sig, arg string) error {
		m, err := parseTTL(arg)
		if err != nil {
			return err
		}
		s.AddPacketMatch(m)
		return nil
	}})
}
