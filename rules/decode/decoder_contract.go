package decode

// This file is the contract other packages build against; the decode helper
// replaces the stub bodies. Names and signatures are fixed.

// Reason names why a frame was counted as malformed (or otherwise not decoded).
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
	cfg   Config
	stats Stats
}

// NewDecoder returns a Decoder.
func NewDecoder(cfg Config) *Decoder { return &Decoder{cfg: cfg} }

// Decode decodes data of link type lt into p (which it resets first). It
// returns false when the frame is malformed; the reason is counted and p
// holds whatever layers decoded cleanly. A fragment yields p.Fragment and,
// when it completes a datagram, p describes the reassembled datagram with
// p.Reassembled set.
func (d *Decoder) Decode(lt LinkType, data []byte, p *Packet) bool { panic("decode: not implemented") }

// Stats returns a copy of the counters.
func (d *Decoder) Stats() Stats { return d.stats }

// String returns the reason's name, as used in stats output (e.g. "ipv4_trunc").
func (r Reason) String() string { return "unknown" }
