package detect

import (
	"net/netip"

	"github.com/tapwatch/tapwatch/rules"
	"slices"
	"time"

	"github.com/tapwatch/tapwatch/rules/decode"
	"github.com/tapwatch/tapwatch/rules/flow"
	"github.com/tapwatch/tapwatch/rules/keyword"
	"github.com/tapwatch/tapwatch/rules/mpm"
	"github.com/tapwatch/tapwatch/rules/proto/http"
	"github.com/tapwatch/tapwatch/rules/stream"
)

// flowState is the engine's per-flow slot (flow.Flow.Detect).
type flowState struct {
	passed     bool
	dropped    bool
	ipOnlyDone [2]bool
	txAlerted  map[txSeen]struct{}
	app        appState
	scan       [2]streamScan  // per direction (streamscan.go)
	pay        [2]*payloadMpm // the payload prefilter per direction (payload_prefilter.go)
	ints       flowInts       // flowint variables (flowint.go)
	// The candidates indexed by the flow's ports and addresses, per
	// direction and path (addAlways): bit dir*2+app of idxKnown says they
	// were computed. idx holds them, allocated only for a flow that has
	// some (most have none).
	idxKnown uint8
	idx      *[2][2][]uint32
}

// hit is one rule that matched the current packet.
type hit struct {
	c      *csig
	stream bool
	// flowScope: a drop or pass applies to the whole flow, as in
	// Suricata when the match came from the stream or app layer, or the
	// rule is IP-only; otherwise it applies to this packet alone.
	flowScope bool
}

// Worker runs the engine on one goroutine's share of the flows.
type Worker struct {
	e     *Engine
	table *flow.Table
	ksc   keyword.Scratch
	msc   mpm.Scratch

	stamp []uint32
	gen   uint32
	// per-packet address expression results (hdrmatch.go), valid when
	// their stamp equals gen
	addrStamp []uint32
	addrRes   []bool
	cands     []uint32
	hits      []hit
	alert     Alert
	onHit     func(uint32)
	// transaction buffer prefilter cache (txscan.go)
	txScan []txScan
	// rec collects the ids a recorded scan reports (recCand), for the
	// transaction and stream prefilter caches.
	rec   []uint32
	onRec func(uint32)

	stats      Stats
	lastExpire time.Time
	onEnd      FlowEnd    // SetFlowEnd: flows retired while processing
	last       *flow.Flow // the flow of the last packet Process saw
	curTx      *TxBuffers
	tx         TxBuffers
	curHTTP    *http.Tx // the HTTP transaction being inspected, for alert metadata
	app        workerApp
	doneTx     []int
	xa, xb     []byte // transform scratch
	pseudo     decode.Packet
	pseudoL4   [20]byte
}

// NewWorker returns a Worker with its own flow table shard, stream
// sessions and prefilter scratch; per-host state is the Engine's.
func (e *Engine) NewWorker() *Worker {
	w := &Worker{
		e: e,
		table: flow.NewTable(flow.Config{
			Midstream: e.opts.Midstream || e.opts.Settings["stream.midstream"] == "true",
			Stream: stream.Config{AsyncOneside: settingOn(e.opts.Settings["stream.async-oneside"]),
				AckGate: ackGate(e.opts), // flush.go
				// Detection looks behind each delivery only for the
				// prefilter's overlap and protocol detection's probe.
				History:  max(e.streamBack, maxProbeBytes),
				Policies: stream.HostOSPolicies(e.opts.Settings)},
		}),
		stamp: make([]uint32, len(e.sigs)),
		cands: make([]uint32, 0, 64),
		hits:  make([]hit, 0, 16),
	}
	w.onHit = w.addCand
	w.onRec = w.recCand
	return w
}

func (w *Worker) addCand(id uint32) {
	if w.stamp[id] == w.gen {
		return
	}
	w.stamp[id] = w.gen
	w.cands = append(w.cands, id)
}

func (w *Worker) beginCands() {
	w.gen++
	if w.gen == 0 {
		clear(w.stamp)
		clear(w.addrStamp)
		w.gen = 1
	}
	if w.addrStamp == nil {
		w.addrStamp = make([]uint32, 2*w.e.nAddrs+1)
		w.addrRes = make([]bool, 2*w.e.nAddrs+1)
	}
	w.cands = w.cands[:0]
}

