package keyword

import (
	"math/rand"
	"strings"
	"testing"

	"github.com/dlclark/regexp2"
)

func TestStartsWithDotStar(t *testing.T) {
	for re, want := range map[string]bool{
		`.*?a`:                  true,
		`.+b`:                   true,
		`(?=.*?a).*b`:           true,
		`(?=.+x)(?=.*y[)]).*?z`: true,
		`(?=.*(a|b)).*c`:        true,
		`a.*`:                   false,
		`.*a|b`:                 false,
		`(?=.*a)b`:              false,
		`(?=x).*a`:              false,
		`(?=.*a|b).*c`:          false,
		`[(].*`:                 false,
		`(?=.*a`:                false,
		`\.*a`:                  false,
	} {
		if got := startsWithDotStar(re); got != want {
			t.Errorf("startsWithDotStar(%q) = %v, want %v", re, got, want)
		}
	}
}

// rigURI is ET Open sid 2024048's pcre (RIG exploit kit URIs), whose
// leading lookahead made it quadratic per URI.
const rigURI = `(?=.*?[?&]oq=(?=[A-Za-z_-]*[0-9])(?=[a-z0-9_-]*[A-Z][a-z0-9_-]*[A-Z])(?=[A-Z0-9_-]*[a-z][A-Z0-9_-]*[a-z])[A-Za-z0-9_-]+(?:&|$)).*?[?&]q=(?=[A-Za-z_-]*[0-9])(?=[a-z0-9_-]*[A-Z][a-z0-9_-]*[A-Z])(?=[A-Z0-9_-]*[a-z][A-Z0-9_-]*[a-z])[A-Za-z0-9_-]+(?:&|$)`

// The line-start anchoring must not change what Find returns: compared
// with the pattern compiled as written, on random buffers with newlines
// and random start offsets.
func TestPcreLineAnchorSameMatches(t *testing.T) {
	// Alphabets are of tokens, so that structured patterns match some.
	cases := []struct {
		body, flags string
		alphabet    []string
	}{
		{rigURI, "", strings.Fields("?oq= &q= &oq= ?q= AB1cd aB9Cd ZZ x9 & \n")},
		{`(?=.*?foo).*?bar(\d+)`, "", strings.Fields("foo bar 1 2 x o \\n")},
		{`(?=.*?foo).*?bar(\d+)`, "s", strings.Fields("foo bar 1 2 x o \\n")},
		{`.*?(a|b)\1x`, "i", strings.Split("abAx\n", "")},
		{`.+?x(?=y)`, "", strings.Split("xy\n", "")},
		{`(?=.*a)(?=.*b).*c$`, "m", strings.Split("abc\n", "")},
	}
	r := rand.New(rand.NewSource(1))
	for _, c := range cases {
		p, _, err := CompilePcre("/" + c.body + "/" + c.flags)
		if err != nil {
			t.Fatal(err)
		}
		if p.re2 == nil || !strings.Contains(p.re2.String(), "(?:") {
			t.Fatalf("%s: not anchored (%v)", c.body, p.re2)
		}
		var opts regexp2.RegexOptions
		for _, f := range c.flags {
			opts |= map[rune]regexp2.RegexOptions{'i': regexp2.IgnoreCase, 's': regexp2.Singleline, 'm': regexp2.Multiline}[f]
		}
		ref := regexp2.MustCompile(c.body, opts)
		var sc Scratch
		matched := 0
		for it := 0; it < 3000; it++ {
			var buf []byte
			for n := r.Intn(30); n > 0; n-- {
				tok := c.alphabet[r.Intn(len(c.alphabet))]
				if tok == `\n` {
					tok = "\n"
				}
				buf = append(buf, tok...)
			}
			start := r.Intn(len(buf) + 1)
			a, b, ok := p.Find(buf, start, &sc)
			runes := make([]rune, len(buf)-start)
			for i, x := range buf[start:] {
				runes[i] = rune(x)
			}
			m, _ := ref.FindRunesMatch(runes)
			if ok != (m != nil) || ok && (a != start+m.Index || b != start+m.Index+m.Length) {
				t.Fatalf("/%s/%s on %q from %d: got %d,%d,%v; as written %v", c.body, c.flags, buf, start, a, b, ok, m)
			}
			if ok {
				matched++
			}
		}
		if matched == 0 {
			t.Errorf("/%s/%s: no buffer matched; the comparison proves nothing", c.body, c.flags)
		}
	}
}

// BenchmarkPcreLineAnchor is sid 2024048's pcre on a 300-byte URI that
// does not match, anchored at line starts against as written.
func BenchmarkPcreLineAnchor(b *testing.B) {
	uri := []byte("/?" + strings.Repeat("xq=Ab1&oq=ab&", 23))
	p, _, err := CompilePcre("/" + rigURI + "/")
	if err != nil {
		b.Fatal(err)
	}
	asWritten := &Pcre{re2: regexp2.MustCompile(rigURI, 0)}
	var sc Scratch
	for _, c := range []struct {
		name string
		p    *Pcre
	}{{"as-written", asWritten}, {"line-anchored", p}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(uri)))
			for b.Loop() {
				if _, _, ok := c.p.Find(uri, 0, &sc); ok {
					b.Fatal("matched")
				}
			}
		})
	}
}
