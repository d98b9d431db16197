package agent

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tapwatch/tapwatch/agent/api"
	"github.com/tapwatch/tapwatch/agent/flowstore"
	"github.com/tapwatch/tapwatch/agent/output/eve"
	"github.com/tapwatch/tapwatch/agent/vmctx"
	"github.com/tapwatch/tapwatch/rules/flow"
)

// Changes is what VMs started doing since a point in time, from the flow
// store (GET /v1/changes, `tapwatch vms diff`).
func (b backend) Changes(ctx context.Context, vm string, since time.Time) (api.Changes, error) {
	if b.d.flows == nil {
		return api.Changes{}, errNoFlowStore
	}
	out := api.Changes{Since: since}
	var err error
	if out.HistoryFrom, err = b.d.flows.Oldest(ctx); err != nil {
		return out, err
	}
	out.Changes, err = b.d.flows.Changes(ctx, vm, since)
	return out, err
}

// changeSeenMax bounds the keys the change detector remembers (about 100
// bytes each).
const changeSeenMax = 1 << 16

// changeSeedTimeout bounds the start-up read of the store's history (about
// 2.5 s per 200k stored flows).
const changeSeedTimeout = 2 * time.Minute

// changePendingMax bounds the changes held while the history is read; more
// are written at once (and may repeat what the history knew).
const changePendingMax = 4096

// changeKey is one thing a VM does: answer on (proto, port), or use the
// server (proto, peer, port).
type changeKey struct {
	vm     string
	client bool
	proto  string
	port   uint16
	peer   netip.Addr // client keys only
}

// changeDetector remembers which services and peers each VM has been seen
// with and says when a flow shows a new one. Memory is bounded: keys live in
// two generations of at most max/2 each; a key found in the old generation
// moves to the current one, and when the current one fills the old one is
// dropped. A key unused for that long is forgotten and reported again when
// it comes back. Safe for concurrent use.
type changeDetector struct {
	max      int
	mu       sync.Mutex
	cur, old map[changeKey]struct{}
	// seeding is set while the store's history is read; changes found
	// meanwhile wait in pending until it is known whether the history had
	// them.
	seeding  bool
	pending  []pendingChange
	reported atomic.Uint64
	forgot   atomic.Uint64
}

type pendingChange struct {
	key    changeKey
	ts     time.Time
	fields []eve.Field
}

func newChangeDetector(max int) *changeDetector {
	if max < 2 {
		max = 2
	}
	return &changeDetector{max: max, cur: map[changeKey]struct{}{}, old: map[changeKey]struct{}{}}
}

// observe records k and reports whether it was not known.
func (c *changeDetector) observe(k changeKey) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.cur[k]; ok {
		return false
	}
	_, known := c.old[k]
	if known {
		delete(c.old, k)
	}
	c.insertLocked(k)
	return !known
}

// insertLocked adds k to the current generation, retiring it to old when
// full.
func (c *changeDetector) insertLocked(k changeKey) {
	delete(c.old, k)
	if len(c.cur) >= c.max/2 {
		c.forgot.Add(uint64(len(c.old)))
		c.old, c.cur = c.cur, make(map[changeKey]struct{}, c.max/2)
	}
	c.cur[k] = struct{}{}
}

// len is the number of keys remembered.
func (c *changeDetector) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.cur) + len(c.old)
}

// startSeed makes changes wait for seed.
func (c *changeDetector) startSeed() {
	c.mu.Lock()
	c.seeding = true
	c.mu.Unlock()
}

// hold keeps a change found while seeding; false when it is to be written
// now.
func (c *changeDetector) hold(k changeKey, ts time.Time, fields []eve.Field) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.seeding || len(c.pending) >= changePendingMax {
		return false
	}
	c.pending = append(c.pending, pendingChange{key: k, ts: ts, fields: fields})
	return true
}

// seed remembers the store's history, so a restart does not report every
// VM's services again, then writes (with write) the changes held meanwhile
// that the history did not know. On error the held changes are all written.
func (c *changeDetector) seed(ctx context.Context, s *flowstore.Store, write func(time.Time, []eve.Field)) (int, error) {
	var keys []changeKey
	err := s.SeenKeys(ctx, c.max/2, func(k flowstore.Seen) {
		keys = append(keys, changeKey{vm: k.VM, client: k.Role == flowstore.Client, proto: k.Proto, port: k.Port, peer: k.Peer})
	})
	hist := make(map[changeKey]struct{}, len(keys))
	if err == nil {
		for _, k := range keys {
			hist[k] = struct{}{}
		}
	}
	c.mu.Lock()
	if err == nil {
		for _, k := range keys {
			if _, ok := c.cur[k]; !ok {
				c.insertLocked(k)
			}
		}
	}
	pending := c.pending
	c.pending, c.seeding = nil, false
	c.mu.Unlock()
	for _, p := range pending {
		if _, known := hist[p.key]; known {
			c.reported.Add(^uint64(0))
			continue
		}
		write(p.ts, p.fields)
	}
	return len(hist), err
}