func flowStateOf(f *flow.Flow) *flowState {
	fs, _ := flowStateNew(f)
	return fs
}

// flowStateNew returns f's engine state and whether it was just created.
func flowStateNew(f *flow.Flow) (*flowState, bool) {
	if f == nil {
		return nil, false
	}
	fs, ok := f.Detect.(*flowState)
	if !ok {
		fs = &flowState{}
		f.Detect = fs
	}
	return fs, !ok
}

// expireEvery is how often (in packet time) idle flows are retired.
const expireEvery = time.Second

// expire retires the flows idle at now, at most once per expireEvery.
func (w *Worker) expire(now time.Time, emit func(*Alert)) {
	w.e.hosts.sweep(now) // hoststate.go
	if !w.lastExpire.IsZero() {
		w.table.Expire(now, func(f *flow.Flow, reason flow.EndReason) {
			w.flowEnd(f, emit) // flush.go
			if w.onEnd != nil {
				w.onEnd(f, reason)
			}
		})
	}
	w.lastExpire = now
}

// Tick retires the flows that have been idle long enough at now, as
// packets do when they arrive. On live capture time passes without
// packets: the caller ticks with the wall clock, the clock its packets'
// timestamps use, so a quiet flow still ends and gets its record.
// Replays need not tick: their packets carry the only time there is.
func (w *Worker) Tick(now time.Time, emit func(*Alert)) {
	if now.Sub(w.lastExpire) >= expireEvery {
		w.expire(now, emit)
	}
}

// Process inspects p (already decoded) in zone, calling emit for each alert.
func (w *Worker) Process(p *decode.Packet, zone uint32, emit func(*Alert)) Verdict {
	w.stats.Packets++
	w.last = nil
	e := w.e
	if p.IPVersion == 0 {
		return VerdictPass
	}
	if !p.Timestamp.IsZero() {
		w.Tick(p.Timestamp, emit)
	}
	f, dir := w.table.Lookup(p, zone)
	w.last = f
	fs, fresh := flowStateNew(f)
	if fresh && p.IsTCP() && p.TCPFlags&(decode.TCPSyn|decode.TCPAck) != decode.TCPSyn {
		// A session picked up without its SYN: Suricata's midstream
		// exception policy decides whether it is inspected.
		switch e.midstreamPolicy {
		case "drop-flow", "drop-packet", "reject":
			fs.dropped = true
		case "bypass", "pass-flow":
			fs.passed = true
		}
	}
	var sdata []byte
	inStream := false
	if f != nil && f.TCP != nil && p.IsTCP() {
		sdata = f.TCP.Process(p, dir)
		inStream = len(sdata) > 0 || (len(p.Payload) > 0 && f.TCP.Established() && !f.TCP.DepthReached(dir))
	}
	// Stream rules see the new bytes plus a little of what came before,
	// so a pattern split across segments is found; sold marks where the
	// new bytes start, so a match lying wholly in old bytes (already
	// reported) is not reported again.
	sbuf, sold := sdata, 0
	if len(sdata) > 0 && e.streamBack > 0 {
		if win := f.TCP.Window(dir, len(sdata)+e.streamBack); len(win) > len(sdata) {
			sbuf, sold = win, len(win)-len(sdata)
		}
	}
	if fs != nil {
		if fs.dropped && e.opts.IPS {
			w.stats.Dropped++
			return VerdictDrop
		}
		if fs.passed {
			return VerdictPass
		}
	}
	appV := VerdictPass
	if p.IsUDP() && f != nil {
		// Datagrams are parsed before their rules run (app_dns.go).
		appV = w.appDatagram(p, f, fs, dir, emit)
	} else if len(sdata) > 0 {
		w.appDetect(f, fs, dir, sdata) // app_http.go
	}
	g := &e.groups[bucketOf(p.IPProto)]
	w.beginCands()
	w.addAlways(g, p, false, fs, dir)
	if pl := g.payload(f, fs, dir); !pl.empty() {
		w.prefilterPayload(pl, fs, dir, p.Payload, sbuf, sold, inStream)
	}
	slices.Sort(w.cands)
	w.stats.Candidates += uint64(len(w.cands))
	w.hits = w.hits[:0]
	for _, id := range w.cands {
		c := e.sigs[id]
		ok, st := w.match(c, p, f, fs, dir, sbuf, sold, inStream)
		if !ok {
			continue
		}
		w.postMatch(c, p, f, fs)
		if c.sig.NoAlert && c.action != ActionPass && c.action != ActionDrop {
			continue
		}
		if !w.thresholdOK(c, p) {
			continue
		}
		w.hits = append(w.hits, hit{c: c, stream: st, flowScope: st || c.ipOnly || c.appProto != ""})
	}
	if fs != nil && c0IPOnly(w.cands, e) {
		fs.ipOnlyDone[dir&1] = true
	}
	v := w.finish(p, f, fs, dir, emit)
	if appV == VerdictDrop {
		v = VerdictDrop
	}
	if f != nil && len(sdata) > 0 && !fs.passed && !(fs.dropped && e.opts.IPS) {
		if w.appFeed(p, f, fs, dir, sdata, false, emit) == VerdictDrop {
			v = VerdictDrop
		}
	}
	if f != nil && f.TCP != nil && f.TCP.Closed() && !fs.passed {
		w.connClosed(p, f, fs, emit) // flush.go
	}
	return v
}

