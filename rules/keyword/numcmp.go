package keyword

import (
	"fmt"
	"strconv"
	"strings"
)

// CmpMode is how a NumCmp compares a value.
type CmpMode uint8

// Comparison modes, after Suricata's integer keywords. Ranges are exclusive
// on both ends, as in Suricata: 1-4 holds 2 and 3.
const (
	CmpEq       CmpMode = iota // v == A
	CmpNe                      // v != A
	CmpLt                      // v < A
	CmpLe                      // v <= A
	CmpGt                      // v > A
	CmpGe                      // v >= A
	CmpRange                   // A < v < B
	CmpNotRange                // v <= A || v >= B
	CmpMask                    // v & A == B
	CmpNotMask                 // v & A != B
)

// NumCmp is a parsed integer test, shared by every keyword that compares a
// header field or a length with a number (ttl, dsize, itype, byte_test-like
// keywords, urilen, bsize...).
type NumCmp struct {
	Mode CmpMode
	A, B uint64
}

// Match reports whether v satisfies the comparison.
func (c NumCmp) Match(v uint64) bool {
	switch c.Mode {
	case CmpEq:
		return v == c.A
	case CmpNe:
		return v != c.A
	case CmpLt:
		return v < c.A
	case CmpLe:
		return v <= c.A
	case CmpGt:
		return v > c.A
	case CmpGe:
		return v >= c.A
	case CmpRange:
		return v > c.A && v < c.B
	case CmpNotRange:
		return v <= c.A || v >= c.B
	case CmpMask:
		return v&c.A == c.B
	case CmpNotMask:
		return v&c.A != c.B
	}
	return false
}

// String renders c in a form ParseNumCmp reads back to the same value.
func (c NumCmp) String() string {
	switch c.Mode {
	case CmpEq:
		return strconv.FormatUint(c.A, 10)
	case CmpNe:
		return "!" + strconv.FormatUint(c.A, 10)
	case CmpLt:
		return "<" + strconv.FormatUint(c.A, 10)
	case CmpLe:
		return "<=" + strconv.FormatUint(c.A, 10)
	case CmpGt:
		return ">" + strconv.FormatUint(c.A, 10)
	case CmpGe:
		return ">=" + strconv.FormatUint(c.A, 10)
	case CmpRange:
		return strconv.FormatUint(c.A, 10) + "-" + strconv.FormatUint(c.B, 10)
	case CmpNotRange:
		return "!" + strconv.FormatUint(c.A, 10) + "-" + strconv.FormatUint(c.B, 10)
	case CmpMask:
		return "&" + strconv.FormatUint(c.A, 10) + "=" + strconv.FormatUint(c.B, 10)
	case CmpNotMask:
		return "&" + strconv.FormatUint(c.A, 10) + "!=" + strconv.FormatUint(c.B, 10)
	}
	return fmt.Sprintf("NumCmp(mode %d)", c.Mode)
}

// ParseNumCmp parses Suricata's integer syntax: N, =N, !N, !=N, <N, <=N, >N,
// >=N, A-B and A<>B (exclusive), !A-B, &M=V and &M!=V. Numbers are decimal,
// optionally with a kb/kib/mb/mib/gb/gib suffix, or 0x hexadecimal. Values
// above max are rejected, and so are tests that could never or would always
// match (<0, >max, an empty range, a mask that can't produce V), because
// such a rule is a mistake the author wants to hear about.
func ParseNumCmp(s string, max uint64) (NumCmp, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return NumCmp{}, fmt.Errorf("empty value")
	}
	if s[0] == '&' {
		return parseNumMask(s[1:], max)
	}
	if c, ok, err := parseNumRange(s, max); ok || err != nil {
		return c, err
	}

	mode := CmpEq
	rest := s
	switch {
	case strings.HasPrefix(rest, ">="):
		mode, rest = CmpGe, rest[2:]
	case strings.HasPrefix(rest, "<="):
		mode, rest = CmpLe, rest[2:]
	case strings.HasPrefix(rest, "!="):
		mode, rest = CmpNe, rest[2:]
	case strings.HasPrefix(rest, ">"):
		mode, rest = CmpGt, rest[1:]
	case strings.HasPrefix(rest, "<"):
		mode, rest = CmpLt, rest[1:]
	case strings.HasPrefix(rest, "!"):
		mode, rest = CmpNe, rest[1:]
	case strings.HasPrefix(rest, "="):
		rest = rest[1:]
	}
	v, rest, err := parseNumValue(strings.TrimLeft(rest, " \t"), max)
	if err != nil {
		return NumCmp{}, err
	}
	if rest = strings.TrimSpace(rest); rest != "" {
		return NumCmp{}, fmt.Errorf("unexpected %q after the number", rest)
	}
	switch {
	case mode == CmpLt && v == 0:
		return NumCmp{}, fmt.Errorf("<0 can never match")
	case mode == CmpGe && v == 0:
		return NumCmp{}, fmt.Errorf(">=0 always matches")
	case mode == CmpGt && v == max:
		return NumCmp{}, fmt.Errorf(">%d can never match", max)
	case mode == CmpLe && v == max:
		return NumCmp{}, fmt.Errorf("<=%d always matches", max)
	}
	return NumCmp{Mode: mode, A: v}, nil
}

