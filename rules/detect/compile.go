package detect

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/tapwatch/tapwatch/rules"
	"github.com/tapwatch/tapwatch/rules/decode"
	"github.com/tapwatch/tapwatch/rules/flow"
	"github.com/tapwatch/tapwatch/rules/keyword"
	"github.com/tapwatch/tapwatch/rules/mpm"
)

// proto buckets: each gets its own prefilter group.
const (
	bTCP = iota
	bUDP
	bICMP
	bICMPv6
	bOther
	nBuckets
)

func bucketOf(proto uint8) int {
	switch proto {
	case decode.ProtoTCP:
		return bTCP
	case decode.ProtoUDP:
		return bUDP
	case decode.ProtoICMP:
		return bICMP
	case decode.ProtoICMPv6:
		return bICMPv6
	}
	return bOther
}

// bufOps is the part of a rule that inspects one buffer.
type bufOps struct {
	buf        keyword.Buffer
	ops        []keyword.Op
	transforms []keyword.Transform
}

// csig is a compiled rule.
type csig struct {
	num    int
	rule   *rules.Rule
	sig    *keyword.Sig
	action Action
	raw    string // action as written after mapping (reject*, drop...)
	msg    string
	gid    uint32
	sid    uint32
	rev    uint32

	category string
	severity int

	ipVer      uint8 // 4 or 6 when the header says ipv4/ipv6, else 0
	pktOnly    bool  // tcp-pkt or flow:no_stream
	streamOnly bool  // tcp-stream or flow:only_stream
	ipOnly     bool
	appProto   string

	payload []keyword.Op
	app     []bufOps
	// prefilter: buffer the fast pattern lives in, or -1 for always-candidate
	fpBuf int
	// srcA, dstA index the engine's distinct address expressions (whose
	// per-packet results workers cache), or -1 for any.
	srcA, dstA int32
}

// group is the prefilter for one protocol bucket.
type group struct {
	mpm [keyword.NumBuffers]*mpm.Matcher
	// mpmMax is the longest pattern of each matcher (Matcher.MaxLen).
	mpmMax [keyword.NumBuffers]int
	// Sigs evaluated without a prefilter hit: those naming a few
	// destination (or, failing that, source) ports are listed under each
	// port, so a packet meets only the ones its ports can satisfy.
	always []uint32
	byDst  map[uint16][]uint32
	bySrc  map[uint16][]uint32
	// Likewise by the /24 network of the source or destination address,
	// for rules naming a list of hosts (ET's tor, botcc, compromised...).
	// v6 holds the address-indexed rules that also name IPv6 hosts; they
	// are candidates for every IPv6 packet.
	v6 []uint32
	// v6Src, v6Dst index the others of those by the first 32 bits of
	// the IPv6 hosts they name (prefilter_v6.go).
	v6Src, v6Dst map[uint32][]uint32
	bySrcNet     [len(netShifts)]map[uint32][]uint32
	byDstNet     [len(netShifts)]map[uint32][]uint32
	// appSub indexes the prefilter-less rules that inspect app-layer
	// buffers, which only InspectTx evaluates; the lists above hold the
	// others, so neither path walks rules it always rejects.
	appSub *group
	// pay holds the payload prefilters (payload_prefilter.go): for a
	// flow's packets to the server, to the client, and for packets
	// without a flow; the first two split by port and address (portPay).
	pay [3]portPay
	// alias holds the union prefilters of buffers that parsers fill with
	// the same bytes (txscan.go).
	alias []aliasMpm
}

// allowsDir reports whether c's flow keyword lets it match packets moving
// in d.
func (c *csig) allowsDir(d flow.Dir) bool {
	fl := &c.sig.Flow
	return !(fl.ToServer && d != flow.ToServer) && !(fl.ToClient && d != flow.ToClient)
}

// netShifts are the network sizes (/24, /16, /8) rules are indexed by,
// finest first: a rule goes under the finest one that keeps it within
// maxNetBlocks networks.
var netShifts = [...]uint{8, 16, 24}