// addAlways adds the group's prefilter-less sigs that p's ports allow;
// appOnly keeps only those that inspect app-layer buffers.
func (w *Worker) addAlways(g *group, p *decode.Packet, appOnly bool, fs *flowState, dir flow.Dir) {
	if appOnly {
		// Those are indexed apart (buildGroups): no filtering needed.
		if g = g.appSub; g == nil {
			return
		}
	}
	for _, id := range g.always {
		w.addCand(id)
	}
	if fs == nil || !(p.IsTCP() || p.IsUDP()) || p.Fragment {
		// Without a flow, where ICMP type/code stand in for ports, or
		// for fragments (flows by address only), the index is read for
		// each packet.
		w.addIndexed(g, p)
		return
	}
	app := bit(appOnly)
	known := uint8(1) << (uint(dir&1)*2 + uint(app))
	if fs.idxKnown&known == 0 {
		fs.idxKnown |= known
		from := len(w.cands)
		w.addIndexed(g, p)
		if len(w.cands) > from {
			if fs.idx == nil {
				fs.idx = new([2][2][]uint32)
			}
			fs.idx[dir&1][app] = slices.Clone(w.cands[from:])
		}
		return
	}
	if fs.idx != nil {
		for _, id := range fs.idx[dir&1][app] {
			w.addCand(id)
		}
	}
}

// addIndexed adds the candidates g indexes by p's ports and addresses:
// every packet of a flow going one way gets the same.
func (w *Worker) addIndexed(g *group, p *decode.Packet) {
	var lists [5 + 2*len(netShifts)][]uint32
	if p.IPVersion == 6 {
		lists[len(lists)-1] = g.v6
		if k, ok := v6Key(p.SrcIP); ok && g.v6Src != nil {
			lists[len(lists)-2] = g.v6Src[k]
		}
		if k, ok := v6Key(p.DstIP); ok && g.v6Dst != nil {
			lists[len(lists)-3] = g.v6Dst[k]
		}
	}
	if g.byDst != nil {
		lists[0] = g.byDst[p.DstPort]
	}
	if g.bySrc != nil {
		lists[1] = g.bySrc[p.SrcPort]
	}
	src, srcOK := rules.V4Key(p.SrcIP)
	dst, dstOK := rules.V4Key(p.DstIP)
	for i, sh := range netShifts {
		if m := g.bySrcNet[i]; m != nil && srcOK {
			lists[2+2*i] = m[src>>sh]
		}
		if m := g.byDstNet[i]; m != nil && dstOK {
			lists[3+2*i] = m[dst>>sh]
		}
	}
	for _, l := range lists {
		for _, id := range l {
			w.addCand(id)
		}
	}
}

// c0IPOnly reports whether any IP-only rule was a candidate, so the flow
// direction can be marked as IP-only inspected.
func c0IPOnly(cands []uint32, e *Engine) bool {
	for _, id := range cands {
		if e.sigs[id].ipOnly {
			return true
		}
	}
	return false
}

