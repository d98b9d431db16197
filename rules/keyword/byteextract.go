package keyword

import "fmt"

func init() {
	Register(Keyword{Name: "byte_extract", Apply: applyByteExtract})
}

func applyByteExtract(s *Sig, arg string) error {
	p := splitArgs(arg)
	if len(p) < 3 {
		return fmt.Errorf("want bytes, offset, name[, options]")
	}
	b := &ByteOp{Multiplier: 1, BytesVar: noVar}
	if _, err := fmt.Sscanf(p[0], "%d", &b.Bytes); err != nil {
		return fmt.Errorf("byte count %q is not a number", p[0])
	}
	var err error
	if b.Offset, err = s.parseNum(p[1]); err != nil {
		return fmt.Errorf("offset: %w", err)
	}
	name := p[2]
	if name == "" || s.varIndex(name) >= 0 {
		return fmt.Errorf("variable name %q is empty or already used", name)
	}
	if len(s.Vars) >= MaxVars {
		return fmt.Errorf("more than %d byte_extract variables", MaxVars)
	}
	if err := s.parseByteOpts(b, p[3:], "byte_extract"); err != nil {
		return err
	}
	s.Vars = append(s.Vars, name)
	b.VarIdx = len(s.Vars) - 1
	s.addOp(Op{Kind: OpByteExtract, Byte: b, Relative: b.Relative})
	return nil
}
