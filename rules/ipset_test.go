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
