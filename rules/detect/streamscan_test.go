package detect

import (
	"math/rand"
	"testing"

	"github.com/tapwatch/tapwatch/rules/mpm"
)

// TestScanStreamSuperset checks that the incremental stream prefilter
// proposes at least every id a scan of the whole window reports, over
// random streams cut into random chunks, with old window bytes sometimes
// rewritten (overlap policies) or dropped (holes).
func TestScanStreamSuperset(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	const alpha = "abcAB\r\n"
	for iter := 0; iter < 300; iter++ {
		var b mpm.Builder
		npat := 1 + rng.Intn(40)
		maxLen := 0
		for i := 0; i < npat; i++ {
			n := 1 + rng.Intn(12)
			if rng.Intn(10) == 0 {
				n += rng.Intn(60)
			}
			p := make([]byte, n)
			for j := range p {
				p[j] = alpha[rng.Intn(len(alpha))]
			}
			b.Add(p, rng.Intn(2) == 0, uint32(i))
			maxLen = max(maxLen, n)
		}
		m := b.Build()
		if m.MaxLen() != maxLen {
			t.Fatalf("MaxLen %d, want %d", m.MaxLen(), maxLen)
		}
		back := maxLen - 1 + rng.Intn(100)
		e := &Engine{streamBack: back}
		w := &Worker{e: e, stamp: make([]uint32, npat)}
		w.onHit = w.addCand
		w.onRec = w.recCand
		var c streamScan
		var win []byte // the stream's window: delivered bytes
		for chunk := 0; chunk < 60; chunk++ {
			switch rng.Intn(12) {
			case 0:
				win = win[:0] // a hole
			case 1:
				if len(win) > 0 { // an old byte rewritten
					win[rng.Intn(len(win))] = alpha[rng.Intn(len(alpha))]
				}
			}
			n := 1 + rng.Intn(3*maxLen+5)
			for i := 0; i < n; i++ {
				win = append(win, alpha[rng.Intn(len(alpha))])
			}
			start := max(0, len(win)-n-back)
			sbuf := win[start:]
			sold := len(sbuf) - n

			w.beginCands()
			w.scanStream(&c, m, maxLen, sbuf, sold)
			got := map[uint32]bool{}
			for _, id := range w.cands {
				got[id] = true
			}
			var ms mpm.Scratch
			m.Scan(sbuf, &ms, func(id uint32) {
				if !got[id] {
					t.Fatalf("iter %d chunk %d: id %d found by a full scan, not proposed", iter, chunk, id)
				}
			})
		}
	}
}