// finish applies actions in rule order and emits alerts.
func (w *Worker) finish(p *decode.Packet, f *flow.Flow, fs *flowState, dir flow.Dir, emit func(*Alert)) Verdict {
	e := w.e
	verdict := VerdictPass
	emitted := 0
	for _, h := range w.hits {
		c := h.c
		if c.action == ActionPass {
			if fs != nil && h.flowScope {
				fs.passed = true
			}
			break
		}
		blocked := false
		if (c.action == ActionDrop || c.action == ActionReject) && e.opts.IPS {
			verdict = VerdictDrop
			blocked = true
			if fs != nil && h.flowScope {
				fs.dropped = true
			}
		}
		if c.sig.NoAlert || emitted >= e.alertMax {
			continue
		}
		emitted++
		w.stats.Alerts++
		a := &w.alert
		*a = Alert{Packet: p, Flow: f, Dir: dir, Action: "allowed", RuleAction: c.action,
			GID: c.gid, SID: c.sid, Rev: c.rev, Msg: c.msg, Category: c.category, Severity: c.severity,
			Metadata: c.sig.Metadata, TxID: -1, Stream: h.stream}
		if f != nil {
			a.AppProto = f.AppProto
		}
		if w.curTx != nil {
			a.TxID, a.App = w.curTx.TxID, w.curTx.App
			if a.AppProto == "" {
				a.AppProto = w.curTx.AppProto
			}
			if a.App == nil {
				// Built only when alerting: it allocates.
				a.App = w.appEVE()
			}
		}
		if blocked {
			a.Action = "blocked"
		}
		if emit != nil {
			emit(a)
		}
	}
	if verdict == VerdictDrop {
		w.stats.Dropped++
	}
	return verdict
}

// postMatch runs the flowbit, flowint and xbit actions of rule c, which
// matched p of flow f (with state fs).
func (w *Worker) postMatch(c *csig, p *decode.Packet, f *flow.Flow, fs *flowState) {
	if len(c.sig.Xbits) > 0 {
		w.xbitsPost(c.sig, p, f) // xbits.go
	}
	if f == nil {
		return
	}
	if len(c.sig.Flowints) > 0 {
		w.flowintPost(c.sig, fs) // flowint.go
	}
	for _, fb := range c.sig.Flowbits {
		for _, i := range fb.Idx {
			switch fb.Cmd {
			case keyword.FbSet:
				f.Bits.Set(i)
			case keyword.FbUnset:
				f.Bits.Unset(i)
			case keyword.FbToggle:
				f.Bits.Toggle(i)
			}
		}
	}
}

// match evaluates c fully, cheapest tests first. stream is true when the
// payload matched on reassembled data.
func (w *Worker) match(c *csig, p *decode.Packet, f *flow.Flow, fs *flowState, dir flow.Dir, sdata []byte, sold int, inStream bool) (ok, stream bool) {
	if len(c.app) > 0 {
		// App-layer buffers are inspected per transaction (InspectTx).
		return false, false
	}
	if !w.matchCommon(c, p, f, fs, dir) {
		return false, false
	}
	if c.appProto != "" && len(c.app) == 0 {
		if f == nil || !sameApp(f.AppProto, c.appProto) {
			return false, false
		}
		if len(c.payload) == 0 {
			// A protocol-only rule (`alert http any any -> any any`)
			// matches once per flow and direction, as Suricata's
			// protocol-detection-only rules do.
			k := txSeen{num: c.num, txID: -1 - int(dir&1)}
			if _, dup := fs.txAlerted[k]; dup {
				return false, false
			}
			if fs.txAlerted == nil {
				fs.txAlerted = map[txSeen]struct{}{}
			}
			fs.txAlerted[k] = struct{}{}
			return true, false
		}
	}
	if len(c.app) > 0 {
		// App-layer buffers are inspected per transaction (InspectTx).
		return false, false
	}
	if len(c.payload) == 0 {
		return true, false
	}
	if p.IsTCP() && f != nil && f.TCP != nil {
		if !c.pktOnly && len(sdata) > 0 && keyword.Inspect(c.payload, sdata, &w.ksc) &&
			(sold == 0 || !keyword.Inspect(c.payload, sdata[:sold], &w.ksc)) {
			return true, true
		}
		if c.streamOnly {
			return false, false
		}
		if inStream && !c.pktOnly {
			return false, false
		}
	} else if c.streamOnly {
		return false, false
	}
	if len(p.Payload) == 0 || !p.HasL4() {
		return false, false
	}
	return keyword.Inspect(c.payload, p.Payload, &w.ksc), false
}

