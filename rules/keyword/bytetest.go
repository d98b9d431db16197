package keyword

import (
	"fmt"
	"strings"
)

func init() {
	Register(Keyword{Name: "byte_test", Apply: applyByteTest})
}

func applyByteTest(s *Sig, arg string) error {
	p := splitArgs(arg)
	if len(p) < 4 {
		return fmt.Errorf("want bytes, operator, value, offset[, options]")
	}
	b := &ByteOp{BytesVar: noVar}
	n, err := s.parseNum(p[0])
	if err != nil {
		return fmt.Errorf("byte count: %w", err)
	}
	b.Bytes, b.BytesVar = int(n.V), n.Var
	op := strings.TrimSpace(p[1])
	if strings.HasPrefix(op, "!") && len(op) > 1 {
		b.Not = true
		op = op[1:]
	}
	switch op {
	case "<", ">", "=", "!", "&", "^":
		b.Cmp = op[0]
	case "<=":
		b.Cmp = 'l'
	case ">=":
		b.Cmp = 'g'
	default:
		return fmt.Errorf("operator %q: use < > = ! & ^ <= >=", p[1])
	}
	if b.Value, err = s.parseNum(p[2]); err != nil {
		return fmt.Errorf("value: %w", err)
	}
	if b.Offset, err = s.parseNum(p[3]); err != nil {
		return fmt.Errorf("offset: %w", err)
	}
	if err := s.parseByteOpts(b, p[4:], "byte_test"); err != nil {
		return err
	}
	s.addOp(Op{Kind: OpByteTest, Byte: b, Relative: b.Relative})
	return nil
}

// test applies the comparison to an extracted value.
func (b *ByteOp) test(v uint64, want uint64) bool {
	var r bool
	switch b.Cmp {
	case '<':
		r = v < want
	case '>':
		r = v > want
	case '=':
		r = v == want
	case '!':
		r = v != want
	case '&':
		r = v&want != 0
	case '^':
		r = v^want != 0
	case 'l':
		r = v <= want
	case 'g':
		r = v >= want
	}
	return r != b.Not
}