// Engine is a compiled rule set. It is immutable and shared by Workers.
type Engine struct {
	opts    Options
	sigs    []*csig
	groups  [nBuckets]group
	nAddrs  int // distinct address expressions (csig.srcA/dstA)
	nbits   int
	bitName []string
	// Errors are the rules the compiler rejected.
	Errors []error

	alertMax   int
	ipOnlyOnce bool
	// midstreamPolicy is the resolved stream.midstream-policy: ignore,
	// drop-flow, drop-packet, reject, bypass or pass-flow.
	midstreamPolicy string

	// streamBack is how many already-inspected stream bytes are kept in
	// front of new ones: enough for the longest payload content.
	streamBack int

	httpEnabled bool
	httpBufs    []keyword.Buffer
	// dnsEnabled, tlsEnabled: some rule needs the DNS/TLS parser (app.go).
	dnsEnabled, tlsEnabled bool

	// hosts is the one mutable part of an Engine: the per-host state its
	// Workers share (hoststate.go).
	hosts *hostState
}

// CompileError is a rule the compiler rejected, with its position.
type CompileError struct {
	File      string
	Line, Col int
	SID       uint32
	Msg       string
}

func (e *CompileError) Error() string {
	return fmt.Sprintf("%s:%d:%d: sid %d: %s", e.File, e.Line, e.Col, e.SID, e.Msg)
}

// Compile builds an engine from parsed rules. Rules the engine cannot use
// are skipped and listed in Engine.Errors; Compile fails only when the
// options themselves are unusable.
func Compile(rs []*rules.Rule, opts Options) (*Engine, error) {
	e := &Engine{opts: opts, alertMax: 15, ipOnlyOnce: true, hosts: &hostState{}}
	if v, ok := opts.Settings["packet-alert-max"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("setting packet-alert-max=%q: want a number >= 0", v)
		}
		if n > 0 {
			// 0 means the default, as in Suricata.
			e.alertMax = n
		}
	}
	rank := map[Action]int{ActionPass: 0, ActionDrop: 1, ActionReject: 2, ActionAlert: 3}
	if v, ok := actionOrderSetting(opts.Settings); ok {
		rank = map[Action]int{}
		for i, a := range strings.Split(v, ",") {
			act := Action(strings.TrimSpace(a))
			switch act {
			case ActionPass, ActionDrop, ActionReject, ActionAlert:
				rank[act] = i
			default:
				return nil, fmt.Errorf("setting action-order=%q: %q is not pass, drop, reject or alert", v, a)
			}
		}
		if len(rank) != 4 {
			return nil, fmt.Errorf("setting action-order=%q: list each of pass, drop, reject, alert once", v)
		}
	}
	mid := opts.Midstream || opts.Settings["stream.midstream"] == "true"
	pol := opts.Settings["stream.midstream-policy"]
	if pol == "" {
		pol = opts.Settings["exception-policy"]
	}
	switch pol {
	case "", "auto":
		// Suricata's auto: drop a session it cannot follow in IPS mode,
		// unless midstream pickup is allowed.
		pol = "ignore"
		if opts.IPS && !mid {
			pol = "drop-flow"
		}
	case "ignore", "bypass", "pass-flow":
	case "drop-flow", "drop-packet", "reject":
		if !opts.IPS {
			// Dropping needs IPS mode; IDS falls back to inspecting.
			pol = "ignore"
		}
	default:
		return nil, fmt.Errorf("setting midstream/exception policy %q: use auto, ignore, drop-flow, drop-packet, reject, bypass or pass-flow", pol)
	}
	e.midstreamPolicy = pol
	e.httpBufs = httpBuffers()

	var classes rules.Classes
	if opts.ClassificationFile != "" {
		c, err := rules.LoadClassification(opts.ClassificationFile)
		if err != nil {
			return nil, fmt.Errorf("compile rules: %w", err)
		}
		classes = c
	}
	bits := map[string]int{}
	seen := map[[2]uint32]bool{}
	for _, r := range rs {
		if r == nil || r.Sig == nil {
			continue
		}
		s := r.Sig
		key := [2]uint32{s.GID, s.SID}
		if seen[key] {
			e.Errors = append(e.Errors, &CompileError{File: r.File, Line: r.Line, Col: 1, SID: s.SID,
				Msg: fmt.Sprintf("duplicate signature gid %d sid %d: the first one loaded wins", s.GID, s.SID)})
			continue
		}
		seen[key] = true
		c, err := compileSig(r, classes, bits, e)
		if err != nil {
			e.Errors = append(e.Errors, &CompileError{File: r.File, Line: r.Line, Col: 1, SID: s.SID, Msg: err.Error()})
			continue
		}
		e.sigs = append(e.sigs, c)
	}
	indexFlowints(e.sigs) // flowint.go
	e.nbits = len(bits)
	e.bitName = make([]string, len(bits))
	for n, i := range bits {
		e.bitName[i] = n
	}
	sortSigs(e.sigs, rank)
	for i, c := range e.sigs {
		c.num = i
	}
	e.buildGroups()
	e.internAddrs()
	e.internMetadata() // compile_meta.go
	for _, c := range e.sigs {
		for _, o := range c.payload {
			if n := len(o.Pat) - 1; o.Kind == keyword.OpContent && n > e.streamBack {
				e.streamBack = min(n, maxStreamBack)
			}
		}
	}
	// The HTTP parser runs only when some rule can use what it finds.
	e.httpEnabled = opts.Settings["app-layer.protocols.http.enabled"] != "no" && e.usesApp("http")
	e.enableApps(opts)
	return e, nil
}

