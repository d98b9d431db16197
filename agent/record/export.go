package record

import (
	"bufio"
	"container/heap"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/tapwatch/tapwatch/agent/record/pcapfilter"
)

// Query selects recorded packets; zero fields do not filter. AlertID
// selects what the alert recorded: the VM's packets of the PreAlert window
// before it and the alerting flow's packets for PostAlert after it; other
// fields narrow that further. Filter is a pcap-filter(7) expression
// (tcpdump's syntax) each packet must match.
type Query struct {
	VM           string
	Since, Until time.Time
	FlowID       uint64
	AlertID      string
	Filter       string `json:",omitempty"`
}

type snapRequest struct {
	alertID string
	reply   chan *snapshot
}

// snapshot is the index as Export needs it: copies, so the writer may go
// on. An open segment is listed with the bytes flushed so far.
type snapshot struct {
	segs  []segMeta
	alert *alertRec
}

func (w *writer) snapshot(alertID string) *snapshot {
	s := &snapshot{segs: make([]segMeta, 0, len(w.segs))}
	for _, m := range w.segs {
		c := *m
		if c.open {
			// Only flushed bytes are safe to read, and the flow set is
			// not built until close.
			c.Flows = nil
		}
		s.segs = append(s.segs, c)
	}
	if a, ok := w.alerts[alertID]; ok {
		s.alert = &a
	}
	return s
}

func (r *Recorder) snapshot(ctx context.Context, alertID string) (*snapshot, error) {
	req := snapRequest{alertID: alertID, reply: make(chan *snapshot, 1)}
	select {
	case r.snapReq <- req:
		select {
		case s := <-req.reply:
			return s, nil
		case <-ctx.Done():
			return nil, fmt.Errorf("recording: export: waiting for the writer: %w", ctx.Err())
		}
	case <-r.done:
		s := *r.final
		if a, ok := r.w.alerts[alertID]; ok {
			s.alert = &a
		}
		return &s, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("recording: export: waiting for the writer (disk slow?): %w", ctx.Err())
	}
}

// ErrUnknownAlert is wrapped by Export when the alert was never recorded
// (its VM was Off) or its index entry is gone.
var ErrUnknownAlert = errors.New("alert not recorded")

