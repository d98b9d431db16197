package agent

import (
	"context"
	"sync"
	"sync/atomic"
)

// hub keeps the recent alert lines and fans new ones out to `tapwatch
// alerts -f` followers. A follower that cannot keep up loses lines (counted),
// never slows detection.
type hub struct {
	mu      sync.Mutex
	recent  []hubLine
	next    int
	subs    map[*hubSub]struct{}
	dropped atomic.Uint64
}

type hubLine struct {
	line []byte
	vms  []string
}

type hubSub struct {
	vm string
	ch chan []byte
}

const hubRecent = 1000

func newHub() *hub { return &hub{subs: map[*hubSub]struct{}{}} }

func involves(vms []string, vm string) bool {
	if vm == "" {
		return true
	}
	for _, v := range vms {
		if v == vm {
			return true
		}
	}
	return false
}

// publish records line (an EVE alert) involving the named VMs.
func (h *hub) publish(line []byte, vms []string) {
	l := hubLine{line: append([]byte(nil), line...), vms: vms}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.recent) < hubRecent {
		h.recent = append(h.recent, l)
	} else {
		h.recent[h.next] = l
		h.next = (h.next + 1) % hubRecent
	}
	for s := range h.subs {
		if !involves(vms, s.vm) {
			continue
		}
		select {
		case s.ch <- l.line:
		default:
			h.dropped.Add(1)
		}
	}
}

// snapshot returns recent lines for vm and, when follow is set, a channel of
// new ones that closes when ctx ends.
func (h *hub) snapshot(ctx context.Context, vm string, follow bool) ([][]byte, <-chan []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out [][]byte
	n := len(h.recent)
	for i := 0; i < n; i++ {
		l := h.recent[(h.next+i)%n]
		if involves(l.vms, vm) {
			out = append(out, l.line)
		}
	}
	if !follow {
		return out, nil
	}
	s := &hubSub{vm: vm, ch: make(chan []byte, 256)}
	h.subs[s] = struct{}{}
	go func() {
		<-ctx.Done()
		h.mu.Lock()
		delete(h.subs, s)
		close(s.ch)
		h.mu.Unlock()
	}()
	return out, s.ch
}
