package keyword

import (
	"fmt"
	"strconv"
	"strings"
)

// The content modifiers live together because each is a few lines acting
// on the preceding content; the logic they configure is in inspect.go.

func init() {
	Register(Keyword{Name: "nocase", Apply: func(s *Sig, arg string) error {
		o, err := s.lastContent("nocase")
		if err != nil {
			return err
		}
		o.Nocase = true
		return nil
	}})
	Register(Keyword{Name: "rawbytes", Apply: func(s *Sig, arg string) error {
		o, err := s.lastContent("rawbytes")
		if err != nil {
			return err
		}
		o.RawBytes = true
		return nil
	}})
	Register(Keyword{Name: "offset", Apply: numMod("offset", func(o *Op, n Num) error {
		o.Offset = n
		return nil
	})})
	Register(Keyword{Name: "depth", Apply: numMod("depth", func(o *Op, n Num) error {
		if n.Var == noVar && n.V <= 0 {
			return fmt.Errorf("depth must be positive")
		}
		o.Depth = n
		return nil
	})})
	Register(Keyword{Name: "distance", Apply: numMod("distance", func(o *Op, n Num) error {
		o.Distance = n
		o.Relative = true
		return nil
	})})
	Register(Keyword{Name: "within", Apply: numMod("within", func(o *Op, n Num) error {
		if n.Var == noVar && n.V <= 0 {
			return fmt.Errorf("within must be positive")
		}
		o.Within = n
		o.Relative = true
		return nil
	})})
	Register(Keyword{Name: "startswith", Apply: func(s *Sig, arg string) error {
		o, err := s.lastContent("startswith")
		if err != nil {
			return err
		}
		o.StartsWith = true
		return nil
	}})
	Register(Keyword{Name: "endswith", Apply: func(s *Sig, arg string) error {
		o, err := s.lastContent("endswith")
		if err != nil {
			return err
		}
		o.EndsWith = true
		return nil
	}})
	Register(Keyword{Name: "fast_pattern", Apply: applyFastPattern})
}

func numMod(name string, set func(*Op, Num) error) func(*Sig, string) error {
	return func(s *Sig, arg string) error {
		o, err := s.lastContent(name)
		if err != nil {
			return err
		}
		n, err := s.parseNum(arg)
		if err != nil {
			return err
		}
		n.Set = true
		return set(o, n)
	}
}

// parseNum reads an integer or a byte_extract variable name.
func (s *Sig) parseNum(arg string) (Num, error) {
	a := strings.TrimSpace(arg)
	if a == "" {
		return Num{}, fmt.Errorf("needs a value")
	}
	v, err := strconv.ParseInt(a, 0, 64)
	if err == nil {
		return Num{V: v, Var: noVar}, nil
	}
	if i := s.varIndex(a); i >= 0 {
		return Num{Var: int8(i)}, nil
	}
	return Num{}, fmt.Errorf("%q is neither a number nor a byte_extract variable", a)
}

func applyFastPattern(s *Sig, arg string) error {
	o, err := s.lastContent("fast_pattern")
	if err != nil {
		return err
	}
	if o.Negated {
		// Suricata accepts fast_pattern on a negated content only with
		// `only` semantics being meaningless; treat as not usable.
		return nil
	}
	for i := range s.Ops {
		s.Ops[i].FastPattern = false
	}
	o.FastPattern = true
	a := strings.TrimSpace(arg)
	switch {
	case a == "":
	case a == "only":
		o.FPOnly = true
	default:
		x, y, ok := strings.Cut(a, ",")
		if !ok {
			return fmt.Errorf("want fast_pattern, fast_pattern:only or fast_pattern:offset,length")
		}
		off, err1 := strconv.Atoi(strings.TrimSpace(x))
		n, err2 := strconv.Atoi(strings.TrimSpace(y))
		if err1 != nil || err2 != nil || off < 0 || n <= 0 || off+n > len(o.Pat) {
			return fmt.Errorf("offset,length %q does not fit the %d-byte content", a, len(o.Pat))
		}
		o.FPOff, o.FPLen = off, n
	}
	return nil
}
