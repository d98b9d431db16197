package keyword

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// FlowintMod is a flowint modifier.
type FlowintMod uint8

// flowint modifiers. Set, Add and Sub change the variable once the whole
// rule matched; the others are conditions the rule must meet.
const (
	FiSet    FlowintMod = iota // =
	FiAdd                      // +
	FiSub                      // -
	FiEq                       // ==
	FiNe                       // !=
	FiLt                       // <
	FiLe                       // <=
	FiGt                       // >
	FiGe                       // >=
	FiIsSet                    // isset
	FiNotSet                   // notset, isnotset
)

var flowintModNames = [...]string{"=", "+", "-", "==", "!=", "<", "<=", ">", ">=", "isset", "notset"}

func (m FlowintMod) String() string {
	if int(m) < len(flowintModNames) {
		return flowintModNames[m]
	}
	return fmt.Sprintf("modifier %d", m)
}

// FlowintOp is one flowint option, `flowint:<name>,<modifier>[,<value>]`:
// an unsigned 32-bit integer variable kept on the flow. The value of =, +,
// -, and the comparisons is a number (Value) or the name of another flowint
// (Target), read when the op runs: 0 while that variable is not set.
//
// As in Suricata's detect-flowint.c: a comparison fails while Name is not
// set; + on a variable not set sets it to the value, - on one leaves it
// unset; arithmetic wraps around. Ops on a packet without a flow never
// match and change nothing.
//
// Idx and TargetIdx are filled by the engine's compiler, which numbers the
// flowint names of a rule set (-1 until then, and TargetIdx without a
// Target).
type FlowintOp struct {
	Name      string
	Mod       FlowintMod
	Value     uint32
	Target    string
	Idx       int
	TargetIdx int
}

// IsCheck reports whether the op is a condition rather than an action.
func (o FlowintOp) IsCheck() bool { return o.Mod > FiSub }

// Compare reports whether a and b satisfy comparison m (FiEq to FiGe,
// which run in NumCmp's order from CmpEq to CmpGe); false for other
// modifiers.
func (m FlowintMod) Compare(a, b uint32) bool {
	if m < FiEq || m > FiGe {
		return false
	}
	return NumCmp{Mode: CmpEq + CmpMode(m-FiEq), A: uint64(b)}.Match(uint64(a))
}

// flowintRe is Suricata's PARSE_REGEX of detect-flowint.c, with isnotset
// beside notset (Suricata 8, backported to 7.0: Redmine task 7426).
// RE2's leftmost-first submatches are PCRE's here: `==` is tried after
// `=` fails to leave a parsable rest, as PCRE backtracks to it. Its
// quirks are kept, so that tapwatch accepts and rejects the rules
// Suricata does: a name has two characters at least and may hold '.' and
// '/'; a target variable has two at least and only letters, digits and
// '_'; the comma before the value is optional; isset and notset accept
// (and ignore) a value.
var flowintRe = regexp.MustCompile(`^\s*([a-zA-Z][\w./]+)\s*,\s*([+=-]|==|!=|<|<=|>|>=|isset|notset|isnotset)\s*,?\s*([a-zA-Z]\w+|\d{1,10})?\s*$`)

// ParseFlowint parses flowint's value.
func ParseFlowint(arg string) (FlowintOp, error) {
	op := FlowintOp{Idx: -1, TargetIdx: -1}
	m := flowintRe.FindStringSubmatch(arg)
	if name, _, _ := strings.Cut(arg, ","); m == nil && len(strings.TrimSpace(name)) == 1 {
		return op, fmt.Errorf("%q: name %q is too short: Suricata wants 2 characters at least", arg, strings.TrimSpace(name))
	}
	if m == nil {
		return op, fmt.Errorf("%q: want <name>,<modifier>[,<value>]: a name of 2 or more letters, digits, '_', '.' or '/' starting with a letter; a modifier of =, +, -, ==, !=, <, <=, >, >=, isset, notset or isnotset; a value from 0 to 4294967295 or another flowint's name", arg)
	}
	op.Name = m[1]
	mod := m[2]
	if mod == "isnotset" {
		mod = "notset"
	}
	op.Mod = FlowintMod(slices.Index(flowintModNames[:], mod)) // the pattern admits only these

	if op.Mod == FiIsSet || op.Mod == FiNotSet {
		return op, nil
	}
	v := m[3]
	switch {
	case v == "":
		return op, fmt.Errorf("%q: %s needs a value: a number or another flowint's name", arg, op.Mod)
	case v[0] >= '0' && v[0] <= '9':
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return op, fmt.Errorf("%q: value %s is out of range 0-4294967295", arg, v)
		}
		op.Value = uint32(n)
	default:
		op.Target = v
	}
	return op, nil
}

func init() {
	Register(Keyword{Name: "flowint", Apply: func(s *Sig, arg string) error {
		op, err := ParseFlowint(arg)
		if err != nil {
			return err
		}
		s.Flowints = append(s.Flowints, op)
		return nil
	}})
}
