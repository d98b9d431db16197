package detect

import (
	"bytes"

	"github.com/tapwatch/tapwatch/rules/mpm"
)

// Stream rules are prefiltered on a window: the new bytes plus up to
// streamBack bytes already seen, so a pattern split across segments is
// found. Scanning the whole window again on every chunk re-reads the
// overlap. streamScan remembers, per flow direction, the tail of the last
// window prefiltered (a copy) and which ids the matcher reported, each
// with the end of the scanned region it was found in. When the old part
// of the next window is that tail, byte for byte, an occurrence lying
// wholly in the old part was found before, in a region ending inside the
// old part or later: those ids are proposed again, and only the new bytes
// plus maxLen-1 bytes before them are scanned. The candidates are then a
// superset of what a scan of the whole window reports, and every candidate
// is still matched in full on the window.
type streamScan struct {
	m    *mpm.Matcher
	buf  []byte   // tail of the last window scanned
	ids  []uint32 // ids reported on buf...
	ends []int32  // ...and the end, in buf, of the region each was found in
}

// scanStream prefilters the stream window sbuf, whose first sold bytes
// were delivered before, with m, whose longest pattern is maxLen bytes.
func (w *Worker) scanStream(c *streamScan, m *mpm.Matcher, maxLen int, sbuf []byte, sold int) {
	keep := w.e.streamBack
	if keep <= 0 || maxLen <= 0 || len(sbuf) > 1<<30 {
		m.Scan(sbuf, &w.msc, w.onHit)
		return
	}
	from := 0
	ncarry := 0
	if sold > 0 && c.m == m && len(c.buf) >= sold && sold-(maxLen-1) > 0 &&
		bytes.Equal(c.buf[len(c.buf)-sold:], sbuf[:sold]) {
		shift := int32(len(c.buf) - sold)
		// Carry the ids whose region reaches into the old part,
		// compacting in place.
		for i, id := range c.ids {
			if e := c.ends[i] - shift; e > 0 {
				c.ids[ncarry], c.ends[ncarry] = id, e
				ncarry++
				w.addCand(id)
			}
		}
		from = sold - (maxLen - 1)
	}
	// The hits are recorded into c.ids (recCand), each found in a region
	// ending at the window's end.
	w.rec, c.ends = c.ids[:ncarry], c.ends[:ncarry]
	m.Scan(sbuf[from:], &w.msc, w.onRec)
	c.ids = w.rec
	end := int32(len(sbuf))
	for len(c.ends) < len(c.ids) {
		c.ends = append(c.ends, end)
	}
	// Keep the tail the next window's old part can cover.
	t := 0
	if len(sbuf) > keep {
		t = len(sbuf) - keep
	}
	c.m = m
	c.buf = append(c.buf[:0], sbuf[t:]...)
	if t > 0 {
		n := 0
		for i, id := range c.ids {
			if e := c.ends[i] - int32(t); e > 0 {
				c.ids[n], c.ends[n] = id, e
				n++
			}
		}
		c.ids, c.ends = c.ids[:n], c.ends[:n]
	}
}