// actionOrderSetting returns action-order as a comma list: either the
// "action-order" value itself or, as a YAML list flattens to dotted
// keys, the items "action-order.0", "action-order.1", ... in order.
func actionOrderSetting(set map[string]string) (string, bool) {
	if v, ok := set["action-order"]; ok {
		return v, true
	}
	var items []string
	for i := 0; ; i++ {
		v, ok := set["action-order."+strconv.Itoa(i)]
		if !ok {
			break
		}
		items = append(items, v)
	}
	if len(items) == 0 {
		return "", false
	}
	return strings.Join(items, ","), true
}

func actionOf(a string) Action {
	switch a {
	case "pass":
		return ActionPass
	case "drop":
		return ActionDrop
	case "reject", "rejectsrc", "rejectdst", "rejectboth":
		return ActionReject
	}
	return ActionAlert
}

func compileSig(r *rules.Rule, classes rules.Classes, bits map[string]int, e *Engine) (*csig, error) {
	s := r.Sig
	// The engine keeps the header (a copy: the caller's rule is not
	// changed), not the option text, which the Sig already compiled:
	// a smaller live heap is cheaper for every GC while packets flow.
	rc := *r
	rc.Options = nil
	r = &rc
	c := &csig{rule: r, sig: s, raw: r.Action, action: actionOf(r.Action), msg: s.Msg,
		gid: s.GID, sid: s.SID, rev: s.Rev, severity: 3, appProto: s.AppProto, fpBuf: -1}
	if s.Class != "" {
		cl, ok := classes[strings.ToLower(s.Class)]
		if classes != nil && !ok {
			return nil, fmt.Errorf("unknown classtype %q: add it to classification.config", s.Class)
		}
		if ok {
			c.category = cl.Desc
			c.severity = cl.Priority
		}
	}
	if s.Priority != 0 {
		c.severity = s.Priority
	}
	switch r.Proto {
	case "tcp-pkt":
		c.pktOnly = true
	case "tcp-stream":
		c.streamOnly = true
	case "ipv4", "ip4":
		c.ipVer = 4
	case "ipv6", "ip6":
		c.ipVer = 6
	}
	if s.Flow.NoStream {
		c.pktOnly = true
	}
	if s.Flow.OnlyStream {
		c.streamOnly = true
	}
	for i := range s.Flowbits {
		fb := &s.Flowbits[i]
		fb.Idx = fb.Idx[:0]
		for _, n := range fb.Names {
			idx, ok := bits[n]
			if !ok {
				idx = len(bits)
				bits[n] = idx
			}
			fb.Idx = append(fb.Idx, idx)
		}
	}
	// Split ops by buffer, keeping rule order within each.
	byBuf := map[keyword.Buffer][]keyword.Op{}
	var order []keyword.Buffer
	if runs, ok := opRuns(s.Ops); ok {
		// Each buffer's ops are contiguous (sticky buffers): share them
		// with the Sig rather than copy them.
		for _, r := range runs {
			b := s.Ops[r[0]].Buf
			order = append(order, b)
			byBuf[b] = s.Ops[r[0]:r[1]:r[1]]
		}
	} else {
		for _, o := range s.Ops {
			if _, ok := byBuf[o.Buf]; !ok {
				order = append(order, o.Buf)
			}
			byBuf[o.Buf] = append(byBuf[o.Buf], o)
		}
	}
	for _, b := range order {
		if b == keyword.BufPayload {
			c.payload = byBuf[b]
			continue
		}
		c.app = append(c.app, bufOps{buf: b, ops: byBuf[b], transforms: s.Transforms[b]})
	}
	if _, _, b, ok := s.FastPatternBytes(); ok {
		c.fpBuf = int(b)
	}
	// Not IP-only with flowint either: Suricata does not count the keyword
	// among the IP-only ones, and a counter must see every packet.
	c.ipOnly = len(s.Ops) == 0 && len(s.Packet) == 0 && len(s.StreamSize) == 0 && len(s.Flowints) == 0 && !s.Flow.Set && s.AppProto == "" &&
		r.SrcPorts.IsAny() && r.DstPorts.IsAny() && !c.pktOnly && !c.streamOnly
	for _, fb := range s.Flowbits {
		if fb.IsCheck() {
			c.ipOnly = false
		}
	}
	if s.Threshold != nil || s.Filter != nil {
		// Counting needs every packet.
		c.ipOnly = false
	}
	return c, nil
}

