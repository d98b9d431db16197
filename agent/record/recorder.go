package record

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Mode is what a VM's packets are recorded for.
type Mode int32

const (
	Off    Mode = iota // nothing is recorded
	Alerts             // a pre-alert window is held in memory, written on alert
	All                // every packet is written
)

func (m Mode) String() string {
	switch m {
	case Off:
		return "off"
	case Alerts:
		return "alerts"
	case All:
		return "all"
	}
	return fmt.Sprintf("Mode(%d)", int32(m))
}

// ParseMode reads a mode as the config file and libvirt metadata spell it.
func ParseMode(s string) (Mode, error) {
	switch s {
	case "off", "":
		return Off, nil
	case "alerts":
		return Alerts, nil
	case "all":
		return All, nil
	}
	return Off, fmt.Errorf("recording mode %q: want off, alerts or all", s)
}

// Options bound the recorder. Zero values take the defaults noted.
type Options struct {
	SegmentBytes  int64         // a segment is closed when it reaches this; 0 = 64 MiB
	BudgetBytes   int64         // all segments of all VMs; 0 = 4 GiB
	PreAlert      time.Duration // Alerts mode: time held in memory; 0 = 30 s
	PreAlertBytes int           // Alerts mode: memory per VM for that window; 0 = 8 MiB
	PostAlert     time.Duration // Alerts mode: the alerting flow is written this long after; 0 = 10 s
	QueueLen      int           // packets between Packet and the writer; 0 = 8192
	// QueueBytes bounds the packet bytes queued, since GSO frames from
	// virtio reach 64 KiB; 0 = 64 MiB.
	QueueBytes int64

	// FlushEvery bounds how long written packets may sit in memory
	// buffers, and how soon a mode change frees a ring or closes a
	// segment; 0 = 1 s.
	FlushEvery time.Duration
	// ErrorBackoff is how long the writer stops trying after a write fails
	// (a full disk), counting packets as errors meanwhile; 0 = 1 s.
	ErrorBackoff time.Duration
}

func (o *Options) defaults() error {
	if o.SegmentBytes <= 0 {
		o.SegmentBytes = 64 << 20
	}
	if o.BudgetBytes <= 0 {
		o.BudgetBytes = 4 << 30
	}
	if o.PreAlert <= 0 {
		o.PreAlert = 30 * time.Second
	}
	if o.PreAlertBytes <= 0 {
		o.PreAlertBytes = 8 << 20
	}
	if o.PostAlert <= 0 {
		o.PostAlert = 10 * time.Second
	}
	if o.QueueLen <= 0 {
		o.QueueLen = 8192
	}
	if o.QueueBytes <= 0 {
		o.QueueBytes = 64 << 20
	}
	if o.FlushEvery <= 0 {
		o.FlushEvery = time.Second
	}
	if o.ErrorBackoff <= 0 {
		o.ErrorBackoff = time.Second
	}
	if o.SegmentBytes < 4096 {
		return fmt.Errorf("recording: segment size %d bytes is too small: use at least 4096", o.SegmentBytes)
	}
	if o.BudgetBytes < 2*o.SegmentBytes {
		return fmt.Errorf("recording: budget %d bytes is below two segments of %d: raise the budget or shrink segments", o.BudgetBytes, o.SegmentBytes)
	}
	return nil
}

// Stats are the recorder's counters since New (Segments, DiskBytes: now).
type Stats struct {
	Written         uint64 // packets written to segments
	Dropped         uint64 // packets refused: queue full or recorder closed
	Errors          uint64 // packets lost to failed writes
	AlertsDropped   uint64 // alerts lost: too many waiting for the writer, or the recorder closed
	DeletedSegments uint64 // segments removed to stay within the budget
	Segments        int64
	DiskBytes       int64
	LastError       string
	DroppedByVM     map[string]uint64 // VMs with drops only
}

type vmCtl struct {
	name    string
	idx     uint32 // in vmTable.byIdx, how queued records name the VM
	mode    atomic.Int32
	dropped atomic.Uint64

	// st is the VM's writer state, cached so the writer does not look the
	// VM up by name per packet. Only the writer goroutine touches it.
	st *vmState
}

const (
	kindPacket = iota
	kindAlert
)

// item is a packet held in an Alerts-mode ring, or an alert, as the writer
// handles it.
type item struct {
	mode    Mode
	iface   string
	ts      time.Time
	flowID  uint64
	data    []byte
	origLen int
	alertID string
}