// parseNumRange reports ok=false (and no error) when s is not a range at
// all, so the caller can try the other forms; a range that is malformed
// after its separator is an error.
func parseNumRange(s string, max uint64) (NumCmp, bool, error) {
	mode := CmpRange
	rest := s
	if strings.HasPrefix(rest, "!") {
		mode, rest = CmpNotRange, rest[1:]
	}
	a, rest, err := parseNumValue(rest, max)
	if err != nil {
		return NumCmp{}, false, nil
	}
	rest = strings.TrimLeft(rest, " \t")
	switch {
	case strings.HasPrefix(rest, "<>"):
		rest = rest[2:]
	case strings.HasPrefix(rest, "-"):
		rest = rest[1:]
	default:
		return NumCmp{}, false, nil
	}
	b, rest, err := parseNumValue(strings.TrimLeft(rest, " \t"), max)
	if err != nil {
		return NumCmp{}, true, err
	}
	if rest = strings.TrimSpace(rest); rest != "" {
		return NumCmp{}, true, fmt.Errorf("unexpected %q after the range", rest)
	}
	if b <= a || b-a < 2 {
		return NumCmp{}, true, fmt.Errorf("range %d-%d holds no value (bounds are exclusive)", a, b)
	}
	return NumCmp{Mode: mode, A: a, B: b}, true, nil
}

func parseNumMask(s string, max uint64) (NumCmp, error) {
	m, rest, err := parseNumValue(strings.TrimLeft(s, " \t"), max)
	if err != nil {
		return NumCmp{}, err
	}
	rest = strings.TrimLeft(rest, " \t")
	mode := CmpMask
	switch {
	case strings.HasPrefix(rest, "!="):
		mode, rest = CmpNotMask, rest[2:]
	case strings.HasPrefix(rest, "="):
		rest = rest[1:]
	default:
		return NumCmp{}, fmt.Errorf("bitmask &%d needs =V or !=V", m)
	}
	v, rest, err := parseNumValue(strings.TrimLeft(rest, " \t"), max)
	if err != nil {
		return NumCmp{}, err
	}
	if rest = strings.TrimSpace(rest); rest != "" {
		return NumCmp{}, fmt.Errorf("unexpected %q after the bitmask", rest)
	}
	if v&m != v {
		return NumCmp{}, fmt.Errorf("value %#x has bits outside mask %#x", v, m)
	}
	return NumCmp{Mode: mode, A: m, B: v}, nil
}

// numUnit recognises a size suffix at the start of s; the longer spelling
// is tested first so "kib" is not read as "k" plus junk.
func numUnit(s string) (n int, mult uint64) {
	for _, u := range [...]struct {
		suffix string
		mult   uint64
	}{
		{"kib", 1 << 10}, {"kb", 1 << 10},
		{"mib", 1 << 20}, {"mb", 1 << 20},
		{"gib", 1 << 30}, {"gb", 1 << 30},
	} {
		if len(s) >= len(u.suffix) && strings.EqualFold(s[:len(u.suffix)], u.suffix) {
			return len(u.suffix), u.mult
		}
	}
	return 0, 1
}

// parseNumValue reads one number at the start of s and returns what follows.
func parseNumValue(s string, max uint64) (uint64, string, error) {
	if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && numIsHex(s[2]) {
		n := 2
		for n < len(s) && numIsHex(s[n]) {
			n++
		}
		v, err := strconv.ParseUint(s[2:n], 16, 64)
		if err != nil || v > max {
			return 0, s, fmt.Errorf("%s is out of range (max %d)", s[:n], max)
		}
		return v, s[n:], nil
	}
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	if n == 0 {
		return 0, s, fmt.Errorf("%q is not a number", s)
	}
	v, err := strconv.ParseUint(s[:n], 10, 64)
	if err != nil || v > max {
		return 0, s, fmt.Errorf("%s is out of range (max %d)", s[:n], max)
	}
	un, mult := numUnit(s[n:])
	if v > max/mult {
		return 0, s, fmt.Errorf("%s is out of range (max %d)", s[:n+un], max)
	}
	return v * mult, s[n+un:], nil
}

func numIsHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// hdrParseNum parses a keyword's integer argument and names the keyword and
// the argument in the error, so the rule author sees which option failed.
func hdrParseNum(name, arg string, max uint64) (NumCmp, error) {
	c, err := ParseNumCmp(arg, max)
	if err != nil {
		return NumCmp{}, fmt.Errorf("%s: invalid value %q: %w", name, arg, err)
	}
	return c, nil
}

// hdrUnquote drops one pair of surrounding double quotes: older rule sets
// write id:"1" and icmp_id:"0", which Suricata accepts for those keywords.
func hdrUnquote(arg string) string {
	a := strings.TrimSpace(arg)
	if len(a) >= 2 && a[0] == '"' && a[len(a)-1] == '"' {
		return a[1 : len(a)-1]
	}
	return arg
}
