package record

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// segMeta is one segment's index entry: one JSON line in the VM's
// segments.idx, written when the segment is closed.
type segMeta struct {
	VM      string    `json:"vm"`
	File    string    `json:"file"` // relative to the recording directory
	First   time.Time `json:"ts_first"`
	Last    time.Time `json:"ts_last"`
	Packets int64     `json:"packets"`
	Bytes   int64     `json:"bytes"`
	Flows   []uint64  `json:"flow_ids"` // sorted, distinct

	open bool
}

func (m *segMeta) hasFlow(id uint64) bool {
	if m.open {
		return true // not indexed yet: Export scans it
	}
	_, ok := slices.BinarySearch(m.Flows, id)
	return ok
}

// alertRec is one line of alerts.idx.
type alertRec struct {
	ID     string    `json:"id"`
	VM     string    `json:"vm"`
	FlowID uint64    `json:"flow_id"`
	TS     time.Time `json:"ts"`
}

const (
	indexName  = "segments.idx"
	alertsName = "alerts.idx"
	segExt     = ".pcapng"
	// ringOverhead is charged per held packet besides its bytes, so a
	// flood of tiny packets cannot hold unbounded memory.
	ringOverhead = 64
)

type openSeg struct {
	meta *segMeta
	f    *os.File
	// buf collects encoded blocks for one large write: a write system
	// call per packet would cost more than the rest of recording.
	buf    []byte
	ifaces []ifaceID
	flows  map[uint64]struct{}
	// slots remember recent flows: their encoded packet options, and that
	// flows already holds them, sparing a map update and a number
	// formatting per packet.
	slots [flowSlots]flowSlot
	// The oldest and newest packet's times: meta.First is kept current,
	// meta.Last is set by sync, as a time per packet would cost.
	firstNs, lastNs int64
	// written is the bytes in the file, prealloc the end of the blocks
	// reserved for it (-1: reserving failed), maxSize the segment size.
	written, prealloc, maxSize int64
}

type ifaceID struct {
	name string
	id   uint32
}

// flowSlots is the number of recent flows an open segment remembers; a
// VM's busy flows at any moment are few.
const flowSlots = 256

type flowSlot struct {
	id   uint64
	used bool
	n    uint8
	opts [maxFlowOpts]byte
}

// segBufBytes is how much of an open segment's buffer is written at once,
// at file offsets that are multiples of it: large aligned writes spare
// system calls and let the page cache use large folios (a quarter less
// kernel time than the same writes unaligned). The buffer has room for a
// large block beyond that, so appending one does not grow it.
const (
	segBufBytes = 256 << 10
	segBufCap   = segBufBytes + 64<<10
)

// sync brings the index entry up to the packets written.
func (s *openSeg) sync() {
	if s.meta.Packets > 0 {
		s.meta.Last = time.Unix(0, s.lastNs).UTC()
	}
}

// flush writes all buffered blocks to the file.
func (s *openSeg) flush() error {
	err := s.writeOut(s.buf)
	s.buf = s.buf[:0]
	return err
}

// flushAligned writes the buffer up to the next multiple of segBufBytes in
// the file, if it reaches that far, keeping the rest.
func (s *openSeg) flushAligned() error {
	n := segBufBytes - int(s.written%segBufBytes)
	if len(s.buf) < n {
		return nil
	}
	err := s.writeOut(s.buf[:n])
	s.buf = s.buf[:copy(s.buf, s.buf[n:])]
	return err
}

// writeOut appends b to the file, reserving its blocks first.
func (s *openSeg) writeOut(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	if end := s.written + int64(len(b)); end > s.prealloc {
		s.reserve(end)
	}
	n, err := s.f.Write(b)
	s.written += int64(n)
	return err
}

// maxPrealloc bounds how far ahead of its data a segment's blocks are
// reserved. Reserved space is outside the disk budget, so the reach grows
// with the segment (at most its size so far): a quiet VM's segment
// reserves little, a busy one makes few fallocate calls.
const maxPrealloc = 4 << 20

