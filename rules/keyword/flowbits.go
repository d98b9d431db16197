package keyword

import (
	"fmt"
	"strings"
)

// FlowbitCmd is a flowbits command.
type FlowbitCmd uint8

// Flowbits commands.
const (
	FbSet FlowbitCmd = iota
	FbIsSet
	FbIsNotSet
	FbUnset
	FbToggle
)

// FlowbitOp is one flowbits option. Names with Or hold `a|b`; otherwise
// every name must satisfy the command (`a&b`). Idx is filled by the
// engine's compiler, which maps names to bit indexes.
type FlowbitOp struct {
	Cmd   FlowbitCmd
	Names []string
	Or    bool
	Idx   []int
}

// IsCheck reports whether the op is a condition rather than an action.
func (f FlowbitOp) IsCheck() bool { return f.Cmd == FbIsSet || f.Cmd == FbIsNotSet }

func init() {
	Register(Keyword{Name: "flowbits", Apply: applyFlowbits})
	Register(Keyword{Name: "noalert", Apply: func(s *Sig, arg string) error {
		s.NoAlert = true
		return nil
	}})
}

func applyFlowbits(s *Sig, arg string) error {
	cmd, names, _ := strings.Cut(arg, ",")
	cmd = strings.ToLower(strings.TrimSpace(cmd))
	names = strings.TrimSpace(names)
	op := FlowbitOp{}
	switch cmd {
	case "noalert":
		if names != "" {
			return fmt.Errorf("noalert takes no name")
		}
		s.NoAlert = true
		return nil
	}
	var err error
	if op.Cmd, err = parseBitCmd(cmd); err != nil {
		return err
	}
	if names == "" {
		return fmt.Errorf("%s needs a flowbit name", cmd)
	}
	if strings.Contains(names, "|") && strings.Contains(names, "&") {
		return fmt.Errorf("cannot mix | and & in %q", names)
	}
	sep := "&"
	if strings.Contains(names, "|") {
		sep = "|"
		op.Or = true
		if !op.IsCheck() {
			return fmt.Errorf("%s cannot use | groups", cmd)
		}
	}
	for _, n := range strings.Split(names, sep) {
		n = strings.TrimSpace(n)
		if n == "" || strings.ContainsAny(n, " \t") {
			return fmt.Errorf("bad flowbit name %q", n)
		}
		op.Names = append(op.Names, n)
	}
	s.Flowbits = append(s.Flowbits, op)
	return nil
}

// parseBitCmd reads the command of a flowbits or xbits keyword.
func parseBitCmd(cmd string) (FlowbitCmd, error) {
	switch cmd {
	case "set":
		return FbSet, nil
	case "isset":
		return FbIsSet, nil
	case "isnotset":
		return FbIsNotSet, nil
	case "unset":
		return FbUnset, nil
	case "toggle":
		return FbToggle, nil
	}
	return 0, fmt.Errorf("unknown command %q: use set, isset, isnotset, unset, toggle or noalert", cmd)
}
