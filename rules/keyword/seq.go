package keyword

import "github.com/tapwatch/tapwatch/rules/decode"

// seqMatch tests the TCP sequence number.
type seqMatch struct{ cmp NumCmp }

func parseSeq(arg string) (seqMatch, error) {
	c, err := hdrParseNum("seq", arg, 0xffffffff)
	return seqMatch{c}, err
}

// Match is false for anything but a decoded TCP header.
func (m seqMatch) Match(p *decode.Packet) bool {
	return p.IsTCP() && m.cmp.Match(uint64(p.TCPSeq))
}

func init() {
	Register(Keyword{Name: "seq", Apply: func(s *Sig, arg string) error {
		m, err := parseSeq(arg)
		if err != nil {
			return err
		}
		s.AddPacketMatch(m)
		return nil
	}})
}
