package rules

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// maxVarDepth bounds $VAR expansion so a variable defined in terms of
// itself is an error, not a stack overflow.
const maxVarDepth = 16

// AddrExpr is an address expression: any, a prefix, or a list, each
// possibly negated. A list matches when any of its positive members match
// (or it has none) and none of its negated members do, which is how
// Suricata reads `[10.0.0.0/8,!10.1.1.1]`.
type AddrExpr struct {
	Any    bool
	Neg    bool
	Prefix netip.Prefix
	// Lo and Hi bound an `a-b` range when Lo is valid.
	Lo, Hi netip.Addr
	List   []*AddrExpr
	isList bool
	set    *ipSet // the flattened form ParseAddr builds
}

// Match reports whether a is in the expression. It does not allocate.
func (e *AddrExpr) Match(a netip.Addr) bool {
	if e == nil {
		return true
	}
	if e.set != nil {
		return e.set.contains(a)
	}
	return e.match(a) != e.Neg
}

func (e *AddrExpr) match(a netip.Addr) bool {
	switch {
	case e.Any:
		return true
	case e.Lo.IsValid():
		a = a.Unmap()
		return a.BitLen() == e.Lo.BitLen() && a.Compare(e.Lo) >= 0 && a.Compare(e.Hi) <= 0
	case !e.isList:
		return e.Prefix.Contains(a.Unmap())
	}
	pos, hit := false, false
	for _, c := range e.List {
		if c.Neg {
			if c.match(a) {
				return false
			}
			continue
		}
		pos = true
		if !hit && c.match(a) {
			hit = true
		}
	}
	return hit || !pos
}

// IsAny reports whether the expression matches every address.
func (e *AddrExpr) IsAny() bool { return e == nil || (e.Any && !e.Neg) }

// ParseAddr parses an address expression, expanding $VARS from vars.
func ParseAddr(s string, vars Vars) (*AddrExpr, error) {
	e, err := parseAddr(strings.TrimSpace(s), vars, 0)
	if err != nil {
		return nil, err
	}
	if !e.IsAny() {
		e.compile()
	}
	return e, nil
}

func parseAddr(s string, vars Vars, depth int) (*AddrExpr, error) {
	if depth > maxVarDepth {
		return nil, fmt.Errorf("address variables nest deeper than %d: check for a variable that refers to itself", maxVarDepth)
	}
	neg := false
	for strings.HasPrefix(s, "!") {
		neg = !neg
		s = strings.TrimSpace(s[1:])
	}
	if s == "" {
		return nil, fmt.Errorf("empty address")
	}
	var e *AddrExpr
	switch {
	case s[0] == '[':
		if !strings.HasSuffix(s, "]") {
			return nil, fmt.Errorf("address list %q has no closing ]", s)
		}
		parts, err := splitList(s[1 : len(s)-1])
		if err != nil {
			return nil, err
		}
		e = &AddrExpr{isList: true}
		for _, p := range parts {
			c, err := parseAddr(strings.TrimSpace(p), vars, depth+1)
			if err != nil {
				return nil, err
			}
			e.List = append(e.List, c)
		}
	case s[0] == '$':
		v, ok := vars.Address[s[1:]]
		if !ok {
			return nil, fmt.Errorf("undefined address variable %s: define it under vars.address-groups", s)
		}
		var err error
		e, err = parseAddr(strings.TrimSpace(v), vars, depth+1)
		if err != nil {
			return nil, fmt.Errorf("in %s: %w", s, err)
		}
		if neg {
			e = &AddrExpr{isList: true, List: []*AddrExpr{e}}
		}
	case strings.EqualFold(s, "any"):
		e = &AddrExpr{Any: true}
	case strings.Contains(s, "-"):
		lo, hi, _ := strings.Cut(s, "-")
		l, err1 := netip.ParseAddr(strings.TrimSpace(lo))
		h, err2 := netip.ParseAddr(strings.TrimSpace(hi))
		if err1 != nil || err2 != nil || l.BitLen() != h.BitLen() || h.Less(l) {
			return nil, fmt.Errorf("bad address range %q: want low-high of one family, low first", s)
		}
		e = &AddrExpr{Lo: l.Unmap(), Hi: h.Unmap()}
	default:
		p, err := parsePrefix(s)
		if err != nil {
			return nil, err
		}
		e = &AddrExpr{Prefix: p}
	}
	if neg {
		e.Neg = !e.Neg
	}
	return e, nil
}

