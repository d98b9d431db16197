package detect

import (
	"slices"

	"github.com/tapwatch/tapwatch/rules/decode"
	"github.com/tapwatch/tapwatch/rules/flow"
	"github.com/tapwatch/tapwatch/rules/stream"
)

// flowEnd runs what a flow's retirement (timeout or end of capture) owes
// it: stream data still held behind holes is inspected, then the app layer
// hears both directions closed.
func (w *Worker) flowEnd(f *flow.Flow, emit func(*Alert)) {
	fs, ok := f.Detect.(*flowState)
	if !ok || fs.passed {
		return
	}
	if f.TCP != nil {
		w.flushStream(f, fs, flow.ToServer, true, emit)
		w.flushStream(f, fs, flow.ToClient, true, emit)
	}
	w.appClose(w.pseudoPacket(f), f, fs, emit)
}

// connClosed runs when p closed f's TCP connection (FIN both ways or RST):
// data still waiting for an acknowledgement in either direction is
// inspected and parsed before the app layer hears the close, which p
// carries.
func (w *Worker) connClosed(p *decode.Packet, f *flow.Flow, fs *flowState, emit func(*Alert)) {
	if fs == nil || fs.passed {
		return
	}
	w.flushStream(f, fs, flow.ToServer, false, emit)
	w.flushStream(f, fs, flow.ToClient, false, emit)
	if !fs.passed {
		w.appClose(p, f, fs, emit)
	}
}

// flushStream inspects the data dir's stream still holds when its flow
// ends: segments that waited for a hole the capture never filled. Like
// Suricata, stream rules see it on a pseudo packet (EVE pkt_src "stream
// (flow timeout)") whose payload is the data, after the missing bytes.
//
// The app layer is fed only data that follows no hole: a parser
// resynchronising after one would read the middle of a message as its
// start.
//
// drain also skips holes (the flow is gone, they will never fill); without
// it only data waiting for its acknowledgement is taken.
func (w *Worker) flushStream(f *flow.Flow, fs *flowState, dir flow.Dir, drain bool, emit func(*Alert)) {
	e := w.e
	sdir := stream.Dir(dir & 1)
	for i := 0; ; i++ {
		gaps := f.TCP.Stats(sdir).GapBytes
		var data []byte
		if drain {
			data = f.TCP.Drain(sdir)
		} else if i == 0 {
			data = f.TCP.Release(sdir)
		}
		if len(data) == 0 || i == drainMax {
			return
		}
		p := w.streamPseudo(f, dir)
		if !drain {
			p.Src = decode.PktSrcStreamFlush
		}
		p.StreamGap = uint32(f.TCP.Stats(sdir).GapBytes - gaps)
		g := &e.groups[bucketOf(p.IPProto)]
		w.beginCands()
		w.addAlways(g, p, false, fs, dir)
		w.prefilterData(g.payload(f, fs, dir), data)
		slices.Sort(w.cands)
		w.stats.Candidates += uint64(len(w.cands))
		w.hits = w.hits[:0]
		for _, id := range w.cands {
			c := e.sigs[id]
			// The pseudo packet has no payload while rules run, so
			// packet-only rules cannot match data no packet carried.
			ok, st := w.match(c, p, f, fs, dir, data, 0, true)
			if !ok || !st {
				continue
			}
			w.postMatch(c, p, f, fs)
			if c.sig.NoAlert && c.action != ActionPass && c.action != ActionDrop {
				continue
			}
			if !w.thresholdOK(c, p) {
				continue
			}
			w.hits = append(w.hits, hit{c: c, stream: true, flowScope: true})
		}
		p.Payload = data // logged as the alert's payload
		w.finish(p, f, fs, dir, emit)
		if p.StreamGap == 0 && !fs.passed {
			// Data that waited for its acknowledgement (stream.Config.AckGate)
			// is whole: the parser gets it like any other.
			w.appFeed(p, f, fs, dir, data, false, emit)
		}
	}
}

// drainMax bounds the holes one flush walks: Drain skips one per call and
// a stream holds at most stream.DefaultMaxSegments ranges.
const drainMax = stream.DefaultMaxSegments + 1

// streamPseudo describes dir of f for alerts on stream data inspected when
// the flow ended.
func (w *Worker) streamPseudo(f *flow.Flow, dir flow.Dir) *decode.Packet {
	p := w.pseudoPacket(f)
	if dir == flow.ToClient {
		p.SrcIP, p.DstIP, p.SrcPort, p.DstPort = p.DstIP, p.SrcIP, p.DstPort, p.SrcPort
	}
	p.Src = decode.PktSrcFlowTimeout
	return p
}

// settingOn reads a boolean Suricata setting ("yes", "true", "on", "1").
func settingOn(v string) bool {
	switch v {
	case "yes", "true", "on", "1":
		return true
	}
	return false
}

// ackGate decides stream.Config.AckGate: in IDS mode (stream.inline "no",
// or "auto" without IPS, Suricata's default) streams are inspected as far
// as the receiver acknowledged them; inline, what the sensor is about to
// forward. An engine built without stream.inline (no configuration at
// all) inspects data as it arrives.
func ackGate(o Options) bool {
	v, ok := o.Settings["stream.inline"]
	if !ok {
		return false
	}
	return !settingOn(v) && !(v == "auto" && o.IPS)
}
