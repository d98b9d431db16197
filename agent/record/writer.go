package record

import (
	"bufio"
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
	meta   *segMeta
	f      *os.File
	bw     *bufio.Writer
	enc    ngWriter
	ifaces map[string]uint32
	flows  map[uint64]struct{}
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
	lastFlush    time.Time // of the dry-queue flush
}

// dryFlushGap is the least time between two flushes the queue running dry
// triggers; FlushEvery still bounds how long a packet stays buffered.
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
	for {
		select {
		case it, ok := <-r.queue:
			if !ok {
				w.takePending()
				w.shutdown()
				return
			}
			if r.hold != nil {
				r.hold()
			}
			w.takePending()
			w.handle(&it)
			// Take what else is queued without going back to the
			// select: at a busy host's packet rate the three-way
			// select per packet is a tenth of the writer's time.
			if !w.drain() {
				w.takePending()
				w.shutdown()
				return
			}
			// Flush buffers when the queue runs dry, so a quiet VM's
			// packets reach the disk promptly; but at most every
			// dryFlushGap, or a writer that keeps pace with a busy host
			// would make a write system call per packet.
			if len(r.queue) == 0 {
				if now := time.Now(); now.Sub(w.lastFlush) >= dryFlushGap {
					w.lastFlush = now
					w.flushAll()
				}
			}
		case req := <-r.snapReq:
			// An export sees every packet queued before it asked.
			closed := false
			for n := len(r.queue); n > 0; n-- {
				it, ok := <-r.queue
				if !ok {
					closed = true
					break
				}
				w.handle(&it)
			}
			w.takePending()
			w.flushAll()
			req.reply <- w.snapshot(req.alertID)
			if closed {
				w.shutdown()
				return
			}
		case <-tick.C:
			w.takePending()
			w.housekeep()
		}
	}
}

// drainBatch bounds the packets the writer takes per drain, so the
// ticker and exports are not kept waiting behind a queue that never empties.
const drainBatch = 256

// drain handles up to drainBatch more queued items, as the loop in run
// would. It returns false when the queue is closed.
func (w *writer) drain() bool {
	r := w.r
	for range drainBatch {
		select {
		case it, ok := <-r.queue:
			if !ok {
				return false
			}
			if r.hold != nil {
				r.hold()
			}
			w.takePending()
			w.handle(&it)
		default:
			return true
		}
	}
	return true
}

func (w *writer) takePending() {
	p := &w.r.pending
	p.Lock()
	items := p.items
	p.items = nil
	p.Unlock()
	for i := range items {
		w.handle(&items[i])
	}
}

func (w *writer) handle(it *item) {
	w.r.queuedBytes.Add(-int64(len(it.data)))
	v := w.vm(it.vm)
	if it.kind == kindAlert {
		w.alert(v, it)
		return
	}
	switch it.mode {
	case All:
		w.write(v, it)
	case Alerts:
		if w.inWindow(v, it) {
			w.write(v, it)
		} else {
			w.ringPush(v, *it)
		}
	}
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
	a := alertRec{ID: it.alertID, VM: it.vm, FlowID: it.flowID, TS: it.ts}
	w.alerts[a.ID] = a
	w.appendAlert(a)
	if it.mode != Alerts {
		return
	}
	from := it.ts.Add(-w.r.opts.PreAlert)
	for i := v.ringHd; i < len(v.ring); i++ {
		if p := &v.ring[i]; !p.ts.Before(from) {
			w.write(v, p)
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

func (w *writer) write(v *vmState, it *item) {
	if !w.backoffUntil.IsZero() {
		if time.Now().Before(w.backoffUntil) {
			w.r.errs.Add(1)
			return
		}
		w.backoffUntil = time.Time{}
	}
	need := int64(12 + 20 + pad4(len(it.data)) + 4 + pad4(len(flowPrefix)+20) + 4)
	if s := v.seg; s != nil && s.meta.Packets > 0 && s.meta.Bytes+need > w.r.opts.SegmentBytes {
		w.closeSeg(v)
	}
	if v.seg == nil {
		if err := w.openSeg(v, it.ts); err != nil {
			w.r.errs.Add(1)
			w.fail(err)
			return
		}
	}
	s := v.seg
	id, ok := s.ifaces[it.iface]
	if !ok {
		id = uint32(len(s.ifaces))
		n, err := s.enc.interfaceDescription(it.iface, v.name)
		w.grow(s, int64(n))
		if err != nil {
			w.writeFailed(v, err, it)
			return
		}
		s.ifaces[it.iface] = id
	}
	n, err := s.enc.enhancedPacket(id, it.ts, it.flowID, it.data, it.origLen)
	w.grow(s, int64(n))
	if err != nil {
		w.writeFailed(v, err, it)
		return
	}
	m := s.meta
	if m.Packets == 0 || it.ts.Before(m.First) {
		m.First = it.ts
	}
	if it.ts.After(m.Last) {
		m.Last = it.ts
	}
	m.Packets++
	s.flows[it.flowID] = struct{}{}
	w.r.written.Add(1)
	if w.total > w.r.opts.BudgetBytes {
		w.enforceBudget()
	}
}

func (w *writer) grow(s *openSeg, n int64) {
	s.meta.Bytes += n
	w.total += n
	w.r.diskBytes.Store(w.total)
}

func (w *writer) writeFailed(v *vmState, err error, it *item) {
	w.r.errs.Add(1)
	w.fail(fmt.Errorf("recording %s: write segment %s (disk full?): %w", v.name, v.seg.meta.File, err))
	w.closeSeg(v)
}

func (w *writer) openSeg(v *vmState, ts time.Time) error {
	dir := filepath.Join(w.r.dir, v.dirName)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("recording %s: create %s: %w", v.name, dir, err)
	}
	for {
		name := fmt.Sprintf("%s-%d%s", ts.UTC().Format("20060102T150405"), v.seq, segExt)
		v.seq++
		path := filepath.Join(dir, name)
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("recording %s: create segment %s (disk full or not writable?): %w", v.name, path, err)
		}
		s := &openSeg{meta: &segMeta{VM: v.name, File: filepath.Join(v.dirName, name), open: true},
			f: f, bw: bufio.NewWriterSize(f, 64<<10), ifaces: map[string]uint32{}, flows: map[uint64]struct{}{}}
		s.enc.w = s.bw
		v.seg = s
		w.segs = append(w.segs, s.meta)
		w.r.segments.Store(int64(len(w.segs)))
		n, err := s.enc.sectionHeader()
		w.grow(s, int64(n))
		if err != nil {
			w.closeSeg(v)
			return fmt.Errorf("recording %s: write segment %s: %w", v.name, path, err)
		}
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
	if err := s.bw.Flush(); err != nil {
		w.fail(fmt.Errorf("recording %s: flush segment %s (disk full?): %w", v.name, s.meta.File, err))
	}
	if err := s.f.Close(); err != nil {
		w.fail(fmt.Errorf("recording %s: close segment %s: %w", v.name, s.meta.File, err))
	}
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
		if s := v.seg; s != nil && s.bw.Buffered() > 0 {
			if err := s.bw.Flush(); err != nil {
				w.r.errs.Add(1)
				w.fail(fmt.Errorf("recording %s: flush segment %s (disk full?): %w", v.name, s.meta.File, err))
				w.closeSeg(v)
			}
		}
	}
}

// housekeep applies mode changes the writer has not seen through packets:
// a VM turned Off closes its segment, one leaving Alerts frees its ring.
func (w *writer) housekeep() {
	ctl := *w.r.vms.Load()
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
