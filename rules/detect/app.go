package detect

import (
	"slices"

	"github.com/tapwatch/tapwatch/rules/decode"
	"github.com/tapwatch/tapwatch/rules/flow"
	"github.com/tapwatch/tapwatch/rules/keyword"
)

// TxBuffers is what an app-layer parser hands the engine for one
// transaction (or one packet, for protocols without transactions): the
// inspection buffers it extracted, by keyword.Buffer id. Parsers reuse one
// TxBuffers; Set keeps the slices, it does not copy them.
type TxBuffers struct {
	TxID     int
	AppProto string
	// App is metadata logged with alerts (EVE "http", "dns", "tls" objects).
	App  map[string]any
	bufs [keyword.NumBuffers][]byte
	has  [keyword.NumBuffers]bool
}

// Reset clears every buffer.
func (t *TxBuffers) Reset() {
	*t = TxBuffers{}
}

// Set supplies buffer b.
func (t *TxBuffers) Set(b keyword.Buffer, data []byte) {
	t.bufs[b], t.has[b] = data, true
}

// Get returns buffer b and whether it was supplied.
func (t *TxBuffers) Get(b keyword.Buffer) ([]byte, bool) { return t.bufs[b], t.has[b] }

// txSeen remembers which rules alerted on which transaction of a flow, so
// a transaction inspected again as it grows alerts once per rule.
type txSeen struct {
	num  int
	txID int
}

// InspectTx evaluates the rules that inspect app-layer buffers against
// tx, which belongs to f and was completed or extended by packet p moving
// in dir. App-layer parsers call it from the packet path.
func (w *Worker) InspectTx(p *decode.Packet, f *flow.Flow, dir flow.Dir, tx *TxBuffers, emit func(*Alert)) Verdict {
	e := w.e
	fs := flowStateOf(f)
	if fs != nil && (fs.passed || fs.dropped && e.opts.IPS) {
		return VerdictPass
	}
	g := &e.groups[bucketOf(p.IPProto)]
	w.beginCands()
	w.addAlways(g, p, true)
	for b := 1; b < keyword.NumBuffers; b++ {
		if m := g.mpm[b]; m != nil && tx.has[b] && len(tx.bufs[b]) > 0 {
			m.Scan(tx.bufs[b], &w.msc, w.onHit)
		}
	}
	slices.Sort(w.cands)
	w.stats.TxCandidates += uint64(len(w.cands))
	w.stats.Txs++
	w.hits = w.hits[:0]
	for _, id := range w.cands {
		c := e.sigs[id]
		if len(c.app) == 0 || !w.matchCommon(c, p, f, fs, dir) {
			continue
		}
		if c.appProto != "" && !sameApp(tx.AppProto, c.appProto) && c.appProto != tx.AppProto {
			continue
		}
		ok := true
		for _, bo := range c.app {
			buf, has := tx.Get(bo.buf)
			if has && len(bo.transforms) > 0 {
				buf = keyword.ApplyTransforms(bo.transforms, buf, &w.xa, &w.xb)
			}
			if !has || !keyword.Inspect(bo.ops, buf, &w.ksc) {
				ok = false
				break
			}
		}
		if ok && len(c.payload) > 0 {
			ok = len(p.Payload) > 0 && keyword.Inspect(c.payload, p.Payload, &w.ksc)
		}
		if !ok {
			continue
		}
		if fs != nil {
			k := txSeen{num: c.num, txID: tx.TxID}
			if _, dup := fs.txAlerted[k]; dup {
				continue
			}
			if fs.txAlerted == nil {
				fs.txAlerted = map[txSeen]struct{}{}
			}
			fs.txAlerted[k] = struct{}{}
		}
		w.postMatch(c, f)
		if !w.thresholdOK(c, p) {
			continue
		}
		w.hits = append(w.hits, hit{c: c, flowScope: true})
	}
	w.curTx = tx
	v := w.finish(p, f, fs, dir, emit)
	w.curTx = nil
	return v
}
