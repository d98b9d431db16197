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
	o, ok := decode.FindTCPOption(p.TCPOpts, func(kind byte, _ []byte) bool { return kind == tcpOptMSS })
	if !ok || len(o) != 4 {
		return false
	}
	return m.cmp.Match(uint64(o[2])<<8 | uint64(o[3]))
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