// reserve preallocates the segment's blocks up to end and some beyond,
// within its size. A buffered write onto reserved blocks skips the
// filesystem's reservation of each block as it is written (with ext4 a
// fifth to a third of the write's kernel time). It is only a saving: where
// it fails (no support, or a full disk, which the write then reports) the
// segment stops trying.
func (s *openSeg) reserve(end int64) {
	if s.prealloc < 0 {
		return
	}
	ahead := min(max(s.written, segBufBytes), maxPrealloc)
	next := min(end+ahead, s.maxSize)
	if next <= s.prealloc {
		return
	}
	if err := preallocate(s.f, s.prealloc, next-s.prealloc); err != nil {
		s.prealloc = -1
		return
	}
	s.prealloc = next
}

// close writes what is buffered, frees the blocks reserved beyond it and
// closes the file.
func (s *openSeg) close() (flushErr, closeErr error) {
	flushErr = s.flush()
	if s.prealloc > s.written {
		// Truncating to the size it has drops the reservation.
		if err := s.f.Truncate(s.written); err != nil && flushErr == nil {
			flushErr = err
		}
	}
	return flushErr, s.f.Close()
}

type window struct {
	flowID uint64
	until  time.Time
}

type vmState struct {
	name      string
	dirName   string
	seq       int
	seg       *openSeg
	ring      []item // Alerts mode: oldest first, from ringHead
	ringHd    int
	ringMem   int
	windows   []window
	lastAlert time.Time
	buf       []byte // the closed segment's buffer, for the next one
	lastIface string // for ifaceName
}

// writer is the state the writer goroutine owns.
type writer struct {
	r      *Recorder
	vms    map[string]*vmState
	segs   []*segMeta // every segment on disk, oldest first
	total  int64
	alerts map[string]alertRec
	alertF *os.File

	backoffUntil time.Time
	closeErr     error
	batches      []*batch  // scratch for queue.take
	lastPartial  time.Time // when the writer last took a batch not yet full

	// Counted per packet, published per batch: an atomic per packet is
	// contended by Stats and costs more than the counting.
	written int
}

// dryFlushGap is the least time between two takes of a batch that is not
// full yet (and the flushes that follow them): a quiet VM's packets reach
// the disk this promptly, while a busy host's are handled in full batches.
// FlushEvery still bounds how long a packet stays buffered.
const dryFlushGap = 50 * time.Millisecond

func newWriter(r *Recorder) *writer {
	return &writer{r: r, vms: map[string]*vmState{}, alerts: map[string]alertRec{}}
}

