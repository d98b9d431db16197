package keyword

import "github.com/tapwatch/tapwatch/rules/decode"

// tcpMSSMatch tests the value of the TCP MSS option.
type tcpMSSMatch struct{ cmp NumCmp }

func parseTCPMSS(arg string) (tcpMSSMatch, error) {
	c, err := hdrParseNum("tcp.mss", arg, 0xffff)
	return tcpMSSMatch{c}, err
}

// tcpOptMSS is the MSS option kind; its length is always 4.
const tcpOptMSS = 2

// Match is false when the packet is not TCP or carries no well-formed MSS
// option. The walk stops at End of Option List and at a malformed length.
func (m tcpMSSMatch) Match(p *decode.Packet) bool {
	if !p.IsTCP() {
		return false
	}
	o := p.TCPOpts
	for i := 0; i < len(o); {
		switch o[i] {
		case 0: // end of option list
			return false
		case 1: // no-op
			i++
			continue
		}
		if i+1 >= len(o) || o[i+1] < 2 || i+int(o[i+1]) > len(o) {
			return false
		}
		if o[i] == tcpOptMSS {
			if o[i+1] != 4 {
				return false
			}
			return m.cmp.Match(uint64(o[i+2])<<8 | uint64(o[i+3]))
		}
		i += int(o[i+1])
	}
	return false
}

func init() {
	Register(Keyword{Name: "tcp.mss", Apply: func(s *Sig, arg string) error {
		m, err := parseTCPMSS(arg)
		if err != nil {
			return err
		}
		s.AddPacketMatch(m)
		return nil
	}})
}