// A queued packet or alert is a record in its batch's arena: a header,
// the interface name (an alert's ID), the packet bytes, padding to 8
// bytes. Records hold no pointers, so queueing one allocates nothing,
// writes nothing the garbage collector tracks, and the writer reads the
// queue as one sequential stream.
const recHeader = 32

// rec is a record's header.
type rec struct {
	ns      int64 // time in Unix nanoseconds
	flowID  uint64
	origLen uint32
	n       uint32 // packet bytes
	vm      uint32 // vmCtl.idx
	nameLen uint16
	kind    uint8
	mode    uint8
}

// maxRecName bounds the names a record holds; interface names are 15
// bytes, alert IDs short.
const maxRecName = 1<<16 - 1

func recSize(nameLen, n int) int { return recHeader + (nameLen+n+7)&^7 }

func (h rec) put(b []byte) {
	_ = b[recHeader-1]
	le.PutUint64(b[0:], uint64(h.ns))
	le.PutUint64(b[8:], h.flowID)
	le.PutUint32(b[16:], h.origLen)
	le.PutUint32(b[20:], h.n)
	le.PutUint32(b[24:], h.vm)
	le.PutUint16(b[28:], h.nameLen)
	b[30], b[31] = h.kind, h.mode
}

func (h *rec) get(b []byte) {
	_ = b[recHeader-1]
	h.ns = int64(le.Uint64(b[0:]))
	h.flowID = le.Uint64(b[8:])
	h.origLen = le.Uint32(b[16:])
	h.n = le.Uint32(b[20:])
	h.vm = le.Uint32(b[24:])
	h.nameLen = le.Uint16(b[28:])
	h.kind, h.mode = b[30], b[31]
}

// batch is a run of queued records. Batches are recycled, so at a steady
// rate the hand-off allocates nothing.
type batch struct {
	data         []byte
	pkts, alerts int
	bytes        int64 // packet bytes, as QueueBytes counts them
}

// add appends a record to b, which has room for it. h goes by value: in
// registers, not through memory just written field by field.
func (b *batch) add(h rec, name string, data []byte) {
	off := len(b.data)
	size := recSize(int(h.nameLen), len(data))
	b.data = b.data[:off+size]
	h.put(b.data[off:])
	copy(b.data[off+recHeader:], name[:h.nameLen])
	copy(b.data[off+recHeader+int(h.nameLen):], data)
}

// A batch goes to the writer when it holds batchPackets packets or its
// arena of batchBytes is full: one wake-up of the writer per batch rather
// than per packet, and arenas small enough to stay in cache.
const (
	batchPackets = 512
	batchBytes   = 64 << 10
)

// queue hands records from Packet and Alert to the writer in the order
// they were made, a batch at a time. One mutex keeps that order across
// producers (an export's packet order depends on it); what it guards is
// short (copying one packet), so it costs far less than the channel
// operation and allocation per packet it replaces.
type queue struct {
	mu   sync.Mutex
	cur  *batch   // filling
	full []*batch // waiting for the writer, oldest first
	// free holds handled batches for reuse. How many a backlog needs
	// depends on packet sizes (a batch of jumbo frames holds few), so a
	// pool, which the garbage collector trims, rather than a fixed list.
	free   sync.Pool
	pkts   int   // queued packets (QueueLen bounds them)
	bytes  int64 // their bytes (QueueBytes bounds them)
	alerts int
	closed bool
	// waiting is set while the writer waits for a kick: a full batch
	// must wake it. A writer that found work looks again unasked, so
	// producers then spare the channel operation.
	waiting bool
	// idle is set when the writer waits with nothing queued and no timer
	// of its own: the next record must wake it, or it would sit in cur
	// until the ticker.
	idle bool
}

// kickWriter wakes the writer without waiting: a wake-up already pending
// covers this one too.
func (r *Recorder) kickWriter() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// curBatch returns the batch to append a record of size bytes to, sealing
// the current one when its arena lacks room: arenas never grow (but for a
// record larger than an arena), so appending never copies an arena. q.mu
// is held.
func (q *queue) curBatch(size int) *batch {
	if b := q.cur; b != nil && len(b.data) > 0 && len(b.data)+size > cap(b.data) {
		q.seal()
	}
	if q.cur == nil {
		b, _ := q.free.Get().(*batch)
		if b == nil {
			b = &batch{data: make([]byte, 0, batchBytes)}
		}
		q.cur = b
	}
	if b := q.cur; len(b.data)+size > cap(b.data) {
		b.data = slices.Grow(b.data, size)
	}
	return q.cur
}

// seal moves cur to the writer's list. q.mu is held.
func (q *queue) seal() {
	if q.cur != nil && len(q.cur.data) > 0 {
		q.full = append(q.full, q.cur)
		q.cur = nil
	}
}

