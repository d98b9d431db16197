package detect

import (
	"slices"

	"github.com/tapwatch/tapwatch/rules/conf"
	"github.com/tapwatch/tapwatch/rules/decode"
	"github.com/tapwatch/tapwatch/rules/flow"
	"github.com/tapwatch/tapwatch/rules/keyword"
	"github.com/tapwatch/tapwatch/rules/proto/dns"
	"github.com/tapwatch/tapwatch/rules/proto/http"
	"github.com/tapwatch/tapwatch/rules/proto/ssh"
	"github.com/tapwatch/tapwatch/rules/proto/tls"
)

// TxBuffers is what an app-layer parser hands the engine for one
// transaction (or one packet, for protocols without transactions): the
// inspection buffers it extracted, by keyword.Buffer id. Parsers reuse one
// TxBuffers; Set keeps the slices, it does not copy them.
type TxBuffers struct {
	TxID     int
	AppProto string
	// App is metadata logged with alerts (EVE "http", "dns", "tls" objects).
	App  map[string]any
	bufs [keyword.NumBuffers][]byte
	has  [keyword.NumBuffers]bool
	// multi holds multi-buffers (dns.query, tls.certs): a rule's tests on
	// such a buffer match when they all match within one entry.
	multi   [keyword.NumBuffers][][]byte
	isMulti [keyword.NumBuffers]bool
	// The parser state behind the buffers, for the EVE object of an alert,
	// which is built only when a rule alerts.
	tls *tls.State
	dns *dns.Message
	ssh *ssh.Parser
}

// workerApp is a Worker's app-layer scratch space.
type workerApp struct {
	dnsMsg dns.Message // a UDP datagram's message, reused
	// used marks the buffers some rule inspects, so parsers skip building
	// the others; computed on first use.
	used     [keyword.NumBuffers]bool
	usedInit bool
	httpCfg  *http.Config
	// names: record each flow's application-layer names (SetRecordNames).
	names bool
}

// SetRecordNames asks the worker to keep, on each flow, the
// application-layer names it reveals (flow.Flow.Names: HTTP Server and
// User-Agent headers and request host, TLS SNI and certificate names, DNS
// query names, SSH identification lines), for a host's profile of what
// each machine is. Names are read even for protocols no rule inspects, at
// a bounded cost: the TLS and DNS parsers run (the TLS one stops after the
// handshake), and HTTP flows whose parser is off have only their first
// request and response headers read (app_names.go). Call it before the
// worker's first packet.
func (w *Worker) SetRecordNames(on bool) { w.app.names = on }

// usedBuffers returns which app-layer buffers some rule of the engine
// inspects.
func (w *Worker) usedBuffers() *[keyword.NumBuffers]bool {
	a := &w.app
	if !a.usedInit {
		for _, c := range w.e.sigs {
			for _, bo := range c.app {
				a.used[bo.buf] = true
			}
		}
		a.usedInit = true
	}
	return &a.used
}

// appEVE returns the app-layer object logged with an alert on the
// transaction being inspected (EVE "http", "dns" or "tls").
func (w *Worker) appEVE() map[string]any {
	switch {
	case w.curHTTP != nil:
		return map[string]any{"http": w.curHTTP.EVE()}
	case w.curTx == nil:
		return nil
	case w.curTx.tls != nil:
		return map[string]any{"tls": w.curTx.tls.EVE()}
	case w.curTx.dns != nil:
		// Suricata 8 logs DNS alerts in its version 3 format.
		return map[string]any{"dns": w.curTx.dns.EVEv3(w.curTx.TxID)}
	case w.curTx.ssh != nil:
		return map[string]any{"ssh": sshEVE(w.curTx.ssh)}
	}
	return nil
}

// Reset clears every buffer.
func (t *TxBuffers) Reset() {
	*t = TxBuffers{}
}

// Set supplies buffer b.
func (t *TxBuffers) Set(b keyword.Buffer, data []byte) {
	t.bufs[b], t.has[b] = data, true
}

// SetMulti supplies multi-buffer b, one entry per element (kept, not copied).
func (t *TxBuffers) SetMulti(b keyword.Buffer, entries [][]byte) {
	t.multi[b], t.isMulti[b], t.has[b] = entries, true, true
	t.bufs[b] = nil
}

// Get returns buffer b and whether it was supplied.
func (t *TxBuffers) Get(b keyword.Buffer) ([]byte, bool) { return t.bufs[b], t.has[b] }

// txSeen remembers which rules alerted on which transaction of a flow, so
// a transaction inspected again as it grows alerts once per rule.
type txSeen struct {
	num  int
	txID int
}

