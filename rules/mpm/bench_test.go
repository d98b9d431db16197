package mpm

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// Benchmarks report MB/s of buffer scanned. Groups are random samples of
// ET Open contents; "naive" is the baseline of one bytes.Index per pattern
// (over a pre-lowered copy of the buffer for nocase patterns), compared in
// the same run.

func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func totalLen(bufs [][]byte) int64 {
	n := 0
	for _, b := range bufs {
		n += len(b)
	}
	return int64(n)
}

func benchMatcher(b *testing.B, m *Matcher, bufs [][]byte) {
	s := m.NewScratch()
	hits := 0
	hit := func(uint32) { hits++ }
	b.SetBytes(totalLen(bufs))
	b.ReportAllocs()
	lockThread()
	defer unlockThread()
	c0, ok := threadCPU()
	b.ResetTimer()
	for b.Loop() {
		for _, buf := range bufs {
			m.Scan(buf, s, hit)
		}
	}
	reportCPU(b, c0, ok, totalLen(bufs))
	b.ReportMetric(float64(hits)/float64(b.N)/float64(len(bufs)), "hits/buf")
}

// reportCPU adds MB per CPU-second of the benchmark thread ("cpuMB/s").
func reportCPU(b *testing.B, c0 time.Duration, ok bool, n int64) {
	c1, ok1 := threadCPU()
	if ok && ok1 && c1 > c0 {
		b.ReportMetric(float64(n)*float64(b.N)/1e6/(c1-c0).Seconds(), "cpuMB/s")
	}
}

// naiveMatcher is the baseline.
type naiveMatcher struct {
	pats   []testPattern
	folded [][]byte
	tmp    []byte
}

func newNaive(pats []testPattern) *naiveMatcher {
	n := &naiveMatcher{pats: pats, tmp: make([]byte, 0, 1<<17)}
	for _, p := range pats {
		n.folded = append(n.folded, asciiLower(p.b))
	}
	return n
}

func (n *naiveMatcher) scan(buf []byte, hit func(uint32)) {
	n.tmp = n.tmp[:0]
	for _, c := range buf {
		n.tmp = append(n.tmp, lower(c))
	}
	for i, p := range n.pats {
		if p.nocase {
			if bytes.Index(n.tmp, n.folded[i]) >= 0 {
				hit(p.id)
			}
		} else if bytes.Index(buf, p.b) >= 0 {
			hit(p.id)
		}
	}
}

func benchNaive(b *testing.B, n *naiveMatcher, bufs [][]byte) {
	hits := 0
	hit := func(uint32) { hits++ }
	b.SetBytes(totalLen(bufs))
	lockThread()
	defer unlockThread()
	c0, ok := threadCPU()
	b.ResetTimer()
	for b.Loop() {
		for _, buf := range bufs {
			n.scan(buf, hit)
		}
	}
	reportCPU(b, c0, ok, totalLen(bufs))
}

// BenchmarkScanET scans with one matcher holding the whole ET Open set:
// "fast" is one pattern per rule (~what an engine feeds its prefilter),
// "fast-4plus" the same without the 277 fast patterns shorter than 4
// bytes, "all" every content of every rule (a stress case full of 1-3 byte and
// very common patterns, where reporting hits dominates).
func BenchmarkScanET(b *testing.B) {
	all, fast := loadETPatterns(b)
	var fastLong []testPattern
	for _, p := range fast {
		if len(p.b) >= gramLen {
			fastLong = append(fastLong, p)
		}
	}
	payloads := loadPayloads(b, 2<<20, 100)
	for _, set := range []struct {
		name string
		pats []testPattern
	}{{"fast", fast}, {"fast-4plus", fastLong}, {"all", all}} {
		m := buildT(b, set.pats)
		b.Logf("%s: %d patterns, MemBytes %d", set.name, len(set.pats), m.MemBytes())
		b.Run(set.name+"/random-1500", func(b *testing.B) { benchMatcher(b, m, [][]byte{randomBytes(1500, 1)}) })
		b.Run(set.name+"/random-64K", func(b *testing.B) { benchMatcher(b, m, [][]byte{randomBytes(64<<10, 2)}) })
		b.Run(set.name+"/pcap", func(b *testing.B) { benchMatcher(b, m, payloads) })
	}
}

func BenchmarkBuildET(b *testing.B) {
	all, fast := loadETPatterns(b)
	for _, set := range []struct {
		name string
		pats []testPattern
	}{{"fast", fast}, {"all", all}} {
		b.Run(set.name, func(b *testing.B) {
			var m *Matcher
			for b.Loop() {
				m = buildT(b, set.pats)
			}
			b.ReportMetric(float64(len(set.pats)), "patterns")
			b.ReportMetric(float64(m.MemBytes()), "MemBytes")
		})
	}
}

// BenchmarkScanGroup covers the common case: a signature group of tens to
// hundreds of patterns, scanned once per packet.
func BenchmarkScanGroup(b *testing.B) {
	_, all := loadETPatterns(b)
	payloads := loadPayloads(b, 2<<20, 100)
	random := [][]byte{randomBytes(1500, 3)}
	r := rand.New(rand.NewPCG(7, 7))
	for _, size := range []int{1, 10, 50, 200, 1000} {
		pats := make([]testPattern, size)
		for i := range pats {
			pats[i] = all[r.IntN(len(all))]
		}
		m := buildT(b, pats)
		n := newNaive(pats)
		b.Run(fmt.Sprintf("n=%d/pcap/mpm", size), func(b *testing.B) { benchMatcher(b, m, payloads) })
		b.Run(fmt.Sprintf("n=%d/pcap/naive", size), func(b *testing.B) { benchNaive(b, n, payloads) })
		b.Run(fmt.Sprintf("n=%d/random-1500/mpm", size), func(b *testing.B) { benchMatcher(b, m, random) })
		b.Run(fmt.Sprintf("n=%d/random-1500/naive", size), func(b *testing.B) { benchNaive(b, n, random) })
	}
}

// BenchmarkScanLoop measures the filter loops alone: random patterns that
// (almost) never occur in a random buffer, by pattern length class.
func BenchmarkScanLoop(b *testing.B) {
	buf := [][]byte{randomBytes(64<<10, 5)}
	for _, c := range []struct {
		name    string
		n, minL int
		withOne bool
	}{{"long-10", 10, 8, false}, {"long-1000", 1000, 8, false}, {"long-20000", 20000, 8, false}, {"short-100", 100, 3, false}, {"mixed-1000+1byte", 1000, 2, true}} {
		r := rand.New(rand.NewPCG(9, uint64(c.n)))
		var pats []testPattern
		for i := range c.n {
			l := c.minL + r.IntN(8)
			if c.minL == 3 {
				l = 3
			}
			p := randomBytes(l, r.Uint64())
			pats = append(pats, testPattern{b: p, nocase: i%2 == 0, id: uint32(i)})
		}
		if c.withOne {
			pats = append(pats, testPattern{b: []byte{0}, id: 1 << 20})
		}
		m := buildT(b, pats)
		b.Run(c.name, func(b *testing.B) { benchMatcher(b, m, buf) })
	}
}