func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		ip, bits, _ := strings.Cut(s, "/")
		a, err := netip.ParseAddr(ip)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("bad address %q", s)
		}
		n, err := strconv.Atoi(bits)
		if err != nil {
			// Netmask form 10.0.0.0/255.0.0.0.
			m, err2 := netip.ParseAddr(bits)
			if err2 != nil || !m.Is4() {
				return netip.Prefix{}, fmt.Errorf("bad prefix length in %q", s)
			}
			b := m.As4()
			n = 0
			for _, x := range b {
				for i := 7; i >= 0; i-- {
					if x&(1<<i) != 0 {
						n++
					}
				}
			}
		}
		p, err := a.Unmap().Prefix(n)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("bad prefix %q: %w", s, err)
		}
		return p, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("bad address %q", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// splitList splits a list body at top-level commas.
func splitList(s string) ([]string, error) {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '[':
			depth++
		case ']':
			depth--
			if depth < 0 {
				return nil, fmt.Errorf("unbalanced ] in %q", s)
			}
		case ',':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	if depth != 0 {
		return nil, fmt.Errorf("unbalanced [ in %q", s)
	}
	out = append(out, s[start:])
	for _, p := range out {
		if strings.TrimSpace(p) == "" {
			return nil, fmt.Errorf("empty element in list %q", s)
		}
	}
	return out, nil
}

// PortExpr is a port expression with the same list semantics as AddrExpr.
type PortExpr struct {
	Any    bool
	Neg    bool
	Lo, Hi uint16
	List   []*PortExpr
	isList bool
}

// Match reports whether port is in the expression.
func (e *PortExpr) Match(port uint16) bool {
	if e == nil {
		return true
	}
	return e.match(port) != e.Neg
}

func (e *PortExpr) match(p uint16) bool {
	switch {
	case e.Any:
		return true
	case !e.isList:
		return p >= e.Lo && p <= e.Hi
	}
	pos, hit := false, false
	for _, c := range e.List {
		if c.Neg {
			if c.match(p) {
				return false
			}
			continue
		}
		pos = true
		if !hit && c.match(p) {
			hit = true
		}
	}
	return hit || !pos
}

// IsAny reports whether the expression matches every port.
func (e *PortExpr) IsAny() bool { return e == nil || (e.Any && !e.Neg) }

// Singles returns the explicit single ports the expression names
// positively, for grouping; ok is false when it is not a plain set of
// small ranges.
func (e *PortExpr) Singles() (ports []uint16, ok bool) {
	if e == nil || e.Neg || e.Any {
		return nil, false
	}
	if !e.isList {
		if int(e.Hi)-int(e.Lo) > 64 {
			return nil, false
		}
		for p := int(e.Lo); p <= int(e.Hi); p++ {
			ports = append(ports, uint16(p))
		}
		return ports, true
	}
	for _, c := range e.List {
		ps, ok := c.Singles()
		if !ok {
			return nil, false
		}
		ports = append(ports, ps...)
	}
	return ports, true
}

// ParsePort parses a port expression, expanding $VARS from vars.
func ParsePort(s string, vars Vars) (*PortExpr, error) {
	return parsePort(strings.TrimSpace(s), vars, 0)
}

func parsePort(s string, vars Vars, depth int) (*PortExpr, error) {
	if depth > maxVarDepth {
		return nil, fmt.Errorf("port variables nest deeper than %d: check for a variable that refers to itself", maxVarDepth)
	}
	neg := false
	for strings.HasPrefix(s, "!") {
		neg = !neg
		s = strings.TrimSpace(s[1:])
	}
	if s == "" {
		return nil, fmt.Errorf("empty port")
	}
	var e *PortExpr
	switch {
	case s[0] == '[':
		if !strings.HasSuffix(s, "]") {
			return nil, fmt.Errorf("port list %q has no closing ]", s)
		}
		parts, err := splitList(s[1 : len(s)-1])
		if err != nil {
			return nil, err
		}
		e = &PortExpr{isList: true}
		for _, p := range parts {
			c, err := parsePort(strings.TrimSpace(p), vars, depth+1)
			if err != nil {
				return nil, err
			}
			e.List = append(e.List, c)
		}
	case s[0] == '$':
		v, ok := vars.Port[s[1:]]
		if !ok {
			return nil, fmt.Errorf("undefined port variable %s: define it under vars.port-groups", s)
		}
		var err error
		e, err = parsePort(strings.TrimSpace(v), vars, depth+1)
		if err != nil {
			return nil, fmt.Errorf("in %s: %w", s, err)
		}
		if neg {
			e = &PortExpr{isList: true, List: []*PortExpr{e}}
		}
	case strings.EqualFold(s, "any"):
		e = &PortExpr{Any: true}
	default:
		lo, hi := uint64(0), uint64(65535)
		var err error
		if a, b, ok := strings.Cut(s, ":"); ok {
			if a != "" {
				if lo, err = strconv.ParseUint(a, 10, 16); err != nil {
					return nil, fmt.Errorf("bad port %q", s)
				}
			}
			if b != "" {
				if hi, err = strconv.ParseUint(b, 10, 16); err != nil {
					return nil, fmt.Errorf("bad port %q", s)
				}
			}
			if lo > hi {
				return nil, fmt.Errorf("port range %q is reversed", s)
			}
		} else {
			if lo, err = strconv.ParseUint(s, 10, 16); err != nil {
				return nil, fmt.Errorf("bad port %q", s)
			}
			hi = lo
		}
		e = &PortExpr{Lo: uint16(lo), Hi: uint16(hi)}
	}
	if neg {
		e.Neg = !e.Neg
	}
	return e, nil
}