// take moves the batches waiting for the writer into bs: the full ones,
// and the filling one when partial is set or the queue is closing. pending
// reports a filling batch left behind. Taking nothing, the writer will
// wait; timer says it will look again soon unasked even so.
func (q *queue) take(bs []*batch, partial, timer bool) (_ []*batch, tookPartial, pending, closed bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	bs = append(bs, q.full...)
	clear(q.full)
	q.full = q.full[:0]
	if q.cur != nil && len(q.cur.data) > 0 && (partial || q.closed) {
		bs = append(bs, q.cur)
		q.cur = nil
		tookPartial = true
	}
	pending = q.cur != nil && len(q.cur.data) > 0
	q.waiting = len(bs) == 0
	q.idle = q.waiting && !pending && !timer
	return bs, tookPartial, pending, q.closed
}

// release frees b's share of the queue bounds as the writer starts on it.
func (q *queue) release(b *batch) {
	q.mu.Lock()
	q.pkts -= b.pkts
	q.bytes -= b.bytes
	q.alerts -= b.alerts
	q.mu.Unlock()
}

// recycle returns a handled batch for reuse.
func (q *queue) recycle(b *batch) {
	b.data, b.pkts, b.alerts, b.bytes = b.data[:0], 0, 0, 0
	if cap(b.data) == batchBytes { // not one grown for a record larger than an arena
		q.free.Put(b)
	}
}

// Recorder records packets per VM. All methods are safe for concurrent use.
type Recorder struct {
	// Read by every Packet, written rarely.
	dir     string
	opts    Options
	vms     atomic.Pointer[vmTable]
	kick    chan struct{} // wakes the writer: a batch is full or the queue was idle
	snapReq chan snapRequest
	done    chan struct{}
	hold    func()  // tests: called by the writer before each queued record
	w       *writer // owned by the writer goroutine after New

	// The queue's lock is written by every Packet on every CPU: apart
	// from the fields above, or each Packet would miss on them too.
	_ [cacheLine]byte
	q queue
	_ [cacheLine]byte

	modeMu sync.Mutex // serialises SetMode's copy-on-write of vms
	final  *snapshot  // the index as Close left it, for Export after Close

	written, dropped, errs, alertsDropped, deleted atomic.Uint64
	segments, diskBytes                            atomic.Int64
	lastErr                                        atomic.Pointer[string]
}

// cacheLine pads apart fields that different CPUs write. 128 bytes: x86
// CPUs fetch lines in adjacent pairs.
const cacheLine = 128

// maxQueuedAlerts bounds the alerts waiting for the writer; they are not
// bound by QueueLen, since an alert is worth more than a packet.
const maxQueuedAlerts = 1024

// New opens the recording directory dir, loads (and repairs) its index and
// starts the writer. Every VM starts in mode Off.
func New(dir string, opts Options) (*Recorder, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("recording directory %s: %w", dir, err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("recording directory %s: %w", dir, err)
	}
	r := &Recorder{dir: abs, opts: opts, kick: make(chan struct{}, 1),
		snapReq: make(chan snapRequest), done: make(chan struct{})}
	r.q.idle, r.q.waiting = true, true
	r.vms.Store(&vmTable{byName: map[string]*vmCtl{}})
	r.w = newWriter(r)
	if err := r.w.load(); err != nil {
		return nil, err
	}
	r.w.enforceBudget()
	go r.w.run()
	return r, nil
}

// vmTable is the VMs the recorder knows, replaced whole when one is added
// so Packet reads it without a lock.
type vmTable struct {
	byName map[string]*vmCtl
	byIdx  []*vmCtl // by vmCtl.idx
	// Every Packet reads the table: padding keeps it clear of objects the
	// allocator might put beside it that other CPUs write.
	_ [cacheLine - 32]byte
}

// SetMode sets what is recorded for vm from now on.
func (r *Recorder) SetMode(vm string, m Mode) {
	r.modeMu.Lock()
	defer r.modeMu.Unlock()
	old := r.vms.Load()
	if c, ok := old.byName[vm]; ok {
		c.mode.Store(int32(m))
		return
	}
	c := &vmCtl{name: vm, idx: uint32(len(old.byIdx))}
	c.mode.Store(int32(m))
	next := &vmTable{byName: make(map[string]*vmCtl, len(old.byName)+1), byIdx: append(old.byIdx[:len(old.byIdx):len(old.byIdx)], c)}
	for k, v := range old.byName {
		next.byName[k] = v
	}
	next.byName[vm] = c
	r.vms.Store(next)
}

