package keyword

import "fmt"

// Transform rewrites a sticky buffer before its contents are inspected
// (Suricata's transform keywords: `dns.query; dotprefix; content:".x.com";`).
type Transform uint8

// Transforms tapwatch implements.
const (
	TrDotPrefix Transform = iota + 1
	TrToLower
	TrToUpper
	TrStripWhitespace
	TrCompressWhitespace
)

func init() {
	for name, t := range map[string]Transform{
		"dotprefix": TrDotPrefix, "to_lowercase": TrToLower, "to_uppercase": TrToUpper,
		"strip_whitespace": TrStripWhitespace, "compress_whitespace": TrCompressWhitespace,
	} {
		Register(Keyword{Name: name, Apply: transformApply(name, t)})
	}
}

func transformApply(name string, t Transform) func(*Sig, string) error {
	return func(s *Sig, arg string) error {
		if arg != "" {
			return fmt.Errorf("takes no value")
		}
		if !s.curSet || s.cur == BufPayload {
			return unsupported("%s needs a preceding sticky app-layer buffer", name)
		}
		// Suricata accepts a transform after the buffer's first content and
		// applies it to the whole buffer, so it does too (ET Open has such
		// rules).
		if s.Transforms == nil {
			s.Transforms = map[Buffer][]Transform{}
		}
		s.Transforms[s.cur] = append(s.Transforms[s.cur], t)
		return nil
	}
}

// ApplyTransforms rewrites in through ts, alternating between the two
// caller-owned scratch buffers, and returns the result. It allocates only
// when a scratch buffer must grow.
func ApplyTransforms(ts []Transform, in []byte, a, b *[]byte) []byte {
	cur := in
	for i, t := range ts {
		dst := a
		if i%2 == 1 {
			dst = b
		}
		out := (*dst)[:0]
		switch t {
		case TrDotPrefix:
			out = append(out, '.')
			out = append(out, cur...)
		case TrToLower:
			for _, c := range cur {
				if c >= 'A' && c <= 'Z' {
					c += 'a' - 'A'
				}
				out = append(out, c)
			}
		case TrToUpper:
			for _, c := range cur {
				if c >= 'a' && c <= 'z' {
					c -= 'a' - 'A'
				}
				out = append(out, c)
			}
		case TrStripWhitespace:
			for _, c := range cur {
				if !isWS(c) {
					out = append(out, c)
				}
			}
		case TrCompressWhitespace:
			prev := false
			for _, c := range cur {
				ws := isWS(c)
				if ws && prev {
					continue
				}
				if ws {
					c = ' '
				}
				prev = ws
				out = append(out, c)
			}
		}
		*dst = out
		cur = out
	}
	return cur
}

func isWS(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}
