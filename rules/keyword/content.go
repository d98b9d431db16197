package keyword

import (
	"fmt"
	"strings"
)

func init() {
	Register(Keyword{Name: "content", Apply: applyContent})
	Register(Keyword{Name: "uricontent", Apply: func(s *Sig, arg string) error {
		if err := applyContent(s, arg); err != nil {
			return err
		}
		b, _ := BufferByName("http.uri")
		o := &s.Ops[s.lastOp]
		o.Buf, o.modSet = b, true
		if s.AppProto == "" {
			s.AppProto = "http"
		}
		return nil
	}})
}

func applyContent(s *Sig, arg string) error {
	neg := false
	a := strings.TrimSpace(arg)
	if strings.HasPrefix(a, "!") {
		neg = true
		a = strings.TrimSpace(a[1:])
	}
	q, rest, err := cutQuoted(a)
	if err != nil {
		return err
	}
	pat, err := ParseContent(q)
	if err != nil {
		return err
	}
	s.addOp(Op{Kind: OpContent, Pat: pat, Negated: neg,
		Offset: Num{Var: noVar}, Depth: Num{Var: noVar}, Distance: Num{Var: noVar}, Within: Num{Var: noVar}})
	return applyCommaMods(s, rest)
}

// applyCommaMods applies Snort 3 `, nocase, within 10` modifiers.
func applyCommaMods(s *Sig, rest string) error {
	rest = strings.TrimSpace(rest)
	if rest == "" {
		return nil
	}
	if rest[0] != ',' {
		return fmt.Errorf("unexpected %q after the quoted value", rest)
	}
	for _, m := range strings.Split(rest[1:], ",") {
		m = strings.TrimSpace(m)
		if m == "" {
			continue
		}
		name, val, _ := strings.Cut(m, " ")
		name = strings.ToLower(name)
		k, ok := Lookup(name)
		if !ok {
			return unsupported("unsupported keyword %q", name)
		}
		if err := k.Apply(s, strings.TrimSpace(val)); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

// cutQuoted splits `"..." rest` into the quoted body (escapes kept) and rest.
func cutQuoted(a string) (string, string, error) {
	if len(a) < 2 || a[0] != '"' {
		return "", "", fmt.Errorf("value must be quoted: %s", a)
	}
	for i := 1; i < len(a); i++ {
		switch a[i] {
		case '\\':
			i++
		case '"':
			return a[1:i], a[i+1:], nil
		}
	}
	return "", "", fmt.Errorf("unterminated quote in %s", a)
}

// ParseContent decodes a content body: `\"`, `\;`, `\\`, `\:` escapes and
// |hex| runs.
func ParseContent(q string) ([]byte, error) {
	out := make([]byte, 0, len(q))
	inHex := false
	var hi int = -1
	for i := 0; i < len(q); i++ {
		c := q[i]
		if inHex {
			switch {
			case c == '|':
				if hi >= 0 {
					return nil, fmt.Errorf("odd number of hex digits in content")
				}
				inHex = false
			case c == ' ' || c == '\t':
			case isHex(c):
				if hi < 0 {
					hi = hexVal(c)
				} else {
					out = append(out, byte(hi<<4|hexVal(c)))
					hi = -1
				}
			default:
				return nil, fmt.Errorf("invalid hex character %q in content", c)
			}
			continue
		}
		switch c {
		case '|':
			inHex = true
		case '\\':
			if i+1 >= len(q) {
				return nil, fmt.Errorf("content ends with a lone backslash")
			}
			i++
			switch q[i] {
			case '"', ';', '\\', ':', '|':
				out = append(out, q[i])
			default:
				return nil, fmt.Errorf("invalid escape \\%c in content: only \\\" \\; \\: \\\\ are allowed", q[i])
			}
		case '"':
			return nil, fmt.Errorf("unescaped quote in content")
		default:
			out = append(out, c)
		}
	}
	if inHex {
		return nil, fmt.Errorf("unterminated |hex| in content")
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("empty content")
	}
	return out, nil
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	}
	return int(c-'A') + 10
}

// unquote strips optional surrounding quotes.
func unquote(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}
