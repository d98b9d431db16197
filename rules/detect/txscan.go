package detect

import (
	"bytes"

	"github.com/tapwatch/tapwatch/rules/keyword"
	"github.com/tapwatch/tapwatch/rules/mpm"
)

// A transaction is inspected again as it progresses (request line,
// headers, body...), and most of its buffers are then unchanged, or, for
// bodies, grown at the end. txScan remembers, per buffer id, the last
// buffer prefiltered (a copy) and the ids the matcher reported on it, so
// an unchanged buffer is not scanned again and a grown one only from
// where new bytes can complete a pattern. Entries are checked against
// the bytes themselves, never trusted by address.
type txScan struct {
	m    *mpm.Matcher
	data []byte
	ids  []uint32
}

// bufAliases are the buffer pairs a parser may fill with the same bytes:
// file.data is the HTTP response body going to the client and the request
// body going to the server. ET Open has about 1,800 file.data and 100
// http.response_body fast patterns; one union matcher scans a body once
// instead of twice.
var bufAliases = [...][2]keyword.Buffer{
	{mustBuffer("file.data"), mustBuffer("http.response_body")},
	{mustBuffer("file.data"), mustBuffer("http.request_body")},
}

func mustBuffer(name string) keyword.Buffer {
	b, ok := keyword.BufferByName(name)
	if !ok {
		panic("detect: no buffer " + name)
	}
	return b
}

// aliasMpm is the union prefilter of the two buffers in bufs, used when a
// transaction holds the same bytes in both; slot is its txScan entry.
type aliasMpm struct {
	bufs   [2]keyword.Buffer
	m      *mpm.Matcher
	maxLen int
	slot   int
}

// scanAliases prefilters, with its union matcher, each buffer pair of tx
// that holds the same bytes, and returns the buffers it covered.
func (w *Worker) scanAliases(g *group, tx *TxBuffers) (done [keyword.NumBuffers]bool) {
	for i := range g.alias {
		al := &g.alias[i]
		a, b := al.bufs[0], al.bufs[1]
		if !tx.has[a] || !tx.has[b] || tx.isMulti[a] || tx.isMulti[b] {
			continue
		}
		x, y := tx.bufs[a], tx.bufs[b]
		if len(x) == 0 || len(x) != len(y) || &x[0] != &y[0] {
			continue
		}
		w.scanTxBuf(al.slot, al.m, al.maxLen, x)
		done[a], done[b] = true, true
	}
	return done
}

// maxTxScanCache bounds the buffer size remembered per buffer id.
const maxTxScanCache = 1 << 20

// recCand records a prefilter hit for the entry being filled and makes it
// a candidate.
func (w *Worker) recCand(id uint32) {
	w.rec = append(w.rec, id)
	w.addCand(id)
}

// scanTxBuf prefilters buf, buffer b of a transaction, with m, whose
// longest pattern is maxLen bytes.
func (w *Worker) scanTxBuf(b int, m *mpm.Matcher, maxLen int, buf []byte) {
	if len(buf) > maxTxScanCache {
		m.Scan(buf, &w.msc, w.onHit)
		return
	}
	if w.txScan == nil {
		w.txScan = make([]txScan, keyword.NumBuffers+len(bufAliases))
	}
	c := &w.txScan[b]
	if c.m == m && len(c.data) > 0 {
		n := len(c.data)
		if n == len(buf) && bytes.Equal(c.data, buf) {
			for _, id := range c.ids {
				w.addCand(id)
			}
			return
		}
		if back := n - (maxLen - 1); n < len(buf) && back > 0 && bytes.Equal(c.data, buf[:n]) {
			// Grown: what was found stays found; a new occurrence ends
			// in the new bytes, so starts at most maxLen-1 before them.
			for _, id := range c.ids {
				w.addCand(id)
			}
			w.rec = c.ids
			m.Scan(buf[back:], &w.msc, w.onRec)
			c.ids = w.rec
			c.data = append(c.data, buf[n:]...)
			return
		}
	}
	c.m = m
	c.data = append(c.data[:0], buf...)
	w.rec = c.ids[:0]
	m.Scan(buf, &w.msc, w.onRec)
	c.ids = w.rec
}
