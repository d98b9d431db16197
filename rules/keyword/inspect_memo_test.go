package keyword

import (
	"strings"
	"testing"
)

func contentOp(pat string, relative bool) Op {
	o := Op{Kind: OpContent, Pat: []byte(pat), Relative: relative,
		Offset: Num{Var: noVar}, Depth: Num{Var: noVar}, Distance: Num{Var: noVar}, Within: Num{Var: noVar}}
	if relative {
		o.Distance = Num{V: 0, Var: noVar, Set: true}
	}
	return o
}

// A relative content that failed from one cursor fails from every later one
// (failFrom): a body with thousands of "<" before a ".length" that never
// completes the rule costs steps linear in the "<", not their product with
// the ".length", and the answer is the one exhaustive search gives.
func TestInspectRetriesAreLinear(t *testing.T) {
	within := contentOp("(", true)
	within.Within = Num{V: 1, Var: noVar, Set: true}
	ops := []Op{contentOp("<script", false), contentOp("<", true), contentOp(".length", true), within}
	body := "<script>" + strings.Repeat("<b>", 1000) + strings.Repeat(" x.length;", 50)
	var sc Scratch
	if Inspect(ops, []byte(body), &sc) {
		t.Fatal("matched a body where no .length is followed by (")
	}
	// One step per "<", one per ".length" and "(" tried from the first.
	if sc.steps > 1000+2*50+10 {
		t.Fatalf("%d steps for 1000 '<' and 50 '.length': retries are not cut short", sc.steps)
	}
	// The same search finds a later completion, from the first "<" already.
	if !Inspect(ops, []byte(body+" y.length("), &sc) {
		t.Fatal("missed .length( at the end")
	}
	// Without the memo (byte_extract makes the continuation depend on more
	// than the cursor) the same body exhausts the recursion limit (1000 x 50 retries).
	extract := Op{Kind: OpByteExtract, Byte: &ByteOp{Bytes: 1, VarIdx: 0, BytesVar: noVar, Offset: Num{Var: noVar}, Value: Num{Var: noVar}}}
	withVar := append([]Op{extract}, ops...)
	Inspect(withVar, []byte(body), &sc)
	if sc.steps <= recursionLimit {
		t.Fatalf("byte_extract rule took %d steps: the memo must stay off when variables are set", sc.steps)
	}
}