// InspectTx evaluates the rules that inspect app-layer buffers against
// tx, which belongs to f and was completed or extended by packet p moving
// in dir. App-layer parsers call it from the packet path.
func (w *Worker) InspectTx(p *decode.Packet, f *flow.Flow, dir flow.Dir, tx *TxBuffers, emit func(*Alert)) Verdict {
	e := w.e
	fs := flowStateOf(f)
	if fs != nil && (fs.passed || fs.dropped && e.opts.IPS) {
		return VerdictPass
	}
	g := &e.groups[bucketOf(p.IPProto)]
	w.beginCands()
	w.addAlways(g, p, true, fs, dir)
	done := w.scanAliases(g, tx) // txscan.go
	for b := 1; b < keyword.NumBuffers; b++ {
		m := g.mpm[b]
		if m == nil || !tx.has[b] || done[b] {
			continue
		}
		if tx.isMulti[b] {
			for _, v := range tx.multi[b] {
				if len(v) > 0 {
					m.Scan(v, &w.msc, w.onHit)
				}
			}
		} else if len(tx.bufs[b]) > 0 {
			w.scanTxBuf(b, m, g.mpmMax[b], tx.bufs[b]) // txscan.go
		}
	}
	slices.Sort(w.cands)
	w.stats.TxCandidates += uint64(len(w.cands))
	w.stats.Txs++
	w.hits = w.hits[:0]
	for _, id := range w.cands {
		c := e.sigs[id]
		if len(c.app) == 0 || !w.matchCommon(c, p, f, fs, dir) {
			continue
		}
		if c.appProto != "" && !sameApp(tx.AppProto, c.appProto) && c.appProto != tx.AppProto {
			continue
		}
		ok := true
		for _, bo := range c.app {
			if !w.inspectBuf(tx, bo) {
				ok = false
				break
			}
		}
		if ok && len(c.payload) > 0 {
			ok = len(p.Payload) > 0 && keyword.Inspect(c.payload, p.Payload, &w.ksc)
		}
		if !ok {
			continue
		}
		if fs != nil {
			k := txSeen{num: c.num, txID: tx.TxID}
			if _, dup := fs.txAlerted[k]; dup {
				continue
			}
			if fs.txAlerted == nil {
				fs.txAlerted = map[txSeen]struct{}{}
			}
			fs.txAlerted[k] = struct{}{}
		}
		w.postMatch(c, p, f, fs)
		if !w.thresholdOK(c, p) {
			continue
		}
		w.hits = append(w.hits, hit{c: c, flowScope: true})
	}
	w.curTx = tx
	v := w.finish(p, f, fs, dir, emit)
	w.curTx = nil
	return v
}

// enableApps turns on the DNS and TLS parsers when some rule can use what
// they find, as compile does for HTTP: flows of other protocols only get
// their protocol detected.
func (e *Engine) enableApps(opts Options) {
	e.dnsEnabled = opts.Settings["app-layer.protocols.dns.enabled"] != "no" && e.usesApp("dns")
	e.tlsEnabled = opts.Settings["app-layer.protocols.tls.enabled"] != "no" && e.usesApp("tls")
}

// inspectBuf runs one buffer's tests of a rule against tx; a multi-buffer
// matches when any one entry satisfies all of them.
func (w *Worker) inspectBuf(tx *TxBuffers, bo bufOps) bool {
	if !tx.has[bo.buf] {
		return false
	}
	one := func(buf []byte) bool {
		if len(bo.transforms) > 0 {
			buf = keyword.ApplyTransforms(bo.transforms, buf, &w.xa, &w.xb)
		}
		return keyword.Inspect(bo.ops, buf, &w.ksc)
	}
	if !tx.isMulti[bo.buf] {
		return one(tx.bufs[bo.buf])
	}
	for _, v := range tx.multi[bo.buf] {
		if one(v) {
			return true
		}
	}
	return false
}

// httpConfigKey prefixes the libhtp settings Suricata applies to flows no
// server-config names.
const httpConfigKey = "app-layer.protocols.http.libhtp.default-config."

// httpConfig returns the HTTP parser settings from the engine's Suricata
// config; values that do not parse keep the parser's defaults (the config
// loader reports those).
func (w *Worker) httpConfig() http.Config {
	if c := w.app.httpCfg; c != nil {
		return *c
	}
	var c http.Config
	size := func(k string) int {
		v, ok := w.e.opts.Settings[httpConfigKey+k]
		if !ok {
			return 0
		}
		n, err := conf.ParseSize(v)
		if err != nil || n < 0 || n > 1<<31 {
			return 0
		}
		if n == 0 {
			// 0 means unlimited in Suricata; bound it to what a flow may
			// reasonably hold.
			return 1 << 30
		}
		return int(n)
	}
	c.RequestBodyLimit = size("request-body-limit")
	c.ResponseBodyLimit = size("response-body-limit")
	if v, ok := w.e.opts.Settings[httpConfigKey+"response-body-decompress-layer-limit"]; ok {
		if n, err := conf.ParseSize(v); err == nil {
			c.DecompressLayerLimit = int(n)
			if n == 0 {
				c.DecompressLayerLimit = -1 // 0 disables decompression
			}
		}
	}
	w.app.httpCfg = &c
	return c
}
