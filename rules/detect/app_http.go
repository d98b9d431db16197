package detect

import (
	"bytes"

	"github.com/tapwatch/tapwatch/rules/decode"
	"github.com/tapwatch/tapwatch/rules/flow"
	"github.com/tapwatch/tapwatch/rules/keyword"
	"github.com/tapwatch/tapwatch/rules/proto/dns"
	"github.com/tapwatch/tapwatch/rules/proto/http"
	"github.com/tapwatch/tapwatch/rules/proto/ssh"
	"github.com/tapwatch/tapwatch/rules/proto/tls"
)

// appState is a flow's app-layer progress: protocol detection, then the
// parser that turns the reassembled streams into transactions.
type appState struct {
	probes [2]uint8 // chunks seen per direction without a verdict
	failed bool
	eof    bool   // both directions were closed for the parser
	proto  string // detected protocol: "http", "tls", "dns", "ssh" or ""
	// backlog is how many stream bytes, new ones included, detection
	// looked at in a direction that the parser has yet to see.
	backlog [2]int
	http    *http.Parser
	tls     *tlsFlow
	dns     *dnsFlow
	ssh     *ssh.Parser
	// sniff reads HTTP names when the HTTP parser is off (app_names.go).
	sniff *httpSniff
	// prog remembers each live transaction's progress when it was last
	// inspected, per direction, so unchanged ones are not rescanned.
	// Transaction IDs count up from 0 per connection: prog[i] is that of
	// ID progBase+i, found without a search.
	prog     [][2]txProgress
	progBase int
}

type txProgress struct {
	set   bool
	flags uint8
	body  int64
}

// bodyStep is how much a body must grow before a transaction whose other
// parts are unchanged is inspected again: rescanning a growing body on
// every segment would make inspection quadratic in its size.
const bodyStep = 32 << 10

// stageOf summarises which parts of a transaction are complete.
func stageOf(t *http.Tx) uint8 {
	return bit(t.RequestLineDone) | bit(t.RequestHeadersDone)<<1 | bit(t.RequestDone)<<2 |
		bit(t.ResponseLineDone)<<3 | bit(t.ResponseHeadersDone)<<4 | bit(t.ResponseDone)<<5
}

