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
	s.setSticky(s.Ops[dec].Buf)
	s.addOp(Op{Kind: OpBase64Data,
		Offset: Num{Var: noVar}, Depth: Num{Var: noVar}, Distance: Num{Var: noVar}, Within: Num{Var: noVar}})
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
