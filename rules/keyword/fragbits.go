package keyword

import (
	"fmt"
	"strings"

	"github.com/tapwatch/tapwatch/rules/decode"
)

// bitModifier is the [+*!] prefix shared by fragbits and flags.
type bitModifier uint8

const (
	bitsExact bitModifier = iota // exactly these bits, no others
	bitsPlus                     // all of these bits, others allowed
	bitsAny                      // at least one of these bits
	bitsNot                      // not all of these bits
)

// match applies the modifier to the packet's bits v against the rule's
// bits want. The Not case follows Suricata, which matches when any one of
// the listed bits is clear, not only when all are.
func (mod bitModifier) match(v, want uint8) bool {
	switch mod {
	case bitsPlus:
		return v&want == want
	case bitsAny:
		return v&want != 0
	case bitsNot:
		return v&want != want
	}
	return v == want
}

// IPv4 flag bits as decode stores them in Packet.IPFlags.
const (
	ipFlagMF uint8 = 0x1
	ipFlagDF uint8 = 0x2
	ipFlagRF uint8 = 0x4
)

// fragbitsMatch tests the IPv4 reserved, don't-fragment and more-fragments
// bits.
type fragbitsMatch struct {
	mod  bitModifier
	bits uint8
}

// parseFragBits reads [+*!]<M D R ...>, letters in either case.
func parseFragBits(arg string) (fragbitsMatch, error) {
	s := strings.TrimSpace(arg)
	var m fragbitsMatch
	if s != "" {
		switch s[0] {
		case '+':
			m.mod, s = bitsPlus, s[1:]
		case '*':
			m.mod, s = bitsAny, s[1:]
		case '!':
			m.mod, s = bitsNot, s[1:]
		}
	}
	s = strings.TrimLeft(s, " \t")
	if s == "" {
		return fragbitsMatch{}, fmt.Errorf("fragbits: invalid value %q: no bits given (M, D, R)", arg)
	}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case 'M', 'm':
			m.bits |= ipFlagMF
		case 'D', 'd':
			m.bits |= ipFlagDF
		case 'R', 'r':
			m.bits |= ipFlagRF
		default:
			return fragbitsMatch{}, fmt.Errorf("fragbits: invalid value %q: unknown bit %q (want M, D, R)", arg, s[i])
		}
	}
	return m, nil
}

// Match is false for IPv6, which has no such flags in its fixed header.
func (m fragbitsMatch) Match(p *decode.Packet) bool {
	return p.IPVersion == 4 && m.mod.match(p.IPFlags&(ipFlagMF|ipFlagDF|ipFlagRF), m.bits)
}

func init() {
	Register(Keyword{Name: "fragbits", Apply: func(s *Sig, arg string) error {
		m, err := parseFragBits(arg)
		if err != nil {
			return err
		}
		s.AddPacketMatch(m)
		return nil
	}})
}
