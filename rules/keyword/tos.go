package keyword

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/tapwatch/tapwatch/rules/decode"
)

// tosMatch tests the IPv4 TOS byte. Suricata's tos takes only [!]value, so
// the comparison is always equality or its negation.
type tosMatch struct{ cmp NumCmp }

// parseTOS reads [!]N with N decimal (0-255) or hexadecimal written as xHH
// (Suricata's form) or 0xHH.
func parseTOS(arg string) (tosMatch, error) {
	bad := func(why string) (tosMatch, error) {
		return tosMatch{}, fmt.Errorf("tos: invalid value %q: %s", arg, why)
	}
	s := strings.TrimSpace(arg)
	mode := CmpEq
	if strings.HasPrefix(s, "!") {
		mode, s = CmpNe, strings.TrimLeft(s[1:], " \t")
	}
	if s == "" {
		return bad("no value")
	}
	base, digits := 10, s
	switch {
	case len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'):
		base, digits = 16, s[2:]
	case s[0] == 'x' || s[0] == 'X':
		base, digits = 16, s[1:]
	}
	for i := 0; i < len(digits); i++ {
		if base == 10 && (digits[i] < '0' || digits[i] > '9') || base == 16 && !numIsHex(digits[i]) {
			return bad("not a decimal or x-prefixed hexadecimal number")
		}
	}
	v, err := strconv.ParseUint(digits, base, 64)
	if err != nil || v > 0xff {
		return bad("out of range 0-255")
	}
	return tosMatch{NumCmp{Mode: mode, A: v}}, nil
}

// Match is false for IPv6: Suricata's tos reads only the IPv4 header.
func (m tosMatch) Match(p *decode.Packet) bool {
	return p.IPVersion == 4 && m.cmp.Match(uint64(p.TOS))
}

func init() {
	Register(Keyword{Name: "tos", Apply: func(s *Sig, arg string) error {
		m, err := parseTOS(arg)
		if err != nil {
			return err
		}
		s.AddPacketMatch(m)
		return nil
	}})
}
