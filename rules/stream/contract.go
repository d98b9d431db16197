package stream

// This file is the contract other packages build against; the stream helper
// fills in the bodies and may add fields, but must not rename these.
// The state machine lives in track.go, reassembly in reassemble.go.

// Dir is a direction within a connection.
type Dir uint8

// ToServer is client to server; ToClient the reverse.
const (
	ToServer Dir = 0
	ToClient Dir = 1
)

// State is the TCP connection state as Suricata names it.
type State uint8

// Connection states, in Suricata's order: everything from StateEstablished
// on has completed (or skipped, midstream) the handshake.
const (
	StateNone State = iota
	StateSynSent
	StateSynRecv
	StateEstablished
	StateFinWait1
	StateFinWait2
	StateClosing
	StateCloseWait
	StateLastAck
	StateTimeWait
	StateClosed
)

// String returns the state as Suricata's EVE tcp.state spells it.
func (s State) String() string {
	switch s {
	case StateNone:
		return "none"
	case StateSynSent:
		return "syn_sent"
	case StateSynRecv:
		return "syn_recv"
	case StateEstablished:
		return "established"
	case StateFinWait1:
		return "fin_wait1"
	case StateFinWait2:
		return "fin_wait2"
	case StateClosing:
		return "closing"
	case StateCloseWait:
		return "close_wait"
	case StateLastAck:
		return "last_ack"
	case StateTimeWait:
		return "time_wait"
	case StateClosed:
		return "closed"
	}
	return "unknown"
}

// Config tunes reassembly.
type Config struct {
	Depth     int  // bytes per direction reassembled for inspection (0: 1 MiB, Suricata's stream.reassembly.depth)
	Midstream bool // accept sessions picked up without a handshake
	// AsyncOneside accepts a session whose other side is never seen
	// (Suricata's stream.async-oneside).
	AsyncOneside bool
	// AckGate returns a direction's bytes only once the peer acknowledged
	// them, as Suricata inspects streams in IDS mode: data the receiver
	// never accepted is not what it will act on.
	AckGate bool
	// Policies gives each receiving host's overlap policy (Suricata's
	// host-os-policy); nil keeps the first copy everywhere. It acts on
	// data not yet returned, so only with AckGate.
	Policies *Policies

	// MaxBuffered caps the out-of-order bytes held per direction, measured
	// from the next expected byte (0: 256 KiB); segments beyond it are
	// dropped and counted in Stats.DroppedBytes.
	MaxBuffered int
	// MaxSegments caps the number of separate out-of-order ranges held per
	// direction (0: 256), so a flood of tiny holes cannot cost O(n²).
	MaxSegments int
	// Window is how many recent reassembled bytes per direction Window can
	// return (0: 64 KiB).
	Window int
	// History, when set, is how many bytes delivered before the newest
	// delivery Window must still return (bytes awaiting their
	// acknowledgement are kept regardless). A consumer that only looks a
	// little behind each delivery (a prefilter's overlap, protocol
	// detection) sets it so each flow holds a few KiB instead of Window.
	History int
}

// Defaults for the zero Config fields.
const (
	DefaultDepth       = 1 << 20
	DefaultMaxBuffered = 256 << 10
	DefaultMaxSegments = 256
	DefaultWindow      = 64 << 10
)

func (c Config) withDefaults() Config {
	if c.Depth <= 0 {
		c.Depth = DefaultDepth
	}
	if c.MaxBuffered <= 0 {
		c.MaxBuffered = DefaultMaxBuffered
	}
	if c.MaxSegments <= 0 {
		c.MaxSegments = DefaultMaxSegments
	}
	if c.Window <= 0 {
		c.Window = DefaultWindow
	}
	if c.History <= 0 || c.History > c.Window {
		c.History = c.Window
	}
	return c
}

// Session tracks one TCP connection, both directions.
//
// Two steps handle each packet, and each must happen exactly once:
// Track updates the connection state (handshake, FIN, RST, ACKs) and
// Process reassembles the payload. Process calls Track itself unless Track
// already ran for this packet, so a caller that only wants reassembly calls
// Process alone; flow.Table.Lookup calls Track, and the engine then calls
// Process for the same packet (always, also for packets without payload, so
// the two stay paired).
type Session struct {
	// pool holds the Config (with defaults applied), shared with the
	// other sessions of the flow table, and lends reassembly buffers.
	pool    *Pool
	state   State
	synDir  Dir  // who sent the SYN (the client in the session's own view)
	est     bool // reached StateEstablished at some point
	mid     bool // picked up midstream
	split   bool // split handshake: the server sent a SYN, the client the SYN/ACK
	async   bool // only one side is seen (Config.AsyncOneside)
	rst     bool
	tracked bool // Track ran for the packet Process will see next

	// tfo marks a TCP Fast Open handshake (RFC 7413: the SYN or SYN/ACK
	// carries the Fast Open option); synData is how many bytes the
	// client's latest SYN carried, buffered as the start of its stream
	// until the SYN/ACK says whether the server took them.
	tfo     bool
	synData uint32
	half    [2]half

	next *Session // Pool's free list
}

