package pipeline

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/tapwatch/tapwatch/rules/decode"
	"github.com/tapwatch/tapwatch/rules/detect"
	"github.com/tapwatch/tapwatch/rules/flow"
)

// Frame is one captured frame and where it was seen.
type Frame struct {
	Data      []byte
	Timestamp time.Time
	Ifindex   uint32
	Iface     string // interface name of the hook
	FromVM    bool   // seen at a tap's ingress: the VM behind it sent it
	Zone      uint32 // bridge or VLAN
	OrigLen   int
}

// Handler receives what the workers find. Its methods run on worker
// goroutines, concurrently.
type Handler interface {
	// Frame sees every frame after detection (hypervisor checks, recording),
	// with its flow (nil for frames without one).
	Frame(fr *Frame, p *decode.Packet, f *flow.Flow)
	// Alert reports an alert and the frame that raised it.
	Alert(a *detect.Alert, fr *Frame)
	// FlowEnd reports a flow the worker retired, for flow records. The flow
	// must not be kept after the call.
	FlowEnd(f *flow.Flow, reason flow.EndReason)
}

// NameRecorder is a Handler that keeps each flow's application-layer names
// (flow.Flow.Names, read in FlowEnd: HTTP, TLS, DNS and SSH names for a VM's
// profile). When RecordNames says so the workers' engines record them
// (detect.Worker.SetRecordNames); other Handlers do not pay for them.
type NameRecorder interface {
	RecordNames() bool
}

// Stats counts pipeline activity.
type Stats struct {
	Frames, Bytes, Alerts, Malformed uint64
	Decode                           map[string]uint64
	// DetectTime is the time the workers spent in the detection engine.
	DetectTime time.Duration
	// StateDrops is what the running engine dropped at its state caps
	// (since it was loaded).
	StateDrops detect.StateDrops
}

// Pipeline fans frames out to workers.
type Pipeline struct {
	h       Handler
	shard   Sharder
	workers []*worker
	wg      sync.WaitGroup
	engine  atomic.Pointer[detect.Engine]
	frames  sync.Pool // *Frame with its buffer, reused across submissions
}

type worker struct {
	in     chan *Frame
	dec    *decode.Decoder
	det    *detect.Worker
	eng    *detect.Engine
	frames atomic.Uint64
	bytes  atomic.Uint64
	alerts atomic.Uint64
	bad    atomic.Uint64
	detect atomic.Int64 // ns spent in the engine

	// decStats is a copy of the decoder's counters the worker publishes
	// every statsEvery frames, so Stats never touches the live decoder.
	mu       sync.Mutex
	decStats decode.Stats
}

// statsEvery is how often (in frames) a worker publishes decoder counters.
const statsEvery = 1024

// queueLen bounds each worker's backlog; a full queue blocks the reader so
// loss happens in the kernel ring, where it is counted per hook.
const queueLen = 4096

// New starts n workers (n <= 0: one) running eng.
func New(eng *detect.Engine, n int, h Handler) *Pipeline {
	if n <= 0 {
		n = 1
	}
	p := &Pipeline{h: h, shard: NewSharder(n)}
	p.engine.Store(eng)
	for i := 0; i < n; i++ {
		w := &worker{in: make(chan *Frame, queueLen), dec: decode.NewDecoder(decode.Config{})}
		p.workers = append(p.workers, w)
		p.wg.Add(1)
		go p.run(w)
	}
	return p
}

// Swap makes the workers use eng from their next frame on. Flow state of the
// old engine is dropped: a reload starts flows afresh, as Suricata's does not
// but as is safe for a swap that must never block detection.
func (p *Pipeline) Swap(eng *detect.Engine) { p.engine.Store(eng) }

// NewFrame returns a Frame whose Data holds a copy of data, from a pool the
// workers refill, so the reader does not allocate per frame.
func (p *Pipeline) NewFrame(data []byte) *Frame {
	fr, _ := p.frames.Get().(*Frame)
	if fr == nil {
		fr = &Frame{}
	}
	buf := fr.Data[:0]
	*fr = Frame{Data: append(buf, data...)}
	return fr
}

// Submit hands fr to the worker owning its flow. fr.Data must not be reused
// by the caller afterwards; a Frame from NewFrame goes back to the pool once
// the worker is done with it.
func (p *Pipeline) Submit(fr *Frame) {
	w := p.workers[p.shard.WorkerInZone(decode.LinkEthernet, fr.Data, fr.Zone)]
	w.in <- fr
}

// Close drains the queues, flushes every flow and stops the workers.
func (p *Pipeline) Close() {
	for _, w := range p.workers {
		close(w.in)
	}
	p.wg.Wait()
}

func (p *Pipeline) run(w *worker) {
	defer p.wg.Done()
	insp := NewInspector(w.dec)
	// idle stands for "no frame": alerts raised at flow timeout or flush.
	idle := &Frame{}
	cur := idle
	emit := func(a *detect.Alert) {
		w.alerts.Add(1)
		p.h.Alert(a, cur)
	}
	// Flows end on the wall clock too: a quiet host sends no packet to
	// retire the flows that went idle, and their records would wait.
	tick := time.NewTicker(tickEvery)
	defer tick.Stop()
	for {
		var fr *Frame
		select {
		case f, ok := <-w.in:
			if !ok {
				if w.det != nil {
					w.det.Flush(emit, p.h.FlowEnd)
				}
				w.publishStats()
				return
			}
			fr = f
		case now := <-tick.C:
			if w.det != nil {
				w.det.Tick(now, emit)
			}
			continue
		}
		if eng := p.engine.Load(); eng != w.eng {
			if w.det != nil {
				w.det.Flush(emit, p.h.FlowEnd)
			}
			w.eng, w.det = eng, eng.NewWorker()
			w.det.SetFlowEnd(p.h.FlowEnd)
			if r, ok := p.h.(NameRecorder); ok && r.RecordNames() {
				w.det.SetRecordNames(true)
			}
		}
		cur = fr
		n := w.frames.Add(1)
		w.bytes.Add(uint64(len(fr.Data)))
		pkt, ok := insp.Decode(decode.LinkEthernet, fr.Data, fr.Timestamp, 0, fr.OrigLen)
		if !ok {
			w.bad.Add(1)
		}
		t0 := time.Now()
		insp.Run(w.det, fr.Zone, emit)
		w.detect.Add(int64(time.Since(t0)))
		p.h.Frame(fr, pkt, w.det.LastFlow())
		if n%statsEvery == 0 {
			w.publishStats()
		}
		// Alerts raised later (flow timeouts, flush) must not see a reused frame.
		cur = idle
		p.frames.Put(fr)
	}
}

// tickEvery is how often a worker retires idle flows when no packet does.
const tickEvery = time.Second

func (w *worker) publishStats() {
	st := w.dec.Stats()
	w.mu.Lock()
	w.decStats = st
	w.mu.Unlock()
}

// Stats sums the workers' counters.
func (p *Pipeline) Stats() Stats {
	s := Stats{Decode: map[string]uint64{}}
	for _, w := range p.workers {
		s.Frames += w.frames.Load()
		s.Bytes += w.bytes.Load()
		s.Alerts += w.alerts.Load()
		s.Malformed += w.bad.Load()
		s.DetectTime += time.Duration(w.detect.Load())
		w.mu.Lock()
		st := w.decStats
		w.mu.Unlock()
		for k, v := range st.ByReason() {
			s.Decode[k] += v
		}
	}
	if e := p.engine.Load(); e != nil {
		s.StateDrops = e.StateDrops()
	}
	return s
}