// setterRank ranks a rule by its state operations (flowbits, flowint,
// xbits) as Suricata orders signatures: rules that only change the state
// first, then those that change and test it, then those that only test
// it, then rules without any, so a change made by one rule is seen by
// another on the same packet.
func setterRank[T interface{ IsCheck() bool }](ops []T) int {
	set, read := false, false
	for _, o := range ops {
		if o.IsCheck() {
			read = true
		} else {
			set = true
		}
	}
	switch {
	case set && !read:
		return 0
	case set && read:
		return 1
	case read:
		return 2
	}
	return 3
}

func sortSigs(ss []*csig, rank map[Action]int) {
	sort.SliceStable(ss, func(i, j int) bool {
		a, b := ss[i], ss[j]
		if x, y := rank[a.action], rank[b.action]; x != y {
			return x < y
		}
		// Flowbits, then flowint, then xbits, as Suricata's sig-order does.
		if x, y := setterRank(a.sig.Flowbits), setterRank(b.sig.Flowbits); x != y {
			return x < y
		}
		if x, y := setterRank(a.sig.Flowints), setterRank(b.sig.Flowints); x != y {
			return x < y
		}
		if x, y := setterRank(a.sig.Xbits), setterRank(b.sig.Xbits); x != y {
			return x < y
		}
		if a.severity != b.severity {
			return a.severity < b.severity
		}
		return false
	})
}

func (c *csig) inBucket(b int) bool {
	if proto, ok := c.sig.IPProto(); ok && b != bucketOf(proto) {
		// `alert ip ... (ip_proto:41;)` can only match protocol 41.
		return false
	}
	switch c.rule.Proto {
	case "tcp", "tcp-pkt", "tcp-stream":
		return b == bTCP
	case "udp":
		return b == bUDP
	case "icmp", "icmpv4":
		return b == bICMP || b == bICMPv6
	case "icmpv6":
		return b == bICMPv6
	case "ip", "ipv4", "ipv6", "ip4", "ip6", "pkthdr":
		return true
	case "sctp":
		return b == bOther
	}
	// App-layer protocols ride on TCP or UDP.
	return b == bTCP || b == bUDP
}

// maxPrefilterLen caps the fast patterns the prefilters search for: a
// longer one is searched by its rarest maxPrefilterLen bytes. Streams and
// growing bodies are scanned in pieces that overlap by the longest
// pattern less one byte; ET Open's reach 150 (payload) and 660 (URI)
// bytes, which made small segments cost twice their size.
const maxPrefilterLen = 32