// change is one new service or peer a flow showed.
type change struct {
	key    changeKey
	kind   flowstore.ChangeKind
	vm     *vmctx.Ref
	proto  string
	port   uint16
	peer   netip.Addr
	peerVM string
}

// flowChanges are the changes f shows: its server VM newly answering on the
// flow's (proto, port) — with the rule the flow store's Services uses,
// flowstore.Answered — and its client VM newly using the server's (proto,
// address, port).
func (c *changeDetector) flowChanges(f *flow.Flow, src, dst *vmctx.Ref) []change {
	var out []change
	proto := eve.ProtoName(f.Key.Proto)
	if dst != nil && flowstore.Answered(proto, f.Pkts[flow.ToServer], f.Pkts[flow.ToClient], eve.FlowState(f)) {
		if k := (changeKey{vm: dst.VMName, proto: proto, port: f.Key.DstPort}); c.observe(k) {
			ch := change{key: k, kind: flowstore.NewService, vm: dst, proto: proto, port: f.Key.DstPort, peer: f.Key.Src}
			if src != nil {
				ch.peerVM = src.VMName
			}
			out = append(out, ch)
		}
	}
	if src != nil {
		if k := (changeKey{vm: src.VMName, client: true, proto: proto, port: f.Key.DstPort, peer: f.Key.Dst}); c.observe(k) {
			ch := change{key: k, kind: flowstore.NewPeer, vm: src, proto: proto, port: f.Key.DstPort, peer: f.Key.Dst}
			if dst != nil {
				ch.peerVM = dst.VMName
			}
			out = append(out, ch)
		}
	}
	c.reported.Add(uint64(len(out)))
	return out
}

// changeFields are a tapwatch_change EVE record's fields.
func changeFields(ch change, f *flow.Flow) []eve.Field {
	r := ch.vm
	fields := []eve.Field{
		{Key: "kind", Value: string(ch.kind)},
		// A one-element list with the VM's role, so "vm" has one type in every record.
		{Key: "vm", Value: []map[string]any{{"uuid": r.VMUUID, "name": r.VMName, "mac": net.HardwareAddr(r.MAC[:]).String(),
			"tap": r.Tap, "bridge": r.Bridge, "host": r.Host, "role": changeRole(ch.kind)}}},
		{Key: "proto", Value: ch.proto},
		{Key: "port", Value: int(ch.port)},
		{Key: "peer", Value: ch.peer.String()},
	}
	if ch.peerVM != "" {
		fields = append(fields, eve.Field{Key: "peer_vm", Value: ch.peerVM})
	}
	if f.AppProto != "" {
		fields = append(fields, eve.Field{Key: "app_proto", Value: f.AppProto})
	}
	return append(fields, eve.Field{Key: "flow_id", Value: eve.FlowID(f.ID)})
}

// noteChanges writes a tapwatch_change EVE record for each new service or
// peer the ended flow f shows (held while the store's history is read).
func (d *Daemon) noteChanges(f *flow.Flow, src, dst *vmctx.Ref) {
	if d.changes == nil || (src == nil && dst == nil) {
		return
	}
	for _, ch := range d.changes.flowChanges(f, src, dst) {
		fields := changeFields(ch, f)
		if !d.changes.hold(ch.key, f.Last, fields) {
			d.writeChange(f.Last, fields)
		}
	}
}

func (d *Daemon) writeChange(ts time.Time, fields []eve.Field) {
	_ = d.eveOut.WriteEvent("tapwatch_change", ts, fields...)
}

// openChanges starts the change detector and, in the background, seeds it
// from the flow store; changes found before the seed is done wait for it.
func (d *Daemon) openChanges() {
	d.changes = newChangeDetector(changeSeenMax)
	if d.flows == nil {
		return
	}
	d.changes.startSeed()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), changeSeedTimeout)
		defer cancel()
		t0 := time.Now()
		n, err := d.changes.seed(ctx, d.flows, d.writeChange)
		if err != nil {
			d.log.Warn("change events: could not read the flow store's history; services and peers seen before may be reported as new once",
				"error", err)
			return
		}
		d.log.Info("change events: seeded from the flow store", "keys", n, "took", time.Since(t0).Round(time.Millisecond))
	}()
}

// changeRole is the VM's side in the flow that showed the change.
func changeRole(k flowstore.ChangeKind) string {
	if k == flowstore.NewService {
		return "dst"
	}
	return "src"
}
