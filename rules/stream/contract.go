package stream

// This file is the contract other packages build against; the stream helper
// fills in the bodies and may add fields, but must not rename these.

import "github.com/tapwatch/tapwatch/rules/decode"

// Dir is a direction within a connection.
type Dir uint8

// ToServer is client to server; ToClient the reverse.
const (
	ToServer Dir = 0
	ToClient Dir = 1
)

// State is the TCP connection state as Suricata names it.
type State uint8

// Config tunes reassembly.
type Config struct {
	Depth     int  // bytes per direction reassembled for inspection (0: 1 MiB, Suricata's stream.reassembly.depth)
	Midstream bool // accept sessions picked up without a handshake
}

// Session tracks one TCP connection, both directions.
type Session struct{ cfg Config }

// NewSession returns a tracker for a connection whose first packet is p (sent in direction ToServer).
func NewSession(cfg Config) *Session { return &Session{cfg: cfg} }

// Process updates the connection with p travelling in dir. It returns the
// in-order bytes of dir's stream that p made available (possibly including
// earlier out-of-order segments it completed), or nil. The slice is valid
// until the next call.
func (s *Session) Process(p *decode.Packet, dir Dir) []byte { panic("stream: not implemented") }

// Established reports whether the three-way handshake completed (or the
// session was picked up midstream and both sides have spoken).
func (s *Session) Established() bool { panic("stream: not implemented") }

// Closed reports whether the connection has seen FIN both ways or RST.
func (s *Session) Closed() bool { panic("stream: not implemented") }

// Window returns up to the last n reassembled bytes of dir's stream, for raw
// stream inspection by rules; the slice is valid until the next Process.
func (s *Session) Window(dir Dir, n int) []byte { panic("stream: not implemented") }

// DepthReached reports whether dir's stream passed the reassembly depth.
func (s *Session) DepthReached(dir Dir) bool { panic("stream: not implemented") }