func (e *Engine) buildGroups() {
	home := homeSet(e.sigs) // payload_prefilter.go
	for b := 0; b < nBuckets; b++ {
		var bld [keyword.NumBuffers]mpm.Builder
		var alias [len(bufAliases)]mpm.Builder
		var pays []payRule
		g := &e.groups[b]
		g.appSub = &group{}
		for _, c := range e.sigs {
			if !c.inBucket(b) {
				continue
			}
			p, nocase, buf, ok := c.sig.FastPatternBytes()
			p = mpm.Window(p, maxPrefilterLen)
			if !ok {
				if len(c.app) > 0 {
					g.appSub.addAlways(c, b)
				} else {
					g.addAlways(c, b)
				}
				continue
			}
			if buf == keyword.BufPayload {
				pays = append(pays, payRule{c: c, p: p, nocase: nocase})
				continue
			}
			bld[buf].Add(p, nocase, uint32(c.num))
			for k, al := range bufAliases {
				if buf == al[0] || buf == al[1] {
					alias[k].Add(p, nocase, uint32(c.num))
				}
			}
		}
		for i := range bld {
			if bld[i].Len() > 0 {
				g.mpm[i] = bld[i].Build()
				g.mpmMax[i] = g.mpm[i].MaxLen()
			}
		}
		for k, al := range bufAliases {
			if bld[al[0]].Len() > 0 && bld[al[1]].Len() > 0 {
				m := alias[k].Build()
				g.alias = append(g.alias, aliasMpm{bufs: al, m: m, maxLen: m.MaxLen(), slot: keyword.NumBuffers + k})
			}
		}
		for k := range g.pay {
			g.pay[k] = buildPortPay(pays, k, b == bTCP || b == bUDP, home)
		}
	}
}

func addIndex(m map[uint32][]uint32, keys []uint32, id uint32) map[uint32][]uint32 {
	if m == nil {
		m = map[uint32][]uint32{}
	}
	for _, k := range keys {
		m[k] = append(m[k], id)
	}
	return m
}

// maxStreamBack caps the stream overlap kept for split patterns.
const maxStreamBack = 1024

// maxNetBlocks bounds how many /24 networks one rule may be indexed
// under; wider rules stay in the port or unindexed lists.
const maxNetBlocks = 1024

func (g *group) addAlways(c *csig, bucket int) {
	id := uint32(c.num)
	r := c.rule
	// Finest index first: host lists, then ports, then wide networks
	// such as $HOME_NET.
	if !r.Bidir && g.addNet(r, id, 0, 1) {
		return
	}
	if (bucket == bTCP || bucket == bUDP) && !r.Bidir {
		if ports, ok := r.DstPorts.Singles(); ok {
			if g.byDst == nil {
				g.byDst = map[uint16][]uint32{}
			}
			for _, p := range ports {
				g.byDst[p] = append(g.byDst[p], id)
			}
			return
		}
		if ports, ok := r.SrcPorts.Singles(); ok && r.DstPorts.IsAny() {
			if g.bySrc == nil {
				g.bySrc = map[uint16][]uint32{}
			}
			for _, p := range ports {
				g.bySrc[p] = append(g.bySrc[p], id)
			}
			return
		}
	}
	if !r.Bidir && g.addNet(r, id, 1, len(netShifts)) {
		return
	}
	g.always = append(g.always, id)
}

// addNet indexes the rule by source or destination network, trying
// netShifts[from:to]; it reports whether it did.
func (g *group) addNet(r *rules.Rule, id uint32, from, to int) bool {
	for i := from; i < to; i++ {
		sh := netShifts[i]
		if blocks, v6, ok := r.Src.Blocks(sh, maxNetBlocks); ok {
			g.bySrcNet[i] = addIndex(g.bySrcNet[i], blocks, id)
			if v6 {
				g.addV6(r.Src, id, true)
			}
			return true
		}
		if blocks, v6, ok := r.Dst.Blocks(sh, maxNetBlocks); ok {
			g.byDstNet[i] = addIndex(g.byDstNet[i], blocks, id)
			if v6 {
				g.addV6(r.Dst, id, false)
			}
			return true
		}
	}
	return false
}

// usesApp reports whether any rule needs app-layer protocol proto.
func (e *Engine) usesApp(proto string) bool {
	for _, c := range e.sigs {
		if c.appProto != "" && sameApp(proto, c.appProto) {
			return true
		}
		for _, b := range c.app {
			if b.buf.Info().App == proto || b.buf.Info().Name == "file.data" {
				return true
			}
		}
	}
	return false
}

// Len returns how many rules the engine runs.
func (e *Engine) Len() int { return len(e.sigs) }

// opRuns returns the [start, end) runs of ops on one buffer, and whether
// every buffer has a single run.
func opRuns(ops []keyword.Op) ([][2]int, bool) {
	var runs [][2]int
	for i := 0; i < len(ops); {
		j := i + 1
		for j < len(ops) && ops[j].Buf == ops[i].Buf {
			j++
		}
		for _, r := range runs {
			if ops[r[0]].Buf == ops[i].Buf {
				return nil, false
			}
		}
		runs = append(runs, [2]int{i, j})
		i = j
	}
	return runs, true
}