// Mode returns vm's mode.
func (r *Recorder) Mode(vm string) Mode {
	if c := r.vms.Load().byName[vm]; c != nil {
		return Mode(c.mode.Load())
	}
	return Off
}

// Packet records one packet vm sent or received on iface (its tap). It
// copies data and never blocks; it returns false when the packet was
// dropped (queue full, counted) and also, without counting, when vm's mode
// is Off.
func (r *Recorder) Packet(vm, iface string, ts time.Time, flowID uint64, data []byte, origLen int) bool {
	c := r.vms.Load().byName[vm]
	if c == nil {
		return false
	}
	m := Mode(c.mode.Load())
	if m == Off {
		return false
	}
	h := rec{ns: ts.UnixNano(), flowID: flowID, origLen: uint32(max(origLen, 0)), n: uint32(len(data)),
		vm: c.idx, nameLen: uint16(min(len(iface), maxRecName)), kind: kindPacket, mode: uint8(m)}
	size := recSize(int(h.nameLen), len(data))
	q := &r.q
	q.mu.Lock()
	if q.closed || q.pkts >= r.opts.QueueLen || q.bytes+int64(len(data)) > r.opts.QueueBytes {
		q.mu.Unlock()
		c.dropped.Add(1)
		r.dropped.Add(1)
		return false
	}
	sealed := len(q.full)
	b := q.curBatch(size)
	b.add(h, iface, data)
	b.pkts++
	b.bytes += int64(len(data))
	q.pkts++
	q.bytes += int64(len(data))
	if b.pkts >= batchPackets {
		q.seal()
	}
	// Wake a waiting writer for a full batch, or for the first record
	// after it left the queue empty.
	kick := q.idle || q.waiting && len(q.full) > sealed
	if kick {
		q.idle, q.waiting = false, false
	}
	q.mu.Unlock()
	if kick {
		r.kickWriter()
	}
	return true
}

// Alert tells the recorder that alertID fired on flowID of vm at ts. In
// Alerts mode the VM's pre-alert window is written and flowID's packets are
// written for PostAlert; in All mode the alert is only indexed, so Export
// can select by it. It never blocks.
func (r *Recorder) Alert(vm, alertID string, flowID uint64, ts time.Time) bool {
	c := r.vms.Load().byName[vm]
	if c == nil {
		return false
	}
	m := Mode(c.mode.Load())
	if m == Off {
		return false
	}
	q := &r.q
	q.mu.Lock()
	// An alert is worth more than a packet: a queue full of packets does
	// not refuse it.
	if q.closed || q.alerts >= maxQueuedAlerts {
		q.mu.Unlock()
		r.alertsDropped.Add(1)
		return false
	}
	h := rec{ns: ts.UnixNano(), flowID: flowID, vm: c.idx, nameLen: uint16(min(len(alertID), maxRecName)),
		kind: kindAlert, mode: uint8(m)}
	b := q.curBatch(recSize(int(h.nameLen), 0))
	b.add(h, alertID, nil)
	b.alerts++
	q.alerts++
	// The batch goes now, so an Alerts-mode window is written promptly;
	// the packets before the alert go with it, in order.
	q.seal()
	kick := q.waiting
	q.idle, q.waiting = false, false
	q.mu.Unlock()
	if kick {
		r.kickWriter()
	}
	return true
}

// Close writes what is queued, closes the segments (indexing them) and
// stops the writer.
func (r *Recorder) Close() error {
	q := &r.q
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		<-r.done
		return nil
	}
	q.closed = true
	q.seal()
	q.mu.Unlock()
	r.kickWriter()
	<-r.done
	return r.w.closeErr
}

// Stats returns the counters.
func (r *Recorder) Stats() Stats {
	st := Stats{Written: r.written.Load(), Dropped: r.dropped.Load(), Errors: r.errs.Load(),
		AlertsDropped: r.alertsDropped.Load(), DeletedSegments: r.deleted.Load(),
		Segments: r.segments.Load(), DiskBytes: r.diskBytes.Load()}
	if e := r.lastErr.Load(); e != nil {
		st.LastError = *e
	}
	for vm, c := range r.vms.Load().byName {
		if d := c.dropped.Load(); d > 0 {
			if st.DroppedByVM == nil {
				st.DroppedByVM = map[string]uint64{}
			}
			st.DroppedByVM[vm] = d
		}
	}
	return st
}

func (r *Recorder) fail(err error) {
	msg := err.Error()
	r.lastErr.Store(&msg)
}
