package keyword

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/dlclark/regexp2"
)

// pcreTimeout bounds one backtracking match so a hostile payload cannot
// stall a worker.
const pcreTimeout = 100 * time.Millisecond

// Pcre is a compiled pcre option. Go's RE2 engine is used when it can
// express the pattern with byte semantics; regexp2 (backtracking) covers
// lookaround, backreferences and high-byte escapes.
type Pcre struct {
	Src      string
	Negated  bool
	Relative bool
	re       *regexp.Regexp
	re2      *regexp2.Regexp
}

func init() {
	Register(Keyword{Name: "pcre", Apply: applyPcre})
}

// pcreBufFlags maps legacy pcre buffer flags to buffers.
var pcreBufFlags = map[byte]string{
	'U': "http.uri", 'I': "http.uri.raw", 'P': "http.request_body", 'Q': "http.response_body",
	'H': "http.header", 'D': "http.header.raw", 'M': "http.method", 'C': "http.cookie",
	'S': "http.stat_code", 'Y': "http.stat_msg", 'V': "http.user_agent", 'W': "http.host", 'Z': "http.host.raw",
}

// gBackref matches PCRE's \g{N} and \gN backreference forms, which
// regexp2 spells \N.
var gBackref = regexp.MustCompile(`\\g\{?(\d+)\}?`)

// namedRef is PCRE's (?P=name) backreference.
var namedRef = regexp.MustCompile(`\(\?P=(\w+)\)`)

func applyPcre(s *Sig, arg string) error {
	a := strings.TrimSpace(arg)
	neg := false
	if strings.HasPrefix(a, "!") {
		neg = true
		a = strings.TrimSpace(a[1:])
	}
	var q, rest string
	if strings.HasPrefix(a, "/") {
		// Suricata accepts an unquoted pattern.
		q = a
	} else {
		var err error
		if q, rest, err = cutQuoted(a); err != nil {
			return err
		}
	}
	p, buf, err := CompilePcre(q)
	if err != nil {
		return err
	}
	p.Negated = neg
	o := s.addOp(Op{Kind: OpPcre, Pcre: p, Relative: p.Relative,
		Offset: Num{Var: noVar}, Depth: Num{Var: noVar}, Distance: Num{Var: noVar}, Within: Num{Var: noVar}})
	if buf != "" {
		b, _ := BufferByName(buf)
		o.Buf, o.modSet = b, true
		if s.AppProto == "" {
			s.AppProto = buffers[b].App
		}
	}
	rest = strings.TrimSpace(rest)
	if rest != "" {
		// Snort 3: pcre:"/x/", relative;
		for _, m := range strings.Split(strings.TrimPrefix(rest, ","), ",") {
			switch strings.TrimSpace(m) {
			case "relative":
				o.Relative, p.Relative = true, true
			case "":
			default:
				return fmt.Errorf("unexpected %q after the pattern", m)
			}
		}
	}
	return nil
}

// CompilePcre compiles `/re/flags` (escapes as in a rule's quoted value)
// and returns the buffer a legacy flag selects, if any.
func CompilePcre(q string) (*Pcre, string, error) {
	q = strings.NewReplacer(`\"`, `"`, `\;`, `;`).Replace(q)
	if len(q) < 2 || q[0] != '/' {
		return nil, "", fmt.Errorf("pattern must look like /regex/flags")
	}
	end := strings.LastIndexByte(q, '/')
	if end == 0 {
		return nil, "", fmt.Errorf("pattern has no closing /")
	}
	body, flags := q[1:end], q[end+1:]
	p := &Pcre{Src: q}
	var goFlags strings.Builder
	var opts regexp2.RegexOptions
	anchored, ungreedy, extended := false, false, false
	buf := ""
	for i := 0; i < len(flags); i++ {
		f := flags[i]
		switch f {
		case 'i':
			goFlags.WriteByte('i')
			opts |= regexp2.IgnoreCase
		case 's':
			goFlags.WriteByte('s')
			opts |= regexp2.Singleline
		case 'm':
			goFlags.WriteByte('m')
			opts |= regexp2.Multiline
		case 'x':
			extended = true
			opts |= regexp2.IgnorePatternWhitespace
		case 'A':
			anchored = true
		case 'E', 'O', 'B':
			// E ($ only at the very end) is Go's default; O and B
			// (match-limit override, rawbytes) change nothing here.
		case 'G':
			ungreedy = true
			goFlags.WriteByte('U')
		case 'R':
			p.Relative = true
		default:
			if b, ok := pcreBufFlags[f]; ok {
				if buf != "" {
					return nil, "", fmt.Errorf("pcre flags select two buffers")
				}
				buf = b
				continue
			}
			return nil, "", unsupported("unsupported pcre flag %q", string(f))
		}
	}
	body = dropPossessive(body)
	if anchored {
		body = `\A(?:` + body + `)`
	}
	if !extended && !needsBytes(body) {
		src := body
		if goFlags.Len() > 0 {
			src = "(?" + goFlags.String() + ")" + body
		}
		if re, err := regexp.Compile(src); err == nil {
			p.re = re
			return p, buf, nil
		}
	}
	if ungreedy {
		return nil, "", unsupported("pcre flag G with a pattern RE2 cannot compile")
	}
	body = gBackref.ReplaceAllString(body, `\$1`)
	body = strings.ReplaceAll(body, "(?P<", "(?<")
	body = namedRef.ReplaceAllString(body, `\k<$1>`)
	if !anchored && !extended && startsWithDotStar(body) {
		// A backtracking engine tries every start position and, for each,
		// runs the leading .* to the end of the line: quadratic in the
		// line (an ET Open RIG rule spent 1.7 ms per 300-byte URI). Such
		// a pattern matches from the start of its line whenever it
		// matches at all, so its leftmost match starts there and only
		// line starts need trying; the match found is the same.
		if opts&regexp2.Singleline != 0 {
			body = `\A(?:` + body + `)`
		} else {
			body = `(?m:^)(?:` + body + `)`
		}
	}
	re2, err := regexp2.Compile(body, opts)
	if err != nil {
		return nil, "", fmt.Errorf("pattern %s does not compile: %w", q, err)
	}
	re2.MatchTimeout = pcreTimeout
	p.re2 = re2
	return p, buf, nil
}