// NewSession returns a tracker for a connection; the first packet it sees
// decides the state (a SYN starts a handshake; anything else is picked up
// only when cfg.Midstream is set). A caller that tracks many connections
// with one Config gets them from a Pool instead.
func NewSession(cfg Config) *Session {
	return NewPool(cfg).Get()
}

// Reset makes s a fresh session with cfg, keeping its buffers for reuse.
func (s *Session) Reset(cfg Config) {
	p := s.pool
	if c := cfg.withDefaults(); p == nil || p.cfg != c {
		p = &Pool{cfg: c}
	}
	s.reset(p)
}

// reset makes s a fresh session of p, keeping the reassembly buffers it
// holds (emptied).
func (s *Session) reset(p *Pool) {
	r0, r1 := s.half[0].r, s.half[1].r
	*s = Session{pool: p}
	s.half[0].r = r0.clear()
	s.half[1].r = r1.clear()
}

// reasm returns h's reassembly state, borrowing it from the pool the first
// time h has data to hold or something to count.
func (s *Session) reasm(h *half) *reasm {
	if h.r == nil {
		h.r = s.pool.takeReasm()
	}
	return h.r
}

// Established reports whether the three-way handshake completed, or the
// session was picked up midstream (Suricata marks a midstream pickup
// established at once). It stays true after the connection closes.
func (s *Session) Established() bool { return s.est }

// Closed reports whether the connection has seen FIN both ways or RST.
func (s *Session) Closed() bool {
	return s.rst || (s.half[0].fin && s.half[1].fin)
}

// State returns the connection state.
func (s *Session) State() State { return s.state }

// Midstream reports whether the session was picked up without a handshake.
func (s *Session) Midstream() bool { return s.mid }

// Window returns up to the last n reassembled bytes of dir's stream, for raw
// stream inspection by rules; the slice is valid until the next Process.
// Bytes before a gap (data never seen) are not part of the window.
func (s *Session) Window(dir Dir, n int) []byte {
	h := &s.half[dir&1]
	w := h.window()
	if s.pool.cfg.AckGate && h.off > h.raw {
		// End the window at the last byte returned, not at bytes still
		// waiting for their acknowledgement.
		w = w[:len(w)-int(min(h.off-h.raw, uint64(len(w))))]
	}
	if n < 0 || n >= len(w) {
		return w
	}
	return w[len(w)-n:]
}

// DepthReached reports whether dir's stream passed the reassembly depth.
func (s *Session) DepthReached(dir Dir) bool { return s.half[dir&1].depthReached }

// Offset returns how far dir's stream has advanced: the bytes delivered
// plus the bytes skipped in gaps (Suricata's stream offset).
func (s *Session) Offset(dir Dir) uint64 { return s.half[dir&1].off }

// Buffered returns how many out-of-order bytes dir holds waiting for a gap
// to fill.
func (s *Session) Buffered(dir Dir) int {
	n := 0
	for _, r := range s.half[dir&1].pending() {
		n += int(r.end - r.start)
	}
	return n
}

// Stats counts what reassembly did with one direction's segments.
type Stats struct {
	Segments      uint64 // segments with payload that reached reassembly
	InOrder       uint64 // delivered straight from the packet
	OutOfOrder    uint64 // buffered for later
	Retransmitted uint64 // entirely old data, not delivered again
	Overlaps      uint64 // partly old or overlapping buffered data (first data wins)
	DroppedSegs   uint64 // segments (or parts) dropped by MaxBuffered/MaxSegments
	DroppedBytes  uint64
	Gaps          uint64 // holes skipped because the receiver acknowledged past them
	GapBytes      uint64
	NotTracked    uint64 // payload ignored because the session is not established (or reset)
	RejectedRST   uint64 // RSTs ignored: sequence number far outside what this side sent
}

// Stats returns dir's counters.
func (s *Session) Stats(dir Dir) Stats {
	if r := s.half[dir&1].r; r != nil {
		return r.stats
	}
	return Stats{}
}
