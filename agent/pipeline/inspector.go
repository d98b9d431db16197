package pipeline

import (
	"time"

	"github.com/tapwatch/tapwatch/rules/decode"
	"github.com/tapwatch/tapwatch/rules/detect"
)

// Processor is the detection step: a detect.Worker, or a stand-in in tests.
type Processor interface {
	Process(p *decode.Packet, zone uint32, emit func(*detect.Alert)) detect.Verdict
}

// Inspector decodes one frame at a time and runs detection on it and on each
// packet tunnelled inside it, as Suricata inspects tunnel pseudo packets
// after the packet that carries them. Replay and the live pipeline share it
// so a capture and the wire are inspected alike. Not safe for concurrent use.
type Inspector struct {
	dec *decode.Decoder
	// pkts[0] is the frame; the rest hold one tunnelled packet per level.
	pkts [decode.MaxTunnelDepth + 1]decode.Packet
}

// NewInspector returns an Inspector decoding with dec.
func NewInspector(dec *decode.Decoder) *Inspector { return &Inspector{dec: dec} }

// Decoder is the Inspector's decoder (for its counters).
func (in *Inspector) Decoder() *decode.Decoder { return in.dec }

// Decode decodes a frame; the packet stays valid until the next Decode.
// ok is false when the frame was malformed (it is still inspected as far as
// it decoded).
func (in *Inspector) Decode(lt decode.LinkType, data []byte, ts time.Time, num uint64, origLen int) (p *decode.Packet, ok bool) {
	p = &in.pkts[0]
	// Decode keeps these across its reset: defragmentation timeouts need the
	// time, truncation detection the original length.
	p.Timestamp, p.Num, p.OrigLen = ts, num, origLen
	return p, in.dec.Decode(lt, data, p)
}

// Run inspects the last decoded frame and the packets tunnelled inside it,
// reporting whether any of them is to be dropped.
func (in *Inspector) Run(w Processor, zone uint32, emit func(*detect.Alert)) (drop bool) {
	drop = w.Process(&in.pkts[0], zone, emit) == detect.VerdictDrop
	for i := 1; i < len(in.pkts) && in.dec.DecodeInner(&in.pkts[i-1], &in.pkts[i]); i++ {
		if w.Process(&in.pkts[i], zone, emit) == detect.VerdictDrop {
			drop = true
		}
	}
	return drop
}
