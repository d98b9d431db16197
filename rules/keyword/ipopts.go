package keyword

import (
	"fmt"
	"strings"

	"github.com/tapwatch/tapwatch/rules/decode"
)

// IPv4 option type bytes (copied flag, class and number together, as on the
// wire).
const (
	ipoptEOL    = 0x00
	ipoptNOP    = 0x01
	ipoptRR     = 0x07
	ipoptQS     = 0x19
	ipoptTS     = 0x44
	ipoptSEC    = 0x82
	ipoptLSRR   = 0x83
	ipoptESEC   = 0x85
	ipoptCIPSO  = 0x86
	ipoptSATID  = 0x88
	ipoptSSRR   = 0x89
	ipoptRTRALT = 0x94
)

// ipoptAny stands for the keyword value "any": it lies outside the byte
// range, so it never equals a real option type.
const ipoptAny = 0x1ff

// ipoptsMatch tests whether the IPv4 header carries one option.
type ipoptsMatch struct{ opt uint16 }

func ipoptByName(name string) (uint16, bool) {
	switch strings.ToLower(name) {
	case "eol":
		return ipoptEOL, true
	case "nop":
		return ipoptNOP, true
	case "rr":
		return ipoptRR, true
	case "qs":
		return ipoptQS, true
	case "ts":
		return ipoptTS, true
	case "sec":
		return ipoptSEC, true
	case "lsrr":
		return ipoptLSRR, true
	case "esec":
		return ipoptESEC, true
	case "cipso":
		return ipoptCIPSO, true
	case "satid":
		return ipoptSATID, true
	case "ssrr":
		return ipoptSSRR, true
	case "rtralt":
		return ipoptRTRALT, true
	case "any":
		return ipoptAny, true
	}
	return 0, false
}

// ipoptKnown reports whether Suricata names option type t; "any" matches
// only these, as Suricata's decoder records no flag for an unknown option.
func ipoptKnown(t byte) bool {
	switch t {
	case ipoptEOL, ipoptNOP, ipoptRR, ipoptQS, ipoptTS, ipoptSEC, ipoptLSRR,
		ipoptESEC, ipoptCIPSO, ipoptSATID, ipoptSSRR, ipoptRTRALT:
		return true
	}
	return false
}

// parseIPOpts reads one option name; Suricata allows one per keyword.
func parseIPOpts(arg string) (ipoptsMatch, error) {
	name := strings.TrimSpace(arg)
	o, ok := ipoptByName(name)
	if !ok {
		return ipoptsMatch{}, fmt.Errorf("ipopts: unknown option %q (want one of rr eol nop ts sec esec lsrr ssrr satid qs rtralt cipso any)", arg)
	}
	return ipoptsMatch{o}, nil
}

// Match walks the option TLVs in place. The walk stops at EOL (what follows
// is padding) and at a malformed length, keeping what it found before it,
// so a crafted length can neither hide earlier options nor run past the
// header.
func (m ipoptsMatch) Match(p *decode.Packet) bool {
	if p.IPVersion != 4 {
		return false
	}
	o := p.IPOptions
	for i := 0; i < len(o); {
		t := o[i]
		if m.opt == uint16(t) || m.opt == ipoptAny && ipoptKnown(t) {
			// A single-byte option is whole by itself; a TLV counts only
			// when its length is sane.
			if t == ipoptEOL || t == ipoptNOP {
				return true
			}
			if i+1 < len(o) && o[i+1] >= 2 && i+int(o[i+1]) <= len(o) {
				return true
			}
			return false
		}
		switch t {
		case ipoptEOL:
			return false
		case ipoptNOP:
			i++
			continue
		}
		if i+1 >= len(o) || o[i+1] < 2 {
			return false
		}
		i += int(o[i+1])
	}
	return false
}

func init() {
	Register(Keyword{Name: "ipopts", Apply: func(s *Sig, arg string) error {
		m, err := parseIPOpts(arg)
		if err != nil {
			return err
		}
		s.AddPacketMatch(m)
		return nil
	}})
}
