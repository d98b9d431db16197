package keyword

import (
	"fmt"
	"strings"

	"github.com/tapwatch/tapwatch/rules/decode"
)

// flagsMatch tests the TCP flags byte.
type flagsMatch struct {
	mod   bitModifier
	flags uint8
	// keep has a 1 for every flag the rule looks at; the ignore list after
	// the comma clears bits here.
	keep uint8
}

// tcpFlagBit maps a rule letter to its flag; 1 and 2 are the pre-RFC 3168
// names of CWR and ECE that old rule sets still use.
func tcpFlagBit(c byte) (uint8, bool) {
	switch c {
	case 'F', 'f':
		return decode.TCPFin, true
	case 'S', 's':
		return decode.TCPSyn, true
	case 'R', 'r':
		return decode.TCPRst, true
	case 'P', 'p':
		return decode.TCPPsh, true
	case 'A', 'a':
		return decode.TCPAck, true
	case 'U', 'u':
		return decode.TCPUrg, true
	case 'C', 'c', '1':
		return decode.TCPCwr, true
	case 'E', 'e', '2':
		return decode.TCPEce, true
	}
	return 0, false
}

// parseFlags reads [modifier]<flags>[,<ignored flags>]. As in Suricata the
// one modifier may stand before or after the flags ("S+" and "+S"), and 0
// means "no flag set".
func parseFlags(arg string) (flagsMatch, error) {
	bad := func(format string, a ...any) (flagsMatch, error) {
		return flagsMatch{}, fmt.Errorf("flags: invalid value %q: %s", arg, fmt.Sprintf(format, a...))
	}
	test, ignore, hasIgnore := strings.Cut(strings.TrimSpace(arg), ",")
	m := flagsMatch{keep: 0xff}
	modSet, zero, n := false, false, 0
	for i := 0; i < len(test); i++ {
		c := test[i]
		var mod bitModifier
		switch c {
		case ' ', '\t':
			continue
		case '+':
			mod = bitsPlus
		case '*':
			mod = bitsAny
		case '!':
			mod = bitsNot
		case '0':
			zero = true
			n++
			continue
		default:
			b, ok := tcpFlagBit(c)
			if !ok {
				return bad("unknown flag %q (want F S R P A U C E 0)", c)
			}
			if m.flags&b != 0 {
				return bad("flag %q given twice", c)
			}
			m.flags |= b
			n++
			continue
		}
		if modSet {
			return bad("more than one modifier")
		}
		m.mod, modSet = mod, true
	}
	if n == 0 {
		return bad("no flags given")
	}
	if zero && m.flags != 0 {
		return bad("0 (no flags) cannot be combined with other flags")
	}
	if hasIgnore {
		ign := strings.TrimSpace(ignore)
		if ign == "" {
			return bad("empty list of ignored flags after the comma")
		}
		for i := 0; i < len(ign); i++ {
			b, ok := tcpFlagBit(ign[i])
			if !ok {
				return bad("unknown ignored flag %q (want F S R P A U C E)", ign[i])
			}
			m.keep &^= b
		}
	}
	return m, nil
}

// Match is false for anything but a decoded TCP header. A rule with no
// flags (flags:0) asks whether the packet has none, after the ignore list;
// with ! it asks whether it has some, and * can never match it (Suricata
// behaves the same way).
func (m flagsMatch) Match(p *decode.Packet) bool {
	if !p.IsTCP() {
		return false
	}
	f := p.TCPFlags & m.keep
	if m.flags == 0 {
		switch m.mod {
		case bitsNot:
			return f != 0
		case bitsAny:
			return false
		}
		return f == 0
	}
	return m.mod.match(f, m.flags)
}

func init() {
	Register(Keyword{Name: "flags", Aliases: []string{"tcp.flags"}, Apply: func(s *Sig, arg string) error {
		m, err := parseFlags(arg)
		if err != nil {
			return err
		}
		s.AddPacketMatch(m)
		return nil
	}})
}