// startsWithDotStar reports whether every alternative of body begins
// with .* or .+, after any lookaheads that themselves begin so: then a
// match starting anywhere on a line can start at the line's beginning
// instead, each .* absorbing the bytes in between.
func startsWithDotStar(body string) bool {
	if topLevelAlternation(body) {
		return false
	}
	dot := func(s string) bool { return strings.HasPrefix(s, ".*") || strings.HasPrefix(s, ".+") }
	for strings.HasPrefix(body, "(?=") {
		end := groupEnd(body)
		if end < 0 || !dot(body[3:]) || topLevelAlternation(body[3:end]) {
			return false
		}
		body = body[end+1:]
	}
	return dot(body)
}

// groupEnd returns the index of the parenthesis closing the group that
// opens at re[0], or -1.
func groupEnd(re string) int {
	end := -1
	walkRegex(re, func(i, depth int, c byte) bool {
		if c == ')' && depth == 0 {
			end = i
			return false
		}
		return true
	})
	return end
}

// topLevelAlternation reports whether re has a | outside every group
// (or cannot be scanned).
func topLevelAlternation(re string) bool {
	found := false
	ok := walkRegex(re, func(_, depth int, c byte) bool {
		found = c == '|' && depth == 0
		return !found
	})
	return found || !ok
}

// walkRegex calls f with each (, ) and | of re outside escapes and
// character classes, and the nesting depth around it (a group's
// parentheses get the same depth), until f returns false. It reports
// false when re cannot be scanned (a class left open).
func walkRegex(re string, f func(i, depth int, c byte) bool) bool {
	depth := 0
	for i := 0; i < len(re); i++ {
		switch c := re[i]; c {
		case '\\':
			i++
		case '[':
			if i = classEnd(re, i); i < 0 {
				return false
			}
		case '(', ')', '|':
			if c == ')' {
				depth--
			}
			if !f(i, depth, c) {
				return true
			}
			if c == '(' {
				depth++
			}
		}
	}
	return true
}

// classEnd returns the index of the ] closing the character class that
// opens at re[i] (a ] first in the class, or after ^, is literal).
func classEnd(re string, i int) int {
	j := i + 1
	if j < len(re) && re[j] == '^' {
		j++
	}
	if j < len(re) && re[j] == ']' {
		j++
	}
	for ; j < len(re); j++ {
		switch re[j] {
		case '\\':
			j++
		case ']':
			return j
		}
	}
	return -1
}

// needsBytes reports whether the pattern names bytes >= 0x80, which Go's
// UTF-8 regexp would treat as runes rather than single bytes.
func needsBytes(body string) bool {
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c >= 0x80 {
			return true
		}
		if c == '\\' && i+1 < len(body) {
			if body[i+1] == 'x' && i+2 < len(body) && strings.IndexByte("89abcdefABCDEF", body[i+2]) >= 0 {
				return true
			}
			i++
		}
	}
	return false
}

// Find searches buf[start:] and returns the match bounds in buf.
func (p *Pcre) Find(buf []byte, start int, sc *Scratch) (int, int, bool) {
	if start > len(buf) {
		return 0, 0, false
	}
	if p.re != nil {
		loc := p.re.FindIndex(buf[start:])
		if loc == nil {
			return 0, 0, false
		}
		return start + loc[0], start + loc[1], true
	}
	// Latin-1 widening keeps byte offsets equal to rune offsets. Inside
	// Inspect the whole buffer is widened once; the match runs on the
	// runes from start, as it would on a widened buf[start:].
	if sc.wide != 2 || len(sc.runes) != len(buf) {
		r := slices.Grow(sc.runes[:0], len(buf))[:len(buf)]
		for i, c := range buf {
			r[i] = rune(c)
		}
		sc.runes = r
		if sc.wide == 1 {
			sc.wide = 2
		}
	}
	m, err := p.re2.FindRunesMatch(sc.runes[start:])
	if err != nil || m == nil {
		return 0, 0, false
	}
	return start + m.Index, start + m.Index + m.Length, true
}

// dropPossessive rewrites possessive quantifiers (x*+, x++, x?+, x{n}+),
// which neither RE2 nor regexp2 parse, as greedy ones. Possessive only
// forbids backtracking into the group, so the greedy form matches a
// superset; rules use it for speed, not meaning.
func dropPossessive(re string) string {
	var b strings.Builder
	inClass := false
	for i := 0; i < len(re); i++ {
		c := re[i]
		b.WriteByte(c)
		switch {
		case c == '\\' && i+1 < len(re):
			i++
			b.WriteByte(re[i])
			continue
		case inClass:
			if c == ']' {
				inClass = false
			}
			continue
		case c == '[':
			inClass = true
			if i+1 < len(re) && re[i+1] == ']' {
				i++
				b.WriteByte(']')
			}
			continue
		}
		if (c == '*' || c == '+' || c == '?' || c == '}') && i+1 < len(re) && re[i+1] == '+' {
			prevQuant := c == '+' && i > 0 && re[i-1] != '\\' && (re[i-1] == '*' || re[i-1] == '+' || re[i-1] == '?' || re[i-1] == '}')
			if !prevQuant {
				i++
			}
		}
	}
	return b.String()
}
