package decode

import "time"

// This file is the contract other packages build against. Names and
// signatures are fixed.

// Reason names why a frame was counted as malformed (or, for the few
// reasons documented as events, what happened to a frame that still decoded).
type Reason uint8

// Config tunes a Decoder.
type Config struct {
	// DefragMaxBytes caps memory held by incomplete fragment sets (0: 16 MiB).
	DefragMaxBytes int
}

// Stats counts what a Decoder saw. Reasons is indexed by Reason.
type Stats struct {
	Packets   uint64
	Decoded   uint64
	Malformed uint64
	Reasons   [32]uint64
}

// Decoder decodes frames into Packets. Not safe for concurrent use: give
// each worker its own.
type Decoder struct {
	cfg    Config
	stats  Stats
	defrag defragTable
	// reason is the first malformation seen while decoding the current
	// frame; Decode counts it once.
	reason Reason
	// inReasm is set while decoding a datagram rebuilt from fragments, so a
	// fragment header inside it is malformed rather than reassembled again.
	inReasm bool
}

const defaultDefragMaxBytes = 16 << 20

// NewDecoder returns a Decoder.
func NewDecoder(cfg Config) *Decoder {
	if cfg.DefragMaxBytes <= 0 {
		cfg.DefragMaxBytes = defaultDefragMaxBytes
	}
	d := &Decoder{cfg: cfg}
	d.defrag.init(cfg.DefragMaxBytes)
	return d
}

// Decode decodes data of link type lt into p (which it resets first). It
// returns false when the frame is malformed; the reason is counted and p
// holds whatever layers decoded cleanly. A fragment yields p.Fragment and,
// when it completes a datagram, p describes the reassembled datagram with
// p.Reassembled set.
//
// The capture metadata the caller set before the call (p.Timestamp, p.OrigLen,
// p.Num) survives the reset: fragment timeouts run on p.Timestamp, and an
// OrigLen beyond len(data) tells a snap-length cut (decoded as far as the
// bytes go, flagged p.Truncated) from a lying length field (malformed).
func (d *Decoder) Decode(lt LinkType, data []byte, p *Packet) bool {
	ts, orig, num := p.Timestamp, p.OrigLen, p.Num
	p.Reset()
	p.Timestamp, p.OrigLen, p.Num = ts, orig, num
	if p.OrigLen < len(data) {
		p.OrigLen = len(data)
	}
	p.LinkType = lt
	p.Data = data
	d.stats.Packets++
	d.reason = ReasonNone
	d.inReasm = false
	d.decodeLink(lt, data, p)
	if d.reason != ReasonNone {
		d.stats.Malformed++
		d.stats.Reasons[d.reason]++
		return false
	}
	d.stats.Decoded++
	return true
}

// Stats returns a copy of the counters.
func (d *Decoder) Stats() Stats { return d.stats }

// bad records the first malformation of the current frame.
func (d *Decoder) bad(r Reason) {
	if d.reason == ReasonNone {
		d.reason = r
	}
}

// event counts something that does not make the frame malformed.
func (d *Decoder) event(r Reason) { d.stats.Reasons[r]++ }

// now is the packet time used for fragment timeouts. Frames without a
// timestamp (live sources that don't stamp) take the latest time seen, so
// their fragments expire by memory pressure only.
func (d *Decoder) now(p *Packet) time.Time {
	if p.Timestamp.IsZero() {
		return d.defrag.lastSeen
	}
	if p.Timestamp.After(d.defrag.lastSeen) {
		d.defrag.lastSeen = p.Timestamp
	}
	return p.Timestamp
}