// matchCommon runs the tests that need no payload: header, packet
// keywords, flow and flowbit conditions.
func (w *Worker) matchCommon(c *csig, p *decode.Packet, f *flow.Flow, fs *flowState, dir flow.Dir) bool {
	if c.ipVer != 0 && p.IPVersion != c.ipVer {
		return false
	}
	if c.ipOnly && fs != nil && w.e.ipOnlyOnce && fs.ipOnlyDone[dir&1] {
		return false
	}
	if !w.hdrMatch(c, p) {
		return false
	}
	for _, m := range c.sig.Packet {
		if !m.Match(p) {
			return false
		}
	}
	s := c.sig
	if s.Flow.Set {
		if f == nil {
			if s.Flow.ToServer || s.Flow.ToClient || s.Flow.Established {
				return false
			}
		} else {
			if !c.allowsDir(dir) {
				return false
			}
			est := f.Established()
			if s.Flow.Established && !est {
				return false
			}
			if s.Flow.NotEstab && est {
				return false
			}
		}
		if s.Flow.OnlyFrag && !p.Reassembled {
			return false
		}
		if s.Flow.NoFrag && p.Reassembled {
			return false
		}
	}
	for _, fb := range s.Flowbits {
		if fb.IsCheck() && !flowbitCheck(fb, f) {
			return false
		}
	}
	if len(s.Flowints) > 0 && !flowintMatch(s, fs) { // flowint.go
		return false
	}
	if len(s.StreamSize) > 0 && !streamSizeOK(s, p, f) { // streamsize.go
		return false
	}
	if len(s.Xbits) > 0 && !w.xbitsMatch(s, p, f) { // xbits.go
		return false
	}
	return true
}

func sameApp(have, want string) bool {
	if have == want {
		return true
	}
	switch want {
	case "http", "http1":
		return have == "http" || have == "http1"
	case "tls", "ssl":
		return have == "tls"
	}
	return false
}

func flowbitCheck(fb keyword.FlowbitOp, f *flow.Flow) bool {
	want := fb.Cmd == keyword.FbIsSet
	if fb.Or {
		for _, i := range fb.Idx {
			if f != nil && f.Bits.IsSet(i) == want {
				return true
			}
		}
		return f == nil && !want
	}
	for _, i := range fb.Idx {
		set := f != nil && f.Bits.IsSet(i)
		if set != want {
			return false
		}
	}
	return true
}

func headerMatch(c *csig, p *decode.Packet) bool {
	r := c.rule
	if fwdMatch(c, p.SrcIP, p.DstIP, p.SrcPort, p.DstPort) {
		return true
	}
	return r.Bidir && fwdMatch(c, p.DstIP, p.SrcIP, p.DstPort, p.SrcPort)
}

func fwdMatch(c *csig, src, dst netip.Addr, sp, dp uint16) bool {
	r := c.rule
	if !r.Src.Match(src) || !r.Dst.Match(dst) {
		return false
	}
	if r.SrcPorts.IsAny() && r.DstPorts.IsAny() {
		return true
	}
	return r.SrcPorts.Match(sp) && r.DstPorts.Match(dp)
}

// SetFlowEnd asks for every flow the worker retires while processing (idle
// timeouts), for flow records; Flush reports the rest to its own callback.
// The flow must not be kept after end returns: the table reuses it.
func (w *Worker) SetFlowEnd(end FlowEnd) { w.onEnd = end }

// LastFlow is the flow of the packet Process saw last (nil for packets
// without one), valid until the next Process: the live pipeline uses it to
// file recorded packets by flow.
func (w *Worker) LastFlow() *flow.Flow { return w.last }

// Flush retires every flow (end of capture).
func (w *Worker) Flush(emit func(*Alert), end FlowEnd) {
	w.table.Flush(func(f *flow.Flow, reason flow.EndReason) {
		w.flowEnd(f, emit) // flush.go
		if end != nil {
			end(f, reason)
		}
	})
}

// Stats returns the worker's counters.
func (w *Worker) Stats() Stats {
	s := w.stats
	s.Flow = w.table.Stats()
	s.State = w.e.StateDrops()
	return s
}