func bit(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// fresh reports whether tx got far enough since it was last inspected in
// dir to be inspected again, recording its progress when it did.
func (st *appState) fresh(t *http.Tx, dir flow.Dir) bool {
	i := t.ID - st.progBase
	if i < 0 {
		return true // forgotten: released before, so never asked about again
	}
	for len(st.prog) <= i {
		st.prog = append(st.prog, [2]txProgress{})
	}
	x := &st.prog[i][dir&1]
	flags, body := stageOf(t), t.RequestBodyLen+t.ResponseBodyLen
	if x.set && x.flags == flags && body-x.body < bodyStep {
		return false
	}
	*x = txProgress{set: true, flags: flags, body: body}
	return true
}

// forget drops the progress records of transactions older than oldest,
// the first one the parser still holds.
func (st *appState) forget(oldest int) {
	k := min(oldest-st.progBase, len(st.prog))
	if k <= 0 {
		return
	}
	n := copy(st.prog, st.prog[k:])
	clear(st.prog[n:])
	st.prog = st.prog[:n]
	st.progBase += k
}

// maxProbes is how many chunks per direction detection looks at before it
// gives up on a flow, as Suricata stops probing after a while.
const maxProbes = 3

// maxProbeBytes bounds how much of a stream's start detection rereads.
const maxProbeBytes = 2048

// The HTTP multi-buffers.
var (
	bufReqHeader, _  = keyword.BufferByName("http.request_header")
	bufRespHeader, _ = keyword.BufferByName("http.response_header")
)

// httpBuffers lists the buffer ids the HTTP parser supplies.
func httpBuffers() []keyword.Buffer {
	var out []keyword.Buffer
	for i := 1; i < keyword.NumBuffers; i++ {
		b := keyword.Buffer(i)
		if info := b.Info(); info.App == "http" || info.Name == "file.data" {
			out = append(out, b)
		}
	}
	return out
}

// appFeed hands newly in-order stream bytes to the flow's app-layer parser,
// detecting the protocol first (by content, on any port), and inspects the
// transactions they advanced. eof says the direction ended. Detection runs
// for every flow, bounded to maxProbes chunks a direction, so alerts and
// logs carry app_proto; parsing runs only for protocols some rule needs.
func (w *Worker) appFeed(p *decode.Packet, f *flow.Flow, fs *flowState, dir flow.Dir, data []byte, eof bool, emit func(*Alert)) Verdict {
	if f == nil {
		return VerdictPass
	}
	st := &fs.app
	if st.proto == "" {
		w.appDetect(f, fs, dir, data)
	}
	if st.failed {
		return VerdictPass
	}
	if n := st.backlog[dir&1]; n > 0 {
		// Bytes probed before the protocol was known; Window is still
		// the one detection saw, as the stream has not moved since.
		st.backlog[dir&1] = 0
		if win := f.TCP.Window(dir, n); len(win) == n && bytes.HasSuffix(win, data) {
			data = win
		}
	}
	// With names recorded (SetRecordNames), the TLS and DNS parsers run
	// for them alone when no rule needs them, and HTTP heads are sniffed.
	switch st.proto {
	case "http":
		if w.e.httpEnabled {
			return w.httpFeed(p, f, st, dir, data, eof, emit)
		}
		if w.app.names {
			sniffHTTPNames(f, st, dir, data)
		}
	case "tls":
		if w.e.tlsEnabled || w.app.names {
			return w.tlsFeed(p, f, st, dir, data, emit)
		}
	case "dns":
		if w.e.dnsEnabled || w.app.names {
			return w.dnsStreamFeed(p, f, st, dir, data, emit)
		}
	case "ssh":
		return w.sshFeed(p, f, st, dir, data, emit) // app_ssh.go
	}
	return VerdictPass
}

// appDetect runs protocol detection on new stream bytes. Process calls it
// before the packet's rules, as Suricata detects the protocol before
// inspecting the packet, so `alert http ... content:...` rules see the
// flow's protocol on the packet that revealed it.
func (w *Worker) appDetect(f *flow.Flow, fs *flowState, dir flow.Dir, data []byte) {
	if f == nil || fs == nil || len(data) == 0 {
		return
	}
	st := &fs.app
	if st.failed || st.proto != "" {
		return
	}
	probe := data
	if f.TCP != nil && f.TCP.Offset(dir) <= maxProbeBytes {
		// Detect on the stream from its start: a first segment may be too
		// short to decide ("GE", half a DNS frame).
		if win := f.TCP.Window(dir, maxProbeBytes); len(win) > len(data) && bytes.HasSuffix(win, data) {
			probe = win
		}
	}
	st.proto = detectStream(f, dir, probe)
	if st.proto != "" && len(probe) > len(data) {
		// The parser must see those earlier bytes too (appFeed).
		st.backlog[dir&1] = len(probe)
	}
	if st.proto == "" {
		st.probes[dir&1]++
		if st.probes[dir&1] >= maxProbes {
			st.failed = true
			if f.AppProto == "" {
				f.AppProto = "failed"
			}
		}
		return
	}
	f.AppProto = st.proto
}

// detectStream names the protocol data (the first bytes of dir's stream)
// speaks, or "" when it cannot tell yet. DNS over TCP has no magic bytes,
// so it is only recognised on DNS's port, as Suricata's probing does. SSH
// is recognised from either side, since its server speaks first.
func detectStream(f *flow.Flow, dir flow.Dir, data []byte) string {
	switch {
	case tls.Probe(tls.Dir(dir&1), data):
		return "tls"
	case ssh.Probe(data):
		return "ssh"
	case http.Probe(http.Dir(dir&1), data):
		return "http"
	case (f.Key.SrcPort == 53 || f.Key.DstPort == 53) && dns.ProbeTCP(data):
		return "dns"
	}
	return ""
}

// httpFeed parses HTTP stream bytes and inspects the transactions they
// advanced.
func (w *Worker) httpFeed(p *decode.Packet, f *flow.Flow, st *appState, dir flow.Dir, data []byte, eof bool, emit func(*Alert)) Verdict {
	if st.http == nil {
		st.http = http.NewParser(w.httpConfig())
	}
	st.http.Feed(http.Dir(dir&1), data, eof)
	verdict := VerdictPass
	done := w.doneTx[:0]
	for _, tx := range st.http.Changed() {
		if tx == nil || !st.fresh(tx, dir) {
			continue
		}
		if w.app.names {
			httpTxNames(f, tx) // app_names.go
		}
		tb := &w.tx
		tb.Reset()
		tb.TxID = tx.ID
		tb.AppProto = "http"
		used := w.usedBuffers()
		for _, b := range w.e.httpBufs {
			if !used[b] {
				continue
			}
			switch b {
			case bufReqHeader, bufRespHeader:
				// Multi-buffers: one "Name: value" entry per header. Built
				// per inspection (it allocates), so only for rules using them.
				if v := tx.Buffers(b.String(), http.Dir(dir&1)); v != nil {
					tb.SetMulti(b, v)
				}
			default:
				if v, ok := tx.Buffer(b.String(), http.Dir(dir&1)); ok {
					tb.Set(b, v)
				}
			}
		}
		w.curHTTP = tx
		if w.InspectTx(p, f, dir, tb, emit) == VerdictDrop {
			verdict = VerdictDrop
		}
		w.curHTTP = nil
		if tx.RequestDone && tx.ResponseDone {
			done = append(done, tx.ID)
		}
	}
	// Released after the loop: Done reshapes the slice Txs returned.
	for _, id := range done {
		st.http.Done(id)
	}
	if txs := st.http.Txs(); len(txs) > 0 {
		st.forget(txs[0].ID)
	} else {
		st.forget(st.progBase + len(st.prog))
	}
	w.doneTx = done
	return verdict
}

// appClose tells the flow's parser both directions ended (FIN/RST or the
// flow's retirement), so a response delimited by the connection close
// completes and is inspected.
func (w *Worker) appClose(p *decode.Packet, f *flow.Flow, fs *flowState, emit func(*Alert)) {
	if fs == nil || fs.app.http == nil || fs.app.proto != "http" || fs.app.eof {
		return
	}
	fs.app.eof = true
	w.appFeed(p, f, fs, flow.ToServer, nil, true, emit)
	w.appFeed(p, f, fs, flow.ToClient, nil, true, emit)
}

// pseudoPacket describes f's client-to-server direction for alerts raised
// when a flow is retired, where no real packet is at hand.
func (w *Worker) pseudoPacket(f *flow.Flow) *decode.Packet {
	p := &w.pseudo
	*p = decode.Packet{Timestamp: f.Last, SrcIP: f.Key.Src, DstIP: f.Key.Dst,
		SrcPort: f.Key.SrcPort, DstPort: f.Key.DstPort, IPProto: f.Key.Proto, L4Header: w.pseudoL4[:]}
	p.IPVersion = 4
	if f.Key.Src.Is6() && !f.Key.Src.Is4In6() {
		p.IPVersion = 6
	}
	return p
}
