package rules

import (
	"fmt"
	"math/rand"
	"net/netip"
	"testing"
)

// TestIPSetMatchesTree checks the flattened range set against the
// expression tree it was built from, on random expressions and addresses.
func TestIPSetMatchesTree(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	addr := func() string {
		return fmt.Sprintf("10.%d.%d.%d", rng.Intn(3), rng.Intn(4), rng.Intn(256))
	}
	var elem func(depth int) string
	elem = func(depth int) string {
		neg := ""
		if rng.Intn(3) == 0 {
			neg = "!"
		}
		switch k := rng.Intn(5); {
		case k == 0 && depth < 3:
			n := 1 + rng.Intn(3)
			s := "["
			for i := 0; i < n; i++ {
				if i > 0 {
					s += ","
				}
				s += elem(depth + 1)
			}
			return neg + s + "]"
		case k == 1:
			return neg + fmt.Sprintf("10.%d.0.0/%d", rng.Intn(3), 14+rng.Intn(12))
		case k == 2:
			return neg + "10.1.0.0-10.1.2.255"
		default:
			return neg + addr()
		}
	}
	for i := 0; i < 2000; i++ {
		expr := elem(0)
		e, err := ParseAddr(expr, Vars{})
		if err != nil {
			continue
		}
		for j := 0; j < 50; j++ {
			a := netip.MustParseAddr(addr())
			if e.set == nil {
				break
			}
			if got, want := e.set.contains(a), e.match(a) != e.Neg; got != want {
				t.Fatalf("%s contains %s: set %v, tree %v", expr, a, got, want)
			}
		}
	}
	e, _ := ParseAddr("![0.0.0.0/0]", Vars{})
	if e.Match(netip.MustParseAddr("1.2.3.4")) || !e.Match(netip.MustParseAddr("::1")) {
		t.Error("complement of all IPv4 must hold only IPv6")
	}
}

// Overlap and SetKey are what the detection engine splits its prefilters
// by: a rule side naming $EXTERNAL_NET has no address in $HOME_NET.
func TestAddrOverlapAndSetKey(t *testing.T) {
	vars := DefaultVars()
	parse := func(s string) *AddrExpr {
		e, err := ParseAddr(s, vars)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	home := parse("$HOME_NET")
	for _, tc := range []struct {
		expr    string
		in, out bool
	}{
		{"$HOME_NET", true, false},
		{"$EXTERNAL_NET", false, true},
		{"any", true, true},
		{"10.1.2.3", true, false},
		{"[10.0.0.0/8,8.8.8.8]", true, true},
		{"!10.0.0.0/8", true, true},
		{"8.8.8.0/24", false, true},
		{"[$HOME_NET,!10.9.0.0/16]", true, false},
	} {
		in, out := parse(tc.expr).Overlap(home)
		if in != tc.in || out != tc.out {
			t.Errorf("%s against $HOME_NET: in %v out %v, want %v %v", tc.expr, in, out, tc.in, tc.out)
		}
	}
	if parse("[192.168.0.0/16,10.0.0.0/8,172.16.0.0/12]").SetKey() != home.SetKey() {
		t.Error("the same networks in another order have another key")
	}
	if parse("!$HOME_NET").SetKey() == home.SetKey() || parse("any").SetKey() == home.SetKey() {
		t.Error("different sets share a key")
	}
}
