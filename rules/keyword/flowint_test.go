package keyword_test

import (
	"strings"
	"testing"

	"github.com/tapwatch/tapwatch/rules/keyword"
)

func TestParseFlowint(t *testing.T) {
	op := func(name string, m keyword.FlowintMod, v uint32, target string) keyword.FlowintOp {
		return keyword.FlowintOp{Name: name, Mod: m, Value: v, Target: target, Idx: -1, TargetIdx: -1}
	}
	valid := map[string]keyword.FlowintOp{
		"myvar,=,35":                         op("myvar", keyword.FiSet, 35, ""),
		" ET.infostealer.dll.download, +, 1": op("ET.infostealer.dll.download", keyword.FiAdd, 1, ""),
		"cnt , - , 2 ":                       op("cnt", keyword.FiSub, 2, ""),
		"myvar,==,3":                         op("myvar", keyword.FiEq, 3, ""),
		"myvar,!=,3":                         op("myvar", keyword.FiNe, 3, ""),
		"a1,<,5":                             op("a1", keyword.FiLt, 5, ""),
		"a1,<=,5":                            op("a1", keyword.FiLe, 5, ""),
		"a1,>,5":                             op("a1", keyword.FiGt, 5, ""),
		"a1,>=,0":                            op("a1", keyword.FiGe, 0, ""),
		"cntpackets, ==, maxvar":             op("cntpackets", keyword.FiEq, 0, "maxvar"),
		"myvar,=,other_2":                    op("myvar", keyword.FiSet, 0, "other_2"),
		"myvar,isset":                        op("myvar", keyword.FiIsSet, 0, ""),
		"myvar, notset":                      op("myvar", keyword.FiNotSet, 0, ""),
		"myvar,isnotset":                     op("myvar", keyword.FiNotSet, 0, ""),
		"smtp.anomaly.count,+,1":             op("smtp.anomaly.count", keyword.FiAdd, 1, ""),
		"a/b_c.d,=,4294967295":               op("a/b_c.d", keyword.FiSet, 4294967295, ""),
		"myvar,=,0007":                       op("myvar", keyword.FiSet, 7, ""),
		"myvar,=5":                           op("myvar", keyword.FiSet, 5, ""), // Suricata's comma before the value is optional
		"myvar,==5":                          op("myvar", keyword.FiEq, 5, ""),
		"myvar,<=maxvar":                     op("myvar", keyword.FiLe, 0, "maxvar"),
		"myvar,isset,5":                      op("myvar", keyword.FiIsSet, 0, ""), // accepted and ignored, as Suricata does
		"\tmyvar\t,\t>\t,\t4294967295\t":     op("myvar", keyword.FiGt, 4294967295, ""),
		"myvar,-,maxvar":                     op("myvar", keyword.FiSub, 0, "maxvar"),
		"ET.2020_8260.count,>=,ET2020count":  op("ET.2020_8260.count", keyword.FiGe, 0, "ET2020count"),
		"Ab,+,1":                             op("Ab", keyword.FiAdd, 1, ""),
		"myvar  ,  !=  ,  999999999":         op("myvar", keyword.FiNe, 999999999, ""),
	}
	for in, want := range valid {
		got, err := keyword.ParseFlowint(in)
		if err != nil || got != want {
			t.Errorf("ParseFlowint(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	invalid := map[string]string{
		"":                       "want <name>",
		"myvar":                  "want <name>",
		"myvar,":                 "want <name>",
		"x,=,1":                  "too short", // names have 2 characters at least
		" x , isset":             "too short",
		"1var,=,1":               "want <name>",
		"my var,=,1":             "want <name>",
		"myvar,*,1":              "want <name>",
		"myvar,=,-1":             "want <name>",
		"myvar,=,1,2":            "want <name>",
		"myvar,=,12345678901":    "want <name>", // 11 digits
		"myvar,==,ET.other":      "want <name>", // targets hold no '.'
		"myvar,==,a":             "want <name>", // nor have 1 character
		"myvar,===,1":            "want <name>",
		"myvar,set,1":            "want <name>",
		"myvar,=":                "= needs a value",
		"myvar,>,":               "> needs a value",
		"myvar, + ":              "+ needs a value",
		"myvar,=,4294967296":     "out of range",
		"myvar,!=,9999999999":    "out of range",
		"myvar,isset,,":          "want <name>",
		"myvar,notset;":          "want <name>",
		"myvar,ISSET":            "want <name>",
		"myvar,isset,a.b":        "want <name>",
		"myvar,=,0x10":           "want <name>",
		"myvar,=,1.5":            "want <name>",
		"myvar,=,\"1\"":          "want <name>",
		"myvar,=,1 2":            "want <name>",
		"myvar,==,maxvar,maxvar": "want <name>",
	}
	for in, frag := range invalid {
		got, err := keyword.ParseFlowint(in)
		if err == nil || !strings.Contains(err.Error(), frag) {
			t.Errorf("ParseFlowint(%q) = %+v, %v; want an error mentioning %q", in, got, err, frag)
		}
	}
}

func TestFlowintKeyword(t *testing.T) {
	s := sig(t, `flowint:cnt,notset; flowint:cnt,=,1; flowint: maxvar ,=, 6; flowint:cnt,<,maxvar; flowbits:set,f;`)
	if len(s.Flowints) != 4 {
		t.Fatalf("flowints %+v", s.Flowints)
	}
	f := s.Flowints
	if f[0].Mod != keyword.FiNotSet || !f[0].IsCheck() ||
		f[1].Mod != keyword.FiSet || f[1].Value != 1 || f[1].IsCheck() ||
		f[2].Name != "maxvar" || f[2].Value != 6 ||
		f[3].Mod != keyword.FiLt || f[3].Target != "maxvar" || !f[3].IsCheck() {
		t.Errorf("flowints %+v", f)
	}
	if len(s.Flowbits) != 1 || s.NoAlert {
		t.Errorf("flowint touched flowbits or noalert: %+v %v", s.Flowbits, s.NoAlert)
	}
	err := sigErr(`flowint:cnt,+;`)
	if err == nil || !strings.Contains(err.Error(), "flowint") || !strings.Contains(err.Error(), "needs a value") {
		t.Errorf("flowint without a value: err = %v, want one naming flowint and the missing value", err)
	}
}

func TestFlowintModIsCheck(t *testing.T) {
	for m := keyword.FiSet; m <= keyword.FiNotSet; m++ {
		want := m != keyword.FiSet && m != keyword.FiAdd && m != keyword.FiSub
		if got := (keyword.FlowintOp{Mod: m}).IsCheck(); got != want {
			t.Errorf("%s: IsCheck %v, want %v", m, got, want)
		}
	}
}

// Compare maps the comparison modifiers onto NumCmp's modes by position:
// each must compare as its operator says.
func TestFlowintModCompare(t *testing.T) {
	want := map[keyword.FlowintMod]func(a, b uint32) bool{
		keyword.FiEq: func(a, b uint32) bool { return a == b },
		keyword.FiNe: func(a, b uint32) bool { return a != b },
		keyword.FiLt: func(a, b uint32) bool { return a < b },
		keyword.FiLe: func(a, b uint32) bool { return a <= b },
		keyword.FiGt: func(a, b uint32) bool { return a > b },
		keyword.FiGe: func(a, b uint32) bool { return a >= b },
	}
	for m := keyword.FiSet; m <= keyword.FiNotSet; m++ {
		for _, ab := range [][2]uint32{{1, 2}, {2, 2}, {3, 2}, {0, 4294967295}} {
			f, cmp := want[m]
			if got := m.Compare(ab[0], ab[1]); got != (cmp && f(ab[0], ab[1])) {
				t.Errorf("%s.Compare(%d, %d) = %v", m, ab[0], ab[1], got)
			}
		}
	}
}

// FuzzParseFlowint: any input parses or fails without panicking, and what
// parses is usable: a known modifier, a name of 2+ characters starting
// with a letter and without blanks or commas, a value only where the
// modifier takes one, and either a number or a target.
func FuzzParseFlowint(f *testing.F) {
	for _, s := range []string{"a1,=,1", "ab,isset", "cnt,==,maxvar", "x.y,+,4294967295", ",,", "ab,=", "ab,<=5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		op, err := keyword.ParseFlowint(s)
		if err != nil {
			return
		}
		bad := op.Mod > keyword.FiNotSet || len(op.Name) < 2 || strings.ContainsAny(op.Name, ", \t") ||
			!(op.Name[0] >= 'a' && op.Name[0] <= 'z' || op.Name[0] >= 'A' && op.Name[0] <= 'Z') ||
			(op.Target != "" && (op.Value != 0 || len(op.Target) < 2 || strings.ContainsAny(op.Target, ".,/ \t"))) ||
			((op.Mod == keyword.FiIsSet || op.Mod == keyword.FiNotSet) && (op.Target != "" || op.Value != 0))
		if bad {
			t.Fatalf("ParseFlowint(%q) accepted %+v", s, op)
		}
	})
}
