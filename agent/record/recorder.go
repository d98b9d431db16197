package record

import (
	"fmt"
	"os"
	"path/filepath"
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
	AlertsDropped   uint64 // alerts lost because the queue and the overflow were full
	DeletedSegments uint64 // segments removed to stay within the budget
	Segments        int64
	DiskBytes       int64
	LastError       string
	DroppedByVM     map[string]uint64 // VMs with drops only
}

type vmCtl struct {
	mode    atomic.Int32
	dropped atomic.Uint64
}

const (
	kindPacket = iota
	kindAlert
)

// item is one unit of work for the writer. Packets and alerts share one
// queue so an alert is handled after the packets that preceded it.
type item struct {
	kind    uint8
	mode    Mode
	vm      string
	iface   string
	ts      time.Time
	flowID  uint64
	data    []byte
	origLen int
	alertID string
}

// Recorder records packets per VM. All methods are safe for concurrent use.
type Recorder struct {
	dir  string
	opts Options

	modeMu sync.Mutex // serialises SetMode's copy-on-write of vms
	vms    atomic.Pointer[map[string]*vmCtl]

	mu      sync.RWMutex // guards closed against a send racing close(queue)
	closed  bool
	queue   chan item
	pending struct { // alerts that found the queue full
		sync.Mutex
		items []item
	}
	snapReq chan snapRequest
	done    chan struct{}
	final   *snapshot // the index as Close left it, for Export after Close

	hold func() // tests: called by the writer before each queued item

	written, dropped, errs, alertsDropped, deleted atomic.Uint64
	segments, diskBytes, queuedBytes               atomic.Int64
	lastErr                                        atomic.Pointer[string]

	w *writer // owned by the writer goroutine after New
}

const maxPendingAlerts = 1024

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
	r := &Recorder{dir: abs, opts: opts, queue: make(chan item, opts.QueueLen),
		snapReq: make(chan snapRequest), done: make(chan struct{})}
	r.vms.Store(&map[string]*vmCtl{})
	r.w = newWriter(r)
	if err := r.w.load(); err != nil {
		return nil, err
	}
	r.w.enforceBudget()
	go r.w.run()
	return r, nil
}

// SetMode sets what is recorded for vm from now on.
func (r *Recorder) SetMode(vm string, m Mode) {
	r.modeMu.Lock()
	defer r.modeMu.Unlock()
	old := *r.vms.Load()
	if c, ok := old[vm]; ok {
		c.mode.Store(int32(m))
		return
	}
	next := make(map[string]*vmCtl, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	c := &vmCtl{}
	c.mode.Store(int32(m))
	next[vm] = c
	r.vms.Store(&next)
}

// Mode returns vm's mode.
func (r *Recorder) Mode(vm string) Mode {
	if c := (*r.vms.Load())[vm]; c != nil {
		return Mode(c.mode.Load())
	}
	return Off
}

// Packet records one packet vm sent or received on iface (its tap). It
// copies data and never blocks; it returns false when the packet was
// dropped (queue full, counted) and also, without counting, when vm's mode
// is Off.
func (r *Recorder) Packet(vm, iface string, ts time.Time, flowID uint64, data []byte, origLen int) bool {
	c := (*r.vms.Load())[vm]
	if c == nil {
		return false
	}
	m := Mode(c.mode.Load())
	if m == Off {
		return false
	}
	r.mu.RLock()
	// Checking for room first spares the copy when it would be dropped.
	if !r.closed && len(r.queue) < cap(r.queue) && r.queuedBytes.Load()+int64(len(data)) <= r.opts.QueueBytes {
		it := item{kind: kindPacket, mode: m, vm: vm, iface: iface, ts: ts, flowID: flowID,
			data: append([]byte(nil), data...), origLen: origLen}
		r.queuedBytes.Add(int64(len(data)))
		select {
		case r.queue <- it:
			r.mu.RUnlock()
			return true
		default:
			r.queuedBytes.Add(-int64(len(data)))
		}
	}
	r.mu.RUnlock()
	c.dropped.Add(1)
	r.dropped.Add(1)
	return false
}

// Alert tells the recorder that alertID fired on flowID of vm at ts. In
// Alerts mode the VM's pre-alert window is written and flowID's packets are
// written for PostAlert; in All mode the alert is only indexed, so Export
// can select by it. It never blocks.
func (r *Recorder) Alert(vm, alertID string, flowID uint64, ts time.Time) bool {
	m := r.Mode(vm)
	if m == Off {
		return false
	}
	it := item{kind: kindAlert, mode: m, vm: vm, ts: ts, flowID: flowID, alertID: alertID}
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.closed {
		r.alertsDropped.Add(1)
		return false
	}
	select {
	case r.queue <- it:
		return true
	default:
	}
	// An alert is worth more than a packet: keep it aside for the writer.
	// It may then be handled before packets still queued ahead of it; the
	// writer writes such stragglers (older than the alert) anyway.
	r.pending.Lock()
	defer r.pending.Unlock()
	if len(r.pending.items) >= maxPendingAlerts {
		r.alertsDropped.Add(1)
		return false
	}
	r.pending.items = append(r.pending.items, it)
	return true
}

// Close writes what is queued, closes the segments (indexing them) and
// stops the writer.
func (r *Recorder) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	close(r.queue)
	r.mu.Unlock()
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
	for vm, c := range *r.vms.Load() {
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
