package detect

import (
	"sync"
	"sync/atomic"
	"time"
)

// hostState is the detection state kept per host or pair of hosts rather
// than per flow: threshold and detection_filter counters (threshold.go)
// and xbits (xbits.go). Suricata keeps it in host and IP-pair tables, one
// per process, shared by its threads; an Engine keeps one for its Workers,
// because the pipeline shards flows over workers by 5-tuple and the flows
// of one host land on several: a port scan counted per worker would need
// its threshold reached on each of them. The lock is taken only when a
// rule with a threshold or xbits is evaluated, and once a second to
// forget what expired.
type hostState struct {
	mu     sync.Mutex
	thresh map[threshKey]*threshState
	xbits  xbitState
	// evictedThresh counts counters dropped to stay under threshMax.
	evictedThresh uint64
	swept         time.Time // packet time of the last sweep
	// fintDrops counts flowint changes dropped under flowintsMax, by any
	// Worker (flowint.go).
	fintDrops atomic.Uint64
}

// StateDrops counts per-host and per-flow state the engine dropped to
// stay within its caps: what a rule depending on it may then miss.
type StateDrops struct {
	Thresholds uint64 // threshold/detection_filter counters (threshMax)
	Xbits      uint64 // xbits (xbitsMax)
	Flowints   uint64 // flowint changes (flowintsMax per flow)
}

// StateDrops reports what the engine's Workers have dropped so far.
func (e *Engine) StateDrops() StateDrops {
	h := e.hosts
	h.mu.Lock()
	defer h.mu.Unlock()
	return StateDrops{Thresholds: h.evictedThresh, Xbits: h.xbits.evicted, Flowints: h.fintDrops.Load()}
}

// threshMax caps the threshold counters held (tens of bytes each, plus a
// port set for unique_on): a scan from many sources cannot grow the table
// without bound.
const threshMax = 1 << 16

// sweep forgets the threshold counters whose window ended and the xbits
// that expired by now; every Worker calls it each second of its packet
// time, and the first one of each second does the work.
func (h *hostState) sweep(now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if now.Sub(h.swept) >= time.Second {
		h.sweepLocked(now)
	}
}

func (h *hostState) sweepLocked(now time.Time) {
	h.swept = now
	for k, st := range h.thresh {
		if st.window > 0 && now.Sub(st.start) >= st.window {
			delete(h.thresh, k)
		}
	}
	h.xbits.sweep(now)
}
