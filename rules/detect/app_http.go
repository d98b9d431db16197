package detect

import (
	"github.com/tapwatch/tapwatch/rules/decode"
	"github.com/tapwatch/tapwatch/rules/flow"
	"github.com/tapwatch/tapwatch/rules/keyword"
	"github.com/tapwatch/tapwatch/rules/proto/http"
)

// appState is a flow's app-layer progress: protocol detection, then the
// parser that turns the reassembled streams into transactions.
type appState struct {
	probes [2]uint8 // chunks seen per direction without a verdict
	failed bool
	eof    bool // both directions were closed for the parser
	http   *http.Parser
	// inspected remembers each live transaction's progress when it was
	// last inspected per direction, so unchanged ones are not rescanned.
	inspected []txProgress
}

type txProgress struct {
	id    int
	dir   flow.Dir
	flags uint8
	body  int64
}

// bodyStep is how much a body must grow before a transaction whose other
// parts are unchanged is inspected again: rescanning a growing body on
// every segment would make inspection quadratic in its size.
const bodyStep = 32 << 10

// stageOf summarises which parts of a transaction are complete.
func stageOf(t *http.Tx) uint8 {
	var flags uint8
	for i, b := range [...]bool{t.RequestLineDone, t.RequestHeadersDone, t.RequestDone,
		t.ResponseLineDone, t.ResponseHeadersDone, t.ResponseDone} {
		if b {
			flags |= 1 << i
		}
	}
	return flags
}

// fresh reports whether tx got far enough since it was last inspected in
// dir to be inspected again, recording its progress when it did.
func (st *appState) fresh(t *http.Tx, dir flow.Dir) bool {
	flags, body := stageOf(t), t.RequestBodyLen+t.ResponseBodyLen
	for i := range st.inspected {
		x := &st.inspected[i]
		if x.id == t.ID && x.dir == dir {
			if x.flags == flags && body-x.body < bodyStep {
				return false
			}
			x.flags, x.body = flags, body
			return true
		}
	}
	st.inspected = append(st.inspected, txProgress{id: t.ID, dir: dir, flags: flags, body: body})
	return true
}

// forget drops the progress records of a released transaction.
func (st *appState) forget(id int) {
	out := st.inspected[:0]
	for _, x := range st.inspected {
		if x.id != id {
			out = append(out, x)
		}
	}
	st.inspected = out
}

// maxProbes is how many chunks per direction detection looks at before it
// gives up on a flow, as Suricata stops probing after a while.
const maxProbes = 3

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
// detecting the protocol first, and inspects the transactions they
// advanced. eof says the direction ended.
func (w *Worker) appFeed(p *decode.Packet, f *flow.Flow, fs *flowState, dir flow.Dir, data []byte, eof bool, emit func(*Alert)) Verdict {
	if !w.e.httpEnabled || f == nil {
		return VerdictPass
	}
	st := &fs.app
	if st.failed {
		return VerdictPass
	}
	if st.http == nil {
		if len(data) == 0 {
			return VerdictPass
		}
		if !http.Probe(http.Dir(dir&1), data) {
			st.probes[dir&1]++
			if st.probes[dir&1] >= maxProbes {
				st.failed = true
				if f.AppProto == "" {
					f.AppProto = "failed"
				}
			}
			return VerdictPass
		}
		st.http = http.NewParser(http.Config{})
		f.AppProto = "http"
	}
	st.http.Feed(http.Dir(dir&1), data, eof)
	verdict := VerdictPass
	done := w.doneTx[:0]
	for _, tx := range st.http.Txs() {
		if tx == nil || !st.fresh(tx, dir) {
			continue
		}
		tb := &w.tx
		tb.Reset()
		tb.TxID = tx.ID
		tb.AppProto = "http"
		for _, b := range w.e.httpBufs {
			if v, ok := tx.Buffer(b.String(), http.Dir(dir&1)); ok {
				tb.Set(b, v)
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
		st.forget(id)
		st.http.Done(id)
	}
	w.doneTx = done
	return verdict
}

// appClose tells the flow's parser both directions ended (FIN/RST or the
// flow's retirement), so a response delimited by the connection close
// completes and is inspected.
func (w *Worker) appClose(p *decode.Packet, f *flow.Flow, fs *flowState, emit func(*Alert)) {
	if fs == nil || fs.app.http == nil || fs.app.eof {
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
