package keyword

import "github.com/tapwatch/tapwatch/rules/decode"

// ackMatch tests the TCP acknowledgement number.
type ackMatch struct{ cmp NumCmp }

func parseAck(arg string) (ackMatch, error) {
	c, err := hdrParseNum("ack", arg, 0xffffffff)
	return ackMatch{c}, err
}

// Match is false for anything but a decoded TCP header. The ACK flag is not
// consulted: Suricata compares the field as it is, so ack:0 with flags:0
// finds NULL scans.
func (m ackMatch) Match(p *decode.Packet) bool {
	return p.IsTCP() && m.cmp.Match(uint64(p.TCPAck))
}

func init() {
	Register(Keyword{Name: "ack", Apply: func(s *Sig, arg string) error {
		m, err := parseAck(arg)
		if err != nil {
			return err
		}
		s.AddPacketMatch(m)
		return nil
	}})
}
