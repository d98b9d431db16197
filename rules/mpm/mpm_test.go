package mpm

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func asciiLower(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		out[i] = lower(c)
	}
	return out
}

// naive is the reference: the sorted, deduplicated ids whose pattern occurs.
func naive(pats []testPattern, buf []byte) []uint32 {
	lb := asciiLower(buf)
	var ids []uint32
	for _, p := range pats {
		if p.nocase && bytes.Contains(lb, asciiLower(p.b)) || !p.nocase && bytes.Contains(buf, p.b) {
			ids = append(ids, p.id)
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

func buildT(t testing.TB, pats []testPattern) *Matcher {
	var b Builder
	for _, p := range pats {
		b.Add(p.b, p.nocase, p.id)
	}
	if b.Len() != len(pats) {
		t.Fatalf("Len = %d, want %d", b.Len(), len(pats))
	}
	return b.Build()
}

// scanIDs scans and fails on any id reported twice.
func scanIDs(t testing.TB, m *Matcher, s *Scratch, buf []byte) []uint32 {
	var ids []uint32
	m.Scan(buf, s, func(id uint32) { ids = append(ids, id) })
	slices.Sort(ids)
	if len(slices.Compact(slices.Clone(ids))) != len(ids) {
		t.Fatalf("id reported twice: %v", ids)
	}
	return ids
}

func check(t *testing.T, pats []testPattern, bufs ...[]byte) {
	t.Helper()
	m := buildT(t, pats)
	s := m.NewScratch()
	for _, buf := range bufs {
		got, want := scanIDs(t, m, s, buf), naive(pats, buf)
		if !slices.Equal(got, want) {
			t.Fatalf("buf %q: got %v, want %v", buf, got, want)
		}
	}
}

func P(s string, nocase bool, id uint32) testPattern { return testPattern{[]byte(s), nocase, id} }

func TestEdgeCases(t *testing.T) {
	cases := []struct {
		name string
		pats []testPattern
		bufs []string
	}{
		{"empty buffer", []testPattern{P("abcd", false, 1), P("a", true, 2), P("ab", false, 3)}, []string{"", "a", "ab", "abc"}},
		{"whole buffer", []testPattern{P("abcdefgh", false, 1), P("ABCDEFGHIJ", true, 2)}, []string{"abcdefgh", "abcdefghij", "abcdefg"}},
		{"at end", []testPattern{P("wxyz", false, 1), P("yz", false, 2), P("z", false, 3), P("xyz", true, 4), P("0123456789wxyz", false, 5)},
			[]string{"0123456789wxyz", "0123456789wxy", "....XYZ", "Z"}},
		{"overlapping", []testPattern{P("abab", false, 1), P("baba", false, 2), P("ababab", false, 3), P("bab", false, 4)}, []string{"ababab", "ababa", "abab"}},
		{"one byte", []testPattern{P("\x00", false, 1), P("A", false, 2), P("b", true, 3), P("\xff", true, 4)},
			[]string{"a", "A", "B", "\x00", "\xff", "\xdf", "xyz"}},
		{"duplicates", []testPattern{P("attack", false, 1), P("attack", false, 2), P("attack", false, 1), P("ATTACK", true, 3)},
			[]string{"attack", "ATTACK", "AtTaCk", "attac"}},
		{"same pattern nocase and exact", []testPattern{P("GET /", false, 1), P("GET /", true, 2), P("Host:", false, 3), P("host:", true, 3)},
			[]string{"get /", "GET /", "Get /x Host:", "HOST:"}},
		{"binary", []testPattern{P("\x00\x00\x00\x00", false, 1), P("\xff\xfe\x00\x01", false, 2), P("\x00\xff", true, 3), P("\xc1\xda", true, 4)},
			[]string{"\x00\x00\x00", "\x00\x00\x00\x00\x00", "x\xff\xfe\x00\x01", "\x00\xff", "\xe1\xfa", "\xc1\xda"}},
		{"non-ascii not folded", []testPattern{P("caf\xc9", true, 1), P("[\\]^_`{", true, 2), P("@AZ[", true, 3)},
			[]string{"CAF\xc9", "caf\xe9", "[\\]^_`{", "{|}~\x7f@", "@az[", "`az{"}},
		{"sparse ids", []testPattern{P("one1", false, 1<<20), P("two2", true, 0), P("three", false, 123456), P("", false, 77)},
			[]string{"one1 TWO2", "three", ""}},
		{"single exact", []testPattern{P("needle", false, 9)}, []string{"hay needle hay", "NEEDLE", ""}},
		{"single nocase", []testPattern{P("needle", true, 9)}, []string{"hay NeEdLe hay", "needl", ""}},
		{"long patterns", []testPattern{P("The quick brown fox jumps over the lazy dog", true, 1), P("jumps over the lazy dog.", false, 2)},
			[]string{"THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG.", "the quick brown fox jumps over the lazy dog."}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bufs := make([][]byte, len(c.bufs))
			for i, s := range c.bufs {
				bufs[i] = []byte(s)
			}
			check(t, c.pats, bufs...)
		})
	}
}

// randPatterns draws patterns from a small alphabet so that hits, overlaps
// and case variants are frequent.
// minLen > 1 keeps all patterns at least that long, which selects the
// strided filter.
func randPatterns(r *rand.Rand, n int, alphabet string, minLen int) []testPattern {
	pats := make([]testPattern, n)
	for i := range pats {
		l := 1 + r.IntN(12)
		if r.IntN(4) == 0 {
			l = 1 + r.IntN(3)
		}
		if minLen > 1 {
			l = minLen + r.IntN(12)
		}
		b := make([]byte, l)
		for k := range b {
			b[k] = alphabet[r.IntN(len(alphabet))]
		}
		id := r.Uint32N(1 << 20)
		if i > 0 && r.IntN(8) == 0 {
			id = pats[r.IntN(i)].id // several patterns per id
		}
		if i > 0 && r.IntN(10) == 0 {
			b = slices.Clone(pats[r.IntN(i)].b) // duplicate pattern
		}
		pats[i] = testPattern{b: b, nocase: r.IntN(2) == 0, id: id}
	}
	return pats
}

func randBuf(r *rand.Rand, n int, alphabet string, pats []testPattern) []byte {
	buf := make([]byte, n)
	for k := range buf {
		buf[k] = alphabet[r.IntN(len(alphabet))]
	}
	// Plant a few patterns, some with flipped case, including at the ends.
	for range r.IntN(4) {
		p := pats[r.IntN(len(pats))].b
		if len(p) > n {
			continue
		}
		at := r.IntN(n - len(p) + 1)
		if r.IntN(3) == 0 {
			at = n - len(p)
		}
		for k, c := range p {
			if r.IntN(2) == 0 && c|0x20 >= 'a' && c|0x20 <= 'z' {
				c ^= 0x20
			}
			buf[at+k] = c
		}
	}
	return buf
}

func TestRandomAgainstNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	alphabets := []string{"abAB", "abcdABCD\x00\xff", "aA\x00", string(func() []byte {
		b := make([]byte, 256)
		for i := range b {
			b[i] = byte(i)
		}
		return b
	}())}
	s := new(Scratch) // shared across matchers of every size on purpose
	for iter := range 400 {
		alpha := alphabets[iter%len(alphabets)]
		minLen := []int{1, 1, 5, 7, 11, 20}[iter%6]
		pats := randPatterns(r, 1+r.IntN(300), alpha, minLen)
		if minLen >= 11 && len(pats) > 1 && buildT(t, pats).long.stride != maxStride {
			t.Fatalf("minLen %d: stride %d, want %d", minLen, buildT(t, pats).long.stride, maxStride)
		}
		m := buildT(t, pats)
		for range 30 {
			buf := randBuf(r, r.IntN(400), alpha, pats)
			got, want := scanIDs(t, m, s, buf), naive(pats, buf)
			if !slices.Equal(got, want) {
				t.Fatalf("iter %d, buf %q:\n got %v\nwant %v", iter, buf, got, want)
			}
		}
	}
}

// TestStrideWithFewShortPatterns checks that a handful of 4-6 byte
// patterns move to the 2-byte filter instead of forcing stride 1, and are
// still found at every offset.
func TestStrideWithFewShortPatterns(t *testing.T) {
	pats := []testPattern{P("abcd", false, 1), P("Wxyz5", true, 2), P("long-pattern-one", false, 3), P("another long one", true, 4)}
	m := buildT(t, pats)
	if m.long.stride != maxStride {
		t.Fatalf("stride %d, want %d", m.long.stride, maxStride)
	}
	for off := range 20 {
		buf := append(bytes.Repeat([]byte{'.'}, off), "abcd WXYZ5 ANOTHER LONG ONE long-pattern-one"...)
		check(t, pats, buf, buf[:len(buf)-1], buf[off:])
	}
	var many []testPattern
	for i := range maxMoved + 1 {
		many = append(many, P(fmt.Sprintf("p%03d", i), false, uint32(i)))
	}
	many = append(many, P("long-pattern-one", false, 999))
	if s := buildT(t, many).long.stride; s != 1 {
		t.Fatalf("%d 4-byte patterns: stride %d, want 1", len(many)-1, s)
	}
}

// TestScratchAcrossMatchers interleaves matchers of very different id
// counts on one zero Scratch: growth and stale stamps must not lose or
// duplicate hits.
func TestScratchAcrossMatchers(t *testing.T) {
	small := buildT(t, []testPattern{P("evil", true, 3)})
	var bigPats []testPattern
	for i := range 5000 {
		bigPats = append(bigPats, P(fmt.Sprintf("pat%05d", i), false, uint32(i*7)))
	}
	big := buildT(t, bigPats)
	var s Scratch
	buf := []byte("EVIL pat00001 pat04999 pat00001")
	for range 3 {
		if got := scanIDs(t, small, &s, buf); !slices.Equal(got, []uint32{3}) {
			t.Fatalf("small: %v", got)
		}
		if got := scanIDs(t, big, &s, buf); !slices.Equal(got, []uint32{7, 4999 * 7}) {
			t.Fatalf("big: %v", got)
		}
	}
}

func TestMaxLen(t *testing.T) {
	m := buildT(t, []testPattern{P("ab", false, 1), P("abcdefghij", true, 2), P("", false, 3)})
	if m.MaxLen() != 10 {
		t.Fatalf("MaxLen = %d, want 10", m.MaxLen())
	}
	empty := (&Builder{}).Build()
	if empty.MaxLen() != 0 {
		t.Fatal("empty matcher MaxLen != 0")
	}
	if got := scanIDs(t, empty, new(Scratch), []byte("anything")); len(got) != 0 {
		t.Fatalf("empty matcher reported %v", got)
	}
}

func TestGenerationWrap(t *testing.T) {
	m := buildT(t, []testPattern{P("abcd", false, 1), P("xy", false, 2)})
	s := m.NewScratch()
	s.gen = ^uint32(0) - 1
	for range 4 {
		if got := scanIDs(t, m, s, []byte("abcdxy")); !slices.Equal(got, []uint32{1, 2}) {
			t.Fatalf("gen %d: %v", s.gen, got)
		}
	}
}

func TestScanDoesNotAllocate(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	pats := randPatterns(r, 200, "abcdABCD\x00", 1)
	m := buildT(t, pats)
	s := new(Scratch)
	buf := randBuf(r, 1500, "abcdABCD\x00", pats)
	n := 0
	hit := func(uint32) { n++ }
	m.Scan(buf, s, hit) // first use may size the Scratch
	if a := testing.AllocsPerRun(100, func() { m.Scan(buf, s, hit) }); a != 0 {
		t.Fatalf("Scan allocates %v times", a)
	}
	if n == 0 {
		t.Fatal("test buffer produced no hits")
	}
}

func TestETOpen(t *testing.T) {
	all, fast := loadETPatterns(t)
	if len(fast) < 10000 || len(all) < len(fast) {
		t.Fatalf("only %d ET patterns (%d fast) parsed", len(all), len(fast))
	}
	payloads := loadPayloads(t, 1<<20, 200)
	t.Run("all", func(t *testing.T) { checkSet(t, all, payloads) })
	t.Run("fast", func(t *testing.T) { checkSet(t, fast, payloads) })
}

func checkSet(t *testing.T, pats []testPattern, payloads [][]byte) {
	m := buildT(t, pats)
	t.Logf("%d patterns, MemBytes %d", len(pats), m.MemBytes())
	if m.MemBytes() > 64<<20 {
		t.Fatalf("MemBytes %d too large", m.MemBytes())
	}
	s := m.NewScratch()
	hits := 0
	for i, p := range payloads {
		if i%4 != 0 { // the naive reference is slow with 25k patterns
			continue
		}
		got, want := scanIDs(t, m, s, p), naive(pats, p)
		if !slices.Equal(got, want) {
			t.Fatalf("payload %d %q:\n got %v\nwant %v", i, p, got, want)
		}
		hits += len(got)
	}
	if hits == 0 {
		t.Fatal("no ET pattern hit any corpus payload")
	}
}

func TestDecodeContent(t *testing.T) {
	got, err := decodeContent(`a|00 FF|b\;\"\\|0d0a|`)
	if err != nil || string(got) != "a\x00\xffb;\"\\\r\n" {
		t.Fatalf("got %q, %v", got, err)
	}
}

// TestConcurrentScan shares one Matcher between goroutines, each with its
// own Scratch; run with -race.
func TestConcurrentScan(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	pats := randPatterns(r, 100, "abcAB\x00", 1)
	m := buildT(t, pats)
	bufs := make([][]byte, 50)
	for i := range bufs {
		bufs[i] = randBuf(r, 200, "abcAB\x00", pats)
	}
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			s := new(Scratch)
			for _, buf := range bufs {
				var got []uint32
				m.Scan(buf, s, func(id uint32) { got = append(got, id) })
				slices.Sort(got)
				if want := naive(pats, buf); !slices.Equal(got, want) {
					errs <- fmt.Errorf("buf %q: got %v, want %v", buf, got, want)
					return
				}
			}
			errs <- nil
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// TestPoorWindowUsesRareShortAnchor: a long pattern whose every run of
// stride 4-byte anchors includes one traffic is full of (a NUL run) is
// filtered on its rarest byte pair instead, while a text pattern keeps its
// 4-byte anchors; both are still found wherever they occur.
func TestPoorWindowUsesRareShortAnchor(t *testing.T) {
	nulRun := "\x07\xc0" + strings.Repeat("\x00", 13) + "\x08"
	pats := []testPattern{P(nulRun, false, 1), P("long-pattern-one", false, 2), P("another long one", true, 3)}
	m := buildT(t, pats)
	if m.long.stride < 2 {
		t.Fatalf("stride %d: the test needs a strided long table", m.long.stride)
	}
	var shortPats, longPats []string
	for _, e := range m.short.ents {
		p := m.pats[e.pat]
		a := p.off + e.anchor&offMask
		shortPats = append(shortPats, string(m.data[p.off:p.off+p.n]))
		if got := m.data[a : a+2]; string(m.data[p.off:p.off+p.n]) == nulRun && string(got) != "\x07\xc0" {
			t.Errorf("NUL-run pattern anchored on %q, want its rare pair \"\\x07\\xc0\"", got)
		}
	}
	for _, e := range m.long.ents {
		p := m.pats[e.pat]
		longPats = append(longPats, string(m.data[p.off:p.off+p.n]))
	}
	if !slices.Contains(shortPats, nulRun) || slices.Contains(longPats, nulRun) {
		t.Errorf("NUL-run pattern in short %v / long %v, want the 2-byte filter only", len(shortPats), len(longPats))
	}
	if slices.Contains(shortPats, "long-pattern-one") || !slices.Contains(longPats, "long-pattern-one") {
		t.Error("a text pattern with good 4-byte anchors left the strided filter")
	}
	for off := range 12 {
		buf := append(bytes.Repeat([]byte{0}, off), nulRun+" ANOTHER LONG ONE long-pattern-one"...)
		check(t, pats, buf, buf[off:], buf[:len(buf)-1])
	}
	if got := gramCost([]byte("\r\nAU")); got < poorGram {
		t.Errorf("gramCost(CRLF + letters) = %d, want >= %d (CRLF is everywhere in text protocols)", got, poorGram)
	}
}

// Patterns of 4+ bytes in the 2-byte table are screened by a 4-byte
// window around their anchor, which may start up to 2 bytes before it;
// patterns whose every strided anchor set holds a byte run move there.
// Matches at the very start and end of buffers, where the window's bytes
// are partly outside, must still be found, and near misses rejected.
func TestShortTableWindows(t *testing.T) {
	pats := []testPattern{
		P("\x00\x00\x00\x03", false, 1),               // rarest pair at the end: window starts 2 back
		P("\x01\x00\b\x00\x00\x00\x00\x00", false, 2), // every stride-4 anchor set holds a NUL run
		P("xQ", false, 3),                             // a 2-byte pattern sharing no pair
		P("a\x00\x00\x03", true, 4),                   // shares the pair "\x00\x03" with pattern 1
		P("long enough to stride eight", false, 5),
		P("another pattern for stride", true, 6),
	}
	m := buildT(t, pats)
	if m.long.stride < 4 {
		t.Fatalf("stride %d: the test needs a strided long table", m.long.stride)
	}
	inShort := map[uint32]bool{}
	for _, e := range m.short.ents {
		inShort[m.pats[e.pat].id] = true
		if m.pats[e.pat].n >= gramLen && e.anchor&winBit == 0 {
			t.Errorf("pattern %q has no window", m.data[m.pats[e.pat].off:m.pats[e.pat].off+m.pats[e.pat].n])
		}
	}
	if !inShort[1] || !inShort[2] {
		t.Errorf("short table holds %v, want the 4-byte and the NUL-run pattern", inShort)
	}
	bufs := [][]byte{
		[]byte("\x00\x00\x00\x03"),
		[]byte("\x00\x00\x03"),
		[]byte("A\x00\x00\x03 \x00\x00\x00\x03"),
		[]byte("\x01\x00\b\x00\x00\x00\x00\x00"),
		[]byte("\x01\x00\b\x00\x00\x00\x00"),
		[]byte("..\x01\x00\b\x00\x00\x00\x00\x00 xQ"),
		[]byte("xQ"),
		[]byte("\x00\x00\x00\x00\x00\x00\x00\x00\x00\x03"),
		[]byte("\x00\x00\x00\x02\x00\x00\x03"),
	}
	for off := range 8 {
		b := append(bytes.Repeat([]byte{0}, off), "LONG ENOUGH TO STRIDE EIGHT \x00\x00\x00\x03"...)
		bufs = append(bufs, b, b[:len(b)-1])
	}
	check(t, pats, bufs...)
}

// All-letter patterns moved to the 2-byte table fire at nearly every
// position of text: when many would move, a smaller stride keeps them in
// the 4-byte table.
func TestStrideKeepsTextPatternsLong(t *testing.T) {
	var pats []testPattern
	words := []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet"}
	for i := range 60 {
		w := words[i%len(words)] + words[(i/len(words))%len(words)][:2]
		pats = append(pats, P(w[:min(len(w), 5+i%4)], true, uint32(i)))
	}
	pats = append(pats, P("a much longer pattern that allows stride eight", false, 100))
	m := buildT(t, pats)
	if m.long.stride == maxStride {
		t.Fatalf("stride %d moves %d text patterns to the 2-byte table", m.long.stride, len(m.short.ents))
	}
	check(t, pats, []byte("ALPHAbr charlie DELTAEC foxtrotgo hotel and a much longer pattern that allows stride eight"))
}