// Export writes the packets q selects to w as one pcapng stream in time
// order, and returns how many it wrote. It reads segments while the writer
// goes on; a segment the budget deletes meanwhile is skipped. A Filter
// libpcap refuses is an error wrapping *pcapfilter.Error, returned before
// anything is written.
func (r *Recorder) Export(ctx context.Context, q Query, w io.Writer) (int, error) {
	var filter *pcapfilter.Filter
	if q.Filter != "" {
		f, err := pcapfilter.Compile(q.Filter)
		if err != nil {
			return 0, fmt.Errorf("recording: export: %w", err)
		}
		filter = f
	}
	snap, err := r.snapshot(ctx, q.AlertID)
	if err != nil {
		return 0, err
	}
	since, until := q.Since, q.Until
	match := func(p *recPacket) bool { return true }
	vm := q.VM
	if q.AlertID != "" {
		a := snap.alert
		if a == nil {
			return 0, fmt.Errorf("recording: export alert %s: %w (was the VM's recording mode off?)", q.AlertID, ErrUnknownAlert)
		}
		if vm != "" && vm != a.VM {
			return 0, nil
		}
		vm = a.VM
		from, to := a.TS.Add(-r.opts.PreAlert), a.TS.Add(r.opts.PostAlert)
		if since.IsZero() || since.Before(from) {
			since = from
		}
		if until.IsZero() || until.After(to) {
			until = to
		}
		match = func(p *recPacket) bool { return !p.ts.After(a.TS) || p.flowID == a.FlowID }
	}
	var segs []segMeta
	for _, m := range snap.segs {
		if vm != "" && m.VM != vm {
			continue
		}
		if m.Packets > 0 && (!since.IsZero() && m.Last.Before(since) || !until.IsZero() && m.First.After(until)) {
			continue
		}
		if q.FlowID != 0 && !m.hasFlow(q.FlowID) {
			continue
		}
		segs = append(segs, m)
	}
	slices.SortStableFunc(segs, func(a, b segMeta) int { return a.First.Compare(b.First) })

	// One cursor per VM: a VM's segments follow each other in time, and a
	// merge across VMs puts the export in time order.
	var curs []*cursor
	byVM := map[string]*cursor{}
	for _, m := range segs {
		c := byVM[m.VM]
		if c == nil {
			c = &cursor{dir: r.dir}
			byVM[m.VM] = c
			curs = append(curs, c)
		}
		c.segs = append(c.segs, m)
	}
	defer func() {
		for _, c := range curs {
			c.close()
		}
	}()
	keep := func(p *recPacket) bool {
		return (vm == "" || p.vm == vm) && (q.FlowID == 0 || p.flowID == q.FlowID) &&
			(since.IsZero() || !p.ts.Before(since)) && (until.IsZero() || !p.ts.After(until)) && match(p) &&
			// Last: the only test that reads the packet, and a cgo call.
			(filter == nil || filter.Match(p.data, p.origLen))
	}
	h := cursorHeap{}
	for _, c := range curs {
		ok, err := c.advance(keep)
		if err != nil {
			return 0, err
		}
		if ok {
			h = append(h, c)
		}
	}
	heap.Init(&h)

	bw := bufio.NewWriterSize(w, 64<<10)
	enc := ngWriter{w: bw}
	if _, err := enc.sectionHeader(); err != nil {
		return 0, fmt.Errorf("recording: export: %w", err)
	}
	type ifKey struct{ vm, iface string }
	ids := map[ifKey]uint32{}
	n := 0
	for len(h) > 0 {
		c := h[0]
		p := &c.p
		k := ifKey{p.vm, p.iface}
		id, ok := ids[k]
		if !ok {
			id = uint32(len(ids))
			ids[k] = id
			if _, err := enc.interfaceDescription(p.iface, p.vm); err != nil {
				return n, fmt.Errorf("recording: export: %w", err)
			}
		}
		if _, err := enc.enhancedPacket(id, p.ts, p.flowID, p.data, p.origLen); err != nil {
			return n, fmt.Errorf("recording: export: %w", err)
		}
		n++
		if n%1024 == 0 && ctx.Err() != nil {
			return n, fmt.Errorf("recording: export: %w", ctx.Err())
		}
		more, err := c.advance(keep)
		if err != nil {
			return n, err
		}
		if more {
			heap.Fix(&h, 0)
		} else {
			heap.Pop(&h)
		}
	}
	if err := bw.Flush(); err != nil {
		return n, fmt.Errorf("recording: export: %w", err)
	}
	return n, nil
}

// cursor reads one VM's selected segments in order, holding the next
// packet that passes the filter.
type cursor struct {
	dir  string
	segs []segMeta
	f    *os.File
	d    *ngReader
	p    recPacket
}

func (c *cursor) close() {
	if c.f != nil {
		c.f.Close()
		c.f = nil
	}
}

// advance moves to the next packet keep accepts; false at the end.
func (c *cursor) advance(keep func(*recPacket) bool) (bool, error) {
	for {
		if c.d == nil {
			if len(c.segs) == 0 {
				return false, nil
			}
			m := c.segs[0]
			c.segs = c.segs[1:]
			f, err := os.Open(filepath.Join(c.dir, m.File))
			if errors.Is(err, os.ErrNotExist) {
				continue // deleted by the budget since the snapshot
			}
			if err != nil {
				return false, fmt.Errorf("recording: export: %w", err)
			}
			c.f, c.d = f, newNgReader(io.LimitReader(f, m.Bytes))
		}
		err := c.d.next(&c.p)
		if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
			c.close()
			c.d = nil
			continue
		}
		if err != nil {
			return false, fmt.Errorf("recording: export from %s: %w", c.f.Name(), err)
		}
		if keep(&c.p) {
			return true, nil
		}
	}
}

type cursorHeap []*cursor

func (h cursorHeap) Len() int           { return len(h) }
func (h cursorHeap) Less(i, j int) bool { return h[i].p.ts.Before(h[j].p.ts) }
func (h cursorHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *cursorHeap) Push(x any)        { *h = append(*h, x.(*cursor)) }
func (h *cursorHeap) Pop() any {
	old := *h
	c := old[len(old)-1]
	*h = old[:len(old)-1]
	return c
}
