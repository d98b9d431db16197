package detect

import (
	"github.com/tapwatch/tapwatch/rules/keyword"
)

// flowint.go keeps the flowint variables (keyword/flowint.go): unsigned
// 32-bit integers on a flow, kept in its engine state (flowState.ints)
// and gone with it, as Suricata keeps them among the flow's variables.
// Like flowbits, the conditions (comparisons, isset, notset) are tested
// with the rule's other packet-independent tests (matchCommon) and the
// changes (=, +, -) made, in rule order, once the whole rule matched
// (postMatch): Suricata puts the former in a rule's match list and the
// latter in its post-match list, run after a match whether or not a
// threshold or noalert then keeps the alert back.

// flowintsMax caps the variables one flow holds. A rule set names only so
// many, but nothing else bounds them: a change that would add one more is
// dropped (counted in Engine.StateDrops) and the variable stays unset.
const flowintsMax = 64

// flowIntVar is one variable: its name's number (FlowintOp.Idx) and value.
type flowIntVar struct {
	idx int32
	val uint32
}

// flowInts is a flow's variables, in the order they were first set. Flows
// hold few: a linear scan beats a map.
type flowInts []flowIntVar

// get returns variable idx and whether it is set.
func (v flowInts) get(idx int) (uint32, bool) {
	for _, x := range v {
		if int(x.idx) == idx {
			return x.val, true
		}
	}
	return 0, false
}

// set sets variable idx to val. It returns false, changing nothing, when
// idx is not set and the flow already holds flowintsMax variables.
func (v *flowInts) set(idx int, val uint32) bool {
	if idx < 0 {
		return true
	}
	for i := range *v {
		if int((*v)[i].idx) == idx {
			(*v)[i].val = val
			return true
		}
	}
	if len(*v) >= flowintsMax {
		return false
	}
	*v = append(*v, flowIntVar{idx: int32(idx), val: val})
	return true
}

// operand is the value op works with: its number, or its target
// variable's value (0 while that is not set).
func (v flowInts) operand(op *keyword.FlowintOp) uint32 {
	if op.Target == "" {
		return op.Value
	}
	val, _ := v.get(op.TargetIdx)
	return val
}

// flowintMatch evaluates s's flowint conditions on the flow whose engine
// state is fs (nil without a flow: no condition holds then).
func flowintMatch(s *keyword.Sig, fs *flowState) bool {
	for i := range s.Flowints {
		op := &s.Flowints[i]
		if !op.IsCheck() {
			continue
		}
		if fs == nil {
			return false
		}
		cur, set := fs.ints.get(op.Idx)
		var ok bool
		switch op.Mod {
		case keyword.FiIsSet:
			ok = set
		case keyword.FiNotSet:
			ok = !set
		default:
			ok = set && op.Mod.Compare(cur, fs.ints.operand(op))
		}
		if !ok {
			return false
		}
	}
	return true
}

// flowintPost makes s's flowint changes, in rule order, on the flow whose
// engine state is fs.
func (w *Worker) flowintPost(s *keyword.Sig, fs *flowState) {
	if fs == nil {
		return
	}
	for i := range s.Flowints {
		op := &s.Flowints[i]
		if op.IsCheck() {
			continue
		}
		val := fs.ints.operand(op)
		cur, set := fs.ints.get(op.Idx)
		switch op.Mod {
		case keyword.FiAdd:
			// + on a variable not set sets it to the value.
			val += cur
		case keyword.FiSub:
			if !set {
				// Suricata leaves it unset.
				continue
			}
			val = cur - val
		}
		if !fs.ints.set(op.Idx, val) {
			w.e.hosts.fintDrops.Add(1)
		}
	}
}

// indexFlowints numbers the flowint names of sigs (variables and targets
// share one namespace, as in Suricata) into their ops' Idx and TargetIdx.
func indexFlowints(sigs []*csig) {
	names := map[string]int{}
	num := func(n string) int {
		i, ok := names[n]
		if !ok {
			i = len(names)
			names[n] = i
		}
		return i
	}
	for _, c := range sigs {
		ops := c.sig.Flowints
		if len(ops) == 0 {
			continue
		}
		for i := range ops {
			ops[i].Idx = num(ops[i].Name)
			ops[i].TargetIdx = -1
			if ops[i].Target != "" {
				ops[i].TargetIdx = num(ops[i].Target)
			}
		}
	}
}
