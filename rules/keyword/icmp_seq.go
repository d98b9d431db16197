package keyword

import "github.com/tapwatch/tapwatch/rules/decode"

// icmpSeqMatch tests the sequence number of ICMP messages that carry one.
type icmpSeqMatch struct{ cmp NumCmp }

func parseICMPSeq(arg string) (icmpSeqMatch, error) {
	c, err := hdrParseNum("icmp_seq", hdrUnquote(arg), 0xffff)
	return icmpSeqMatch{c}, err
}

// Match is false for ICMP messages without an identifier and sequence.
func (m icmpSeqMatch) Match(p *decode.Packet) bool {
	return p.IsICMP() && p.HasICMPID && m.cmp.Match(uint64(p.ICMPSeq))
}

func init() {
	Register(Keyword{Name: "icmp_seq", Apply: func(s *Sig, arg string) error {
		m, err := parseICMPSeq(arg)
		if err != nil {
			return err
		}
		s.AddPacketMatch(m)
		return nil
	}})
}
