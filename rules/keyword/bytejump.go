package keyword

import "fmt"

func init() {
	Register(Keyword{Name: "byte_jump", Apply: applyByteJump})
}

func applyByteJump(s *Sig, arg string) error {
	p := splitArgs(arg)
	if len(p) < 2 {
		return fmt.Errorf("want bytes, offset[, options]")
	}
	b := &ByteOp{Multiplier: 1, BytesVar: noVar}
	n, err := s.parseNum(p[0])
	if err != nil {
		return fmt.Errorf("byte count: %w", err)
	}
	b.Bytes, b.BytesVar = int(n.V), n.Var
	if b.Offset, err = s.parseNum(p[1]); err != nil {
		return fmt.Errorf("offset: %w", err)
	}
	if err := s.parseByteOpts(b, p[2:], "byte_jump"); err != nil {
		return err
	}
	s.addOp(Op{Kind: OpByteJump, Byte: b, Relative: b.Relative})
	return nil
}
