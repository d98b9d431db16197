package keyword

import (
	"fmt"

	"github.com/tapwatch/tapwatch/rules/decode"
)

// dsizeMatch tests the size of the packet's payload (not the reassembled
// stream).
type dsizeMatch struct{ cmp NumCmp }

func parseDsize(arg string) (dsizeMatch, error) {
	c, err := hdrParseNum("dsize", arg, 0xffff)
	return dsizeMatch{c}, err
}

// Match sizes the payload after a decoded TCP, UDP or ICMP header. Where no
// such header was decoded (a fragment not yet reassembled, an unknown or
// encrypted protocol) Suricata's payload length is 0, and so it is here,
// even though decode keeps the bytes after the IP header in Payload.
func (m dsizeMatch) Match(p *decode.Packet) bool {
	n := 0
	if p.HasL4() {
		n = len(p.Payload)
	}
	return m.cmp.Match(uint64(n))
}

func init() {
	Register(Keyword{Name: "dsize", Apply: func(s *Sig, arg string) error {
		for _, pm := range s.Packet {
			if _, dup := pm.(dsizeMatch); dup {
				// Suricata refuses this too: the engine derives content
				// depth and prefilter bounds from the one dsize.
				return fmt.Errorf("dsize: %q is a second dsize in the rule; only one is allowed", arg)
			}
		}
		m, err := parseDsize(arg)
		if err != nil {
			return err
		}
		s.AddPacketMatch(m)
		return nil
	}})
}
