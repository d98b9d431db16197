package keyword

import "github.com/tapwatch/tapwatch/rules/decode"

// fragoffsetMatch tests the IP fragment offset.
type fragoffsetMatch struct{ cmp NumCmp }

func parseFragOffset(arg string) (fragoffsetMatch, error) {
	c, err := hdrParseNum("fragoffset", arg, 0xffff)
	return fragoffsetMatch{c}, err
}

// Match follows Suricata's units, which differ by IP version: for IPv4 it
// compares the header's 13-bit field as is (8-byte units: fragoffset:185 is
// byte 1480), for IPv6 it compares the fragment header's offset in bytes.
// IPv6 packets match only while they carry a fragment header, i.e. are an
// unreassembled fragment.
func (m fragoffsetMatch) Match(p *decode.Packet) bool {
	switch p.IPVersion {
	case 4:
		return m.cmp.Match(uint64(p.FragOff))
	case 6:
		return p.Fragment && m.cmp.Match(uint64(p.FragOff)*8)
	}
	return false
}

func init() {
	Register(Keyword{Name: "fragoffset", Apply: func(s *Sig, arg string) error {
		m, err := parseFragOffset(arg)
		if err != nil {
			return err
		}
		s.AddPacketMatch(m)
		return nil
	}})
}