// dirName makes a VM name safe as one path element; names are libvirt's,
// which allow almost anything.
func dirName(vm string) string {
	var b strings.Builder
	for i := 0; i < len(vm); i++ {
		c := vm[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || (c == '.' && i > 0) {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	if b.Len() == 0 {
		return "%00"
	}
	return b.String()
}

func (w *writer) vm(name string) *vmState {
	v := w.vms[name]
	if v == nil {
		v = &vmState{name: name, dirName: dirName(name)}
		w.vms[name] = v
	}
	return v
}

func (w *writer) fail(err error) {
	w.r.fail(err)
	w.backoffUntil = time.Now().Add(w.r.opts.ErrorBackoff)
}

func (w *writer) run() {
	r := w.r
	defer close(r.done)
	tick := time.NewTicker(r.opts.FlushEvery)
	defer tick.Stop()
	// dry takes the batch being filled when it has waited dryFlushGap.
	dry := time.NewTimer(time.Hour)
	dry.Stop()
	dryArmed := false
	busy := false // the last look found batches: look again before waiting
	for {
		var req *snapRequest
		force := false
		if busy {
			select {
			case <-dry.C:
				dryArmed = false
			case sr := <-r.snapReq:
				req, force = &sr, true
			case <-tick.C:
				force = true
			default:
			}
		} else {
			select {
			case <-r.kick:
			case <-dry.C:
				dryArmed = false
			case sr := <-r.snapReq:
				// An export sees every packet queued before it asked.
				req, force = &sr, true
			case <-tick.C:
				force = true
			}
		}
		now := time.Now()
		bs, tookPartial, pending, closed := r.q.take(w.batches[:0], force || now.Sub(w.lastPartial) >= dryFlushGap, dryArmed)
		busy = len(bs) > 0
		for i, b := range bs {
			w.handleBatch(b)
			bs[i] = nil
		}
		w.batches = bs[:0]
		if tookPartial {
			w.lastPartial = now
			// The queue ran dry: write the buffers, so a quiet VM's
			// packets reach the disk promptly.
			w.flushAll()
		}
		w.publish()
		if closed {
			w.shutdown()
			if req != nil {
				req.reply <- w.snapshot(req.alertID)
			}
			return
		}
		switch {
		case req != nil:
			w.flushAll()
			w.syncOpen()
			req.reply <- w.snapshot(req.alertID)
		case force:
			w.housekeep()
			w.publish()
		}
		// While packets flow the dry timer stays armed, so the first
		// record after a take need not wake the writer; it stops once a
		// look finds nothing.
		if (busy || pending) && !dryArmed {
			dry.Reset(max(dryFlushGap-time.Since(w.lastPartial), time.Millisecond))
			dryArmed = true
		}
	}
}

// publish makes the counters kept per batch visible to Stats.
func (w *writer) publish() {
	if w.written > 0 {
		w.r.written.Add(uint64(w.written))
		w.written = 0
	}
	w.r.diskBytes.Store(w.total)
}

// state is the writer's state of the VM behind c.
func (w *writer) state(c *vmCtl) *vmState {
	if c.st == nil {
		c.st = w.vm(c.name)
	}
	return c.st
}

// handleBatch handles b's records in order and recycles it.
func (w *writer) handleBatch(b *batch) {
	r := w.r
	r.q.release(b)
	ctls := r.vms.Load().byIdx
	var h rec
	for off := 0; off < len(b.data); {
		h.get(b.data[off:])
		name := b.data[off+recHeader : off+recHeader+int(h.nameLen)]
		data := b.data[off+recHeader+int(h.nameLen) : off+recHeader+int(h.nameLen)+int(h.n)]
		off += recSize(int(h.nameLen), int(h.n))
		if r.hold != nil {
			r.hold()
		}
		v := w.state(ctls[h.vm])
		if h.kind == kindAlert {
			w.alert(v, &item{mode: Mode(h.mode), ts: time.Unix(0, h.ns).UTC(),
				flowID: h.flowID, alertID: string(name)})
			continue
		}
		switch Mode(h.mode) {
		case All:
			w.write(v, name, h.ns, h.flowID, data, int(h.origLen))
		case Alerts:
			it := item{mode: Alerts, ts: time.Unix(0, h.ns).UTC(),
				flowID: h.flowID, origLen: int(h.origLen)}
			if w.inWindow(v, &it) {
				w.write(v, name, h.ns, h.flowID, data, it.origLen)
			} else {
				// The ring outlives the batch: it needs its own copies.
				it.iface = v.ifaceName(name)
				it.data = append([]byte(nil), data...)
				w.ringPush(v, it)
			}
		}
	}
	r.q.recycle(b)
}

// ifaceName returns name as a string, the same one for a VM's interface
// each time, so a ring of held packets does not hold a copy per packet.
func (v *vmState) ifaceName(name []byte) string {
	if string(name) != v.lastIface {
		v.lastIface = string(name)
	}
	return v.lastIface
}

// inWindow says whether an Alerts-mode packet is to be written now: it
// belongs to a flow in its post-alert window, or it is older than the last
// alert (it was queued before the alert but handled after it).
func (w *writer) inWindow(v *vmState, it *item) bool {
	if !v.lastAlert.IsZero() && !it.ts.After(v.lastAlert) && !it.ts.Before(v.lastAlert.Add(-w.r.opts.PreAlert)) {
		return true
	}
	keep := v.windows[:0]
	hit := false
	for _, win := range v.windows {
		if it.ts.After(win.until) {
			continue // expired
		}
		keep = append(keep, win)
		if win.flowID == it.flowID {
			hit = true
		}
	}
	v.windows = keep
	return hit
}

func (w *writer) ringPush(v *vmState, it item) {
	v.ring = append(v.ring, it)
	v.ringMem += len(it.data) + ringOverhead
	oldest := it.ts.Add(-w.r.opts.PreAlert)
	for v.ringHd < len(v.ring) && (v.ringMem > w.r.opts.PreAlertBytes || v.ring[v.ringHd].ts.Before(oldest)) {
		v.ringMem -= len(v.ring[v.ringHd].data) + ringOverhead
		v.ring[v.ringHd] = item{}
		v.ringHd++
	}
	// Compact when the dead head is the larger part, keeping appends
	// amortised O(1).
	if v.ringHd > 64 && v.ringHd*2 > len(v.ring) {
		n := copy(v.ring, v.ring[v.ringHd:])
		clear(v.ring[n:])
		v.ring = v.ring[:n]
		v.ringHd = 0
	}
}

func (w *writer) dropRing(v *vmState) {
	v.ring, v.ringHd, v.ringMem = nil, 0, 0
}

func (w *writer) alert(v *vmState, it *item) {
	a := alertRec{ID: it.alertID, VM: v.name, FlowID: it.flowID, TS: it.ts}
	w.alerts[a.ID] = a
	w.appendAlert(a)
	if it.mode != Alerts {
		return
	}
	from := it.ts.Add(-w.r.opts.PreAlert)
	for i := v.ringHd; i < len(v.ring); i++ {
		if p := &v.ring[i]; !p.ts.Before(from) {
			w.write(v, []byte(p.iface), p.ts.UnixNano(), p.flowID, p.data, p.origLen)
		}
	}
	w.dropRing(v)
	if it.ts.After(v.lastAlert) {
		v.lastAlert = it.ts
	}
	if it.flowID != 0 {
		v.windows = append(v.windows, window{flowID: it.flowID, until: it.ts.Add(w.r.opts.PostAlert)})
	}
}

func (w *writer) appendAlert(a alertRec) {
	if w.alertF == nil {
		f, err := os.OpenFile(filepath.Join(w.r.dir, alertsName), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
		if err != nil {
			w.r.fail(fmt.Errorf("recording: open alert index: %w", err))
			return
		}
		w.alertF = f
	}
	b, _ := json.Marshal(a)
	if _, err := w.alertF.Write(append(b, '\n')); err != nil {
		w.r.fail(fmt.Errorf("recording: append to alert index %s (disk full?): %w", w.alertF.Name(), err))
	}
}

// write appends one packet to v's segment, opening or rolling it.
func (w *writer) write(v *vmState, iface []byte, ns int64, flowID uint64, data []byte, origLen int) {
	if !w.backoffUntil.IsZero() {
		if time.Now().Before(w.backoffUntil) {
			w.r.errs.Add(1)
			return
		}
		w.backoffUntil = time.Time{}
	}
	// The largest the block can be, so a segment never exceeds its size.
	need := int64(epbLen(len(data), maxFlowOpts))
	if s := v.seg; s != nil && s.meta.Packets > 0 && s.meta.Bytes+need > w.r.opts.SegmentBytes {
		w.closeSeg(v)
	}
	if v.seg == nil {
		if err := w.openSeg(v, ns); err != nil {
			w.r.errs.Add(1)
			w.fail(err)
			return
		}
	}
	s := v.seg
	id, ok := s.iface(iface)
	if !ok {
		id = uint32(len(s.ifaces))
		if !w.room(v, 64+len(iface)+len(v.name)) {
			return
		}
		name := string(iface)
		n := len(s.buf)
		s.buf = appendInterfaceDescription(s.buf, name, v.name)
		w.grow(s, int64(len(s.buf)-n))
		s.ifaces = append(s.ifaces, ifaceID{name, id})
	}
	slot := s.flow(flowID)
	opts := slot.opts[:slot.n]
	size := epbLen(len(data), len(opts))
	if !w.room(v, size) {
		return
	}
	s.buf = appendEnhancedPacket(s.buf, id, ns, data, origLen, opts)
	w.grow(s, int64(size))
	m := s.meta
	if m.Packets == 0 || ns < s.firstNs {
		s.firstNs, m.First = ns, time.Unix(0, ns).UTC()
	}
	if m.Packets == 0 || ns > s.lastNs {
		s.lastNs = ns
	}
	m.Packets++
	w.written++
	if w.total > w.r.opts.BudgetBytes {
		w.enforceBudget()
	}
}

// room makes room for n more bytes in v's segment buffer, writing out
// what fills it. It reports false when that write failed (counted, and the
// segment closed).
func (w *writer) room(v *vmState, n int) bool {
	s := v.seg
	err := s.flushAligned()
	if err == nil && len(s.buf) > 0 && len(s.buf)+n > cap(s.buf) {
		err = s.flush() // a block larger than the buffer holds
	}
	if err != nil {
		w.writeFailed(v, err)
		return false
	}
	return true
}

// iface is the segment's interface ID for name.
func (s *openSeg) iface(name []byte) (uint32, bool) {
	for i := range s.ifaces {
		if s.ifaces[i].name == string(name) {
			return s.ifaces[i].id, true
		}
	}
	return 0, false
}

// flow returns the slot of id, adding the flow to the segment's set.
func (s *openSeg) flow(id uint64) *flowSlot {
	sl := &s.slots[id%flowSlots]
	if !sl.used || sl.id != id {
		s.flows[id] = struct{}{}
		sl.used, sl.id = true, id
		sl.n = uint8(len(appendFlowOpts(sl.opts[:0], id)))
	}
	return sl
}

func (w *writer) grow(s *openSeg, n int64) {
	s.meta.Bytes += n
	w.total += n
}

func (w *writer) writeFailed(v *vmState, err error) {
	w.r.errs.Add(1)
	w.fail(fmt.Errorf("recording %s: write segment %s (disk full?): %w", v.name, v.seg.meta.File, err))
	w.closeSeg(v)
}

func (w *writer) openSeg(v *vmState, ns int64) error {
	dir := filepath.Join(w.r.dir, v.dirName)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("recording %s: create %s: %w", v.name, dir, err)
	}
	ts := time.Unix(0, ns).UTC()
	for {
		name := fmt.Sprintf("%s-%d%s", ts.Format("20060102T150405"), v.seq, segExt)
		v.seq++
		path := filepath.Join(dir, name)
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("recording %s: create segment %s (disk full or not writable?): %w", v.name, path, err)
		}
		buf := v.buf
		if buf == nil {
			buf = make([]byte, 0, segBufCap)
		}
		v.buf = nil
		s := &openSeg{meta: &segMeta{VM: v.name, File: filepath.Join(v.dirName, name), open: true},
			f: f, buf: buf[:0], flows: map[uint64]struct{}{}, maxSize: w.r.opts.SegmentBytes}
		v.seg = s
		w.segs = append(w.segs, s.meta)
		w.r.segments.Store(int64(len(w.segs)))
		n := len(s.buf)
		s.buf = appendSectionHeader(s.buf)
		w.grow(s, int64(len(s.buf)-n))
		return nil
	}
}

// closeSeg closes v's segment and appends its index line.
func (w *writer) closeSeg(v *vmState) {
	s := v.seg
	if s == nil {
		return
	}
	v.seg = nil
	flushErr, closeErr := s.close()
	if flushErr != nil {
		w.fail(fmt.Errorf("recording %s: flush segment %s (disk full?): %w", v.name, s.meta.File, flushErr))
	}
	if closeErr != nil {
		w.fail(fmt.Errorf("recording %s: close segment %s: %w", v.name, s.meta.File, closeErr))
	}
	v.buf = s.buf[:0] // for the VM's next segment
	s.sync()
	m := s.meta
	m.Flows = make([]uint64, 0, len(s.flows))
	for id := range s.flows {
		m.Flows = append(m.Flows, id)
	}
	slices.Sort(m.Flows)
	m.open = false
	if m.Packets == 0 {
		w.remove(m)
		return
	}
	if err := appendIndex(filepath.Join(w.r.dir, v.dirName, indexName), m); err != nil {
		w.fail(fmt.Errorf("recording %s: %w", v.name, err))
	}
}

func appendIndex(path string, m *segMeta) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("open segment index %s: %w", path, err)
	}
	b, _ := json.Marshal(m)
	_, err = f.Write(append(b, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("append to segment index %s (disk full?): %w", path, err)
	}
	return nil
}

// rewriteIndex replaces a VM directory's index with the closed segments
// still on disk.
func (w *writer) rewriteIndex(vmDir string) error {
	path := filepath.Join(w.r.dir, vmDir, indexName)
	var b []byte
	for _, m := range w.segs {
		if !m.open && filepath.Dir(m.File) == vmDir {
			line, _ := json.Marshal(m)
			b = append(append(b, line...), '\n')
		}
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o640); err != nil {
		return fmt.Errorf("rewrite segment index %s (disk full?): %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("rewrite segment index %s: %w", path, err)
	}
	return nil
}

// remove deletes a closed segment's file and forgets it.
func (w *writer) remove(m *segMeta) {
	if err := os.Remove(filepath.Join(w.r.dir, m.File)); err != nil && !errors.Is(err, os.ErrNotExist) {
		w.fail(fmt.Errorf("recording: delete segment %s: %w", m.File, err))
	}
	w.segs = slices.DeleteFunc(w.segs, func(x *segMeta) bool { return x == m })
	w.total -= m.Bytes
	w.r.segments.Store(int64(len(w.segs)))
	w.r.diskBytes.Store(w.total)
}

// enforceBudget deletes the oldest closed segments, across all VMs, until
// the recording fits the budget.
func (w *writer) enforceBudget() {
	dirty := map[string]bool{}
	for w.total > w.r.opts.BudgetBytes {
		i := slices.IndexFunc(w.segs, func(m *segMeta) bool { return !m.open })
		if i < 0 {
			// Only open segments (many VMs recording at once): close
			// the oldest so it can go.
			if len(w.segs) == 0 {
				break
			}
			v := w.vms[w.segs[0].VM]
			if v == nil || v.seg == nil || v.seg.meta != w.segs[0] {
				break
			}
			w.closeSeg(v)
			continue
		}
		m := w.segs[i]
		w.remove(m)
		w.r.deleted.Add(1)
		dirty[filepath.Dir(m.File)] = true
	}
	for d := range dirty {
		if err := w.rewriteIndex(d); err != nil {
			w.fail(fmt.Errorf("recording: %w", err))
		}
	}
	// Alerts whose packets are all gone select nothing: forget them (the
	// alert index file is compacted at the next New).
	if len(dirty) > 0 && len(w.segs) > 0 {
		oldest := w.segs[0].First
		for id, a := range w.alerts {
			if a.TS.Add(w.r.opts.PostAlert).Before(oldest) {
				delete(w.alerts, id)
			}
		}
	}
}

func (w *writer) flushAll() {
	for _, v := range w.vms {
		if s := v.seg; s != nil && len(s.buf) > 0 {
			if err := s.flush(); err != nil {
				w.r.errs.Add(1)
				w.fail(fmt.Errorf("recording %s: flush segment %s (disk full?): %w", v.name, s.meta.File, err))
				w.closeSeg(v)
			}
		}
	}
}

// syncOpen brings the open segments' index entries up to date, for a
// snapshot.
func (w *writer) syncOpen() {
	for _, v := range w.vms {
		if v.seg != nil {
			v.seg.sync()
		}
	}
}

// housekeep applies mode changes the writer has not seen through packets:
// a VM turned Off closes its segment, one leaving Alerts frees its ring.
func (w *writer) housekeep() {
	ctl := w.r.vms.Load().byName
	for name, v := range w.vms {
		m := Off
		if c := ctl[name]; c != nil {
			m = Mode(c.mode.Load())
		}
		if m != Alerts {
			w.dropRing(v)
			v.windows, v.lastAlert = nil, time.Time{}
		}
		if m == Off {
			w.closeSeg(v)
			v.buf = nil // a VM that records no more holds no buffer
		}
	}
	w.flushAll()
}

func (w *writer) shutdown() {
	before := w.r.lastErr.Load()
	for _, v := range w.vms {
		w.closeSeg(v)
	}
	if w.alertF != nil {
		if err := w.alertF.Close(); err != nil {
			w.fail(fmt.Errorf("recording: close alert index: %w", err))
		}
	}
	w.r.final = w.snapshot("")
	if e := w.r.lastErr.Load(); e != before {
		w.closeErr = errors.New(*e)
	}
}

// load reads the index of an existing recording directory. Segments without
// an index line (the agent stopped without closing them) are scanned and
// indexed; index lines whose file is gone are dropped.
func (w *writer) load() error {
	root := w.r.dir
	ents, err := os.ReadDir(root)
	if err != nil {
		return fmt.Errorf("recording directory %s: %w", root, err)
	}
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		vmDir := e.Name()
		known := map[string]*segMeta{}
		if b, err := os.ReadFile(filepath.Join(root, vmDir, indexName)); err == nil {
			for _, line := range strings.Split(string(b), "\n") {
				var m segMeta
				if json.Unmarshal([]byte(line), &m) == nil && m.File != "" {
					known[m.File] = &m
				}
			}
		}
		files, err := os.ReadDir(filepath.Join(root, vmDir))
		if err != nil {
			return fmt.Errorf("recording directory %s: %w", filepath.Join(root, vmDir), err)
		}
		changed := false
		seq := 0
		for _, f := range files {
			name := f.Name()
			if !strings.HasSuffix(name, segExt) {
				continue
			}
			if i := strings.LastIndexByte(name, '-'); i >= 0 {
				if n, err := strconv.Atoi(strings.TrimSuffix(name[i+1:], segExt)); err == nil && n >= seq {
					seq = n + 1
				}
			}
			rel := filepath.Join(vmDir, name)
			m := known[rel]
			if m == nil {
				if m, err = scanSegment(root, rel); err != nil {
					return err
				}
				changed = true
				if m.Packets == 0 {
					os.Remove(filepath.Join(root, rel))
					continue
				}
				// Never closed, it may hold blocks reserved beyond its
				// end; truncating to its size frees them. Only space is
				// at stake, so a failure is ignored.
				_ = os.Truncate(filepath.Join(root, rel), m.Bytes)
			} else {
				delete(known, rel)
			}
			w.segs = append(w.segs, m)
			w.total += m.Bytes
			if v := w.vm(m.VM); v.dirName == vmDir && seq > v.seq {
				v.seq = seq
			}
		}
		if changed || len(known) > 0 {
			if err := w.rewriteIndex(vmDir); err != nil {
				return fmt.Errorf("recording: %w", err)
			}
		}
	}
	slices.SortStableFunc(w.segs, func(a, b *segMeta) int { return a.First.Compare(b.First) })
	w.r.segments.Store(int64(len(w.segs)))
	w.r.diskBytes.Store(w.total)

	// Alerts whose packets the budget has deleted are forgotten, so the
	// alert index does not outgrow the recording.
	path := filepath.Join(root, alertsName)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("recording: alert index %s: %w", path, err)
	}
	stale := false
	for _, line := range strings.Split(string(b), "\n") {
		var a alertRec
		if json.Unmarshal([]byte(line), &a) != nil || a.ID == "" {
			continue
		}
		if len(w.segs) == 0 || a.TS.Add(w.r.opts.PostAlert).Before(w.segs[0].First) {
			stale = true
			continue
		}
		w.alerts[a.ID] = a
	}
	if stale {
		var out []byte
		for _, a := range w.alerts {
			line, _ := json.Marshal(a)
			out = append(append(out, line...), '\n')
		}
		if err := os.WriteFile(path+".tmp", out, 0o640); err != nil {
			return fmt.Errorf("recording: rewrite alert index %s (disk full?): %w", path, err)
		}
		if err := os.Rename(path+".tmp", path); err != nil {
			return fmt.Errorf("recording: rewrite alert index %s: %w", path, err)
		}
	}
	return nil
}

// scanSegment indexes a segment by reading it; a block cut short by a crash
// ends it.
func scanSegment(root, rel string) (*segMeta, error) {
	path := filepath.Join(root, rel)
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("recording: index segment %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("recording: index segment %s: %w", path, err)
	}
	m := &segMeta{File: rel, Bytes: fi.Size()}
	flows := map[uint64]struct{}{}
	d := newNgReader(f)
	var p recPacket
	for {
		err := d.next(&p)
		if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, errCorrupt) {
			break
		}
		if m.Packets == 0 || p.ts.Before(m.First) {
			m.First = p.ts
		}
		if p.ts.After(m.Last) {
			m.Last = p.ts
		}
		m.VM = p.vm
		m.Packets++
		flows[p.flowID] = struct{}{}
	}
	for id := range flows {
		m.Flows = append(m.Flows, id)
	}
	slices.Sort(m.Flows)
	return m, nil
}
