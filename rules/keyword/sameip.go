package keyword

import (
	"fmt"
	"strings"

	"github.com/tapwatch/tapwatch/rules/decode"
)

// sameipMatch matches packets whose source and destination address are equal.
type sameipMatch struct{}

func parseSameIP(arg string) (sameipMatch, error) {
	if strings.TrimSpace(arg) != "" {
		return sameipMatch{}, fmt.Errorf("sameip: takes no value, got %q", arg)
	}
	return sameipMatch{}, nil
}

// Match is false without an IP layer, where both addresses are the zero
// value and would otherwise compare equal.
func (sameipMatch) Match(p *decode.Packet) bool {
	return p.IPVersion != 0 && p.SrcIP == p.DstIP
}

func init() {
	Register(Keyword{Name: "sameip", Apply: func(s *Sig, arg string) error {
		m, err := parseSameIP(arg)
		if err != nil {
			return err
		}
		s.AddPacketMatch(m)
		return nil
	}})
}
