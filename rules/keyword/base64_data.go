package keyword

import "fmt"

// base64_data selects the bytes the last base64_decode decoded for the
// rest of the rule. Suricata keeps them in a list of their own that it
// inspects only from base64_decode, on the decoded bytes, and that ends
// the rule: no other buffer may follow. Here the ops after base64_data
// stay in the buffer of the base64_decode, after an OpBase64Data marker,
// so the engine needs no new buffer: base64_decode runs them on what it
// decoded (inspectBase64 in inspect.go).

func init() {
	Register(Keyword{Name: "base64_data", Apply: applyBase64Data})
}

func applyBase64Data(s *Sig, arg string) error {
	if arg != "" {
		return fmt.Errorf("takes no value")
	}
	dec := -1
	for i := range s.Ops {
		if s.Ops[i].Kind == OpBase64Decode {
			dec = i
		}
	}
	if dec < 0 {
		return fmt.Errorf("needs a preceding base64_decode")
	}
	if s.inBase64Data() {
		// Selected already; Suricata accepts the repeat.
		return nil
	}
	if err := s.fastPatternBeforeBase64(); err != nil {
		return err
	}
	s.setSticky(s.Ops[dec].Buf)
	s.addOp(Op{Kind: OpBase64Data,
		Offset: Num{Var: noVar}, Depth: Num{Var: noVar}, Distance: Num{Var: noVar}, Within: Num{Var: noVar}})
	return nil
}

// fastPatternBeforeBase64 fixes the fast pattern among the contents before
// base64_data. The prefilter scans buffers as they are, so a content of
// decoded bytes cannot be the fast pattern (Suricata never takes one from
// base64_data either); since Finish picks the first flagged content, or
// else the longest, flagging now the content it would pick among those
// before keeps the later ones out.
func (s *Sig) fastPatternBeforeBase64() error {
	best := -1
	for i := range s.Ops {
		o := &s.Ops[i]
		if o.Kind != OpContent || o.Negated || len(o.Pat) == 0 {
			continue
		}
		if o.FastPattern {
			return nil
		}
		if best < 0 || len(o.Pat) > len(s.Ops[best].Pat) {
			best = i
		}
	}
	if best < 0 {
		return unsupported("base64_data with no content before it: the prefilter cannot use decoded bytes")
	}
	s.Ops[best].FastPattern = true
	return nil
}

// inBase64Data reports whether base64_data selected the decoded bytes for
// what follows in the rule.
func (s *Sig) inBase64Data() bool {
	for i := len(s.Ops) - 1; i >= 0; i-- {
		if s.Ops[i].Kind == OpBase64Data {
			return true
		}
	}
	return false
}
