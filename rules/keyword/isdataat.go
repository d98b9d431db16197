package keyword

import (
	"fmt"
	"strings"
)

// IsDataAt is isdataat's parameters.
type IsDataAt struct {
	N        Num
	Negated  bool
	Relative bool
}

func init() {
	Register(Keyword{Name: "isdataat", Apply: applyIsDataAt})
}

func applyIsDataAt(s *Sig, arg string) error {
	p := splitArgs(arg)
	d := &IsDataAt{}
	v := p[0]
	if strings.HasPrefix(v, "!") {
		d.Negated = true
		v = strings.TrimSpace(v[1:])
	}
	var err error
	if d.N, err = s.parseNum(v); err != nil {
		return err
	}
	for _, o := range p[1:] {
		switch o {
		case "relative":
			d.Relative = true
		case "rawbytes":
		default:
			return fmt.Errorf("unknown option %q: use relative", o)
		}
	}
	s.addOp(Op{Kind: OpIsDataAt, Isdat: d, Relative: d.Relative})
	return nil
}
