package keyword

import "github.com/tapwatch/tapwatch/rules/decode"

// windowMatch tests the raw TCP window field (unscaled, as on the wire).
type windowMatch struct{ cmp NumCmp }

func parseWindow(arg string) (windowMatch, error) {
	c, err := hdrParseNum("window", arg, 0xffff)
	return windowMatch{c}, err
}

// Match is false for anything but a decoded TCP header.
func (m windowMatch) Match(p *decode.Packet) bool {
	return p.IsTCP() && m.cmp.Match(uint64(p.TCPWin))
}

func init() {
	Register(Keyword{Name: "window", Apply: func(s *Sig, arg string) error {
		m, err := parseWindow(arg)
		if err != nil {
			return err
		}
		s.AddPacketMatch(m)
		return nil
	}})
}
