package flow

// This file is the contract other packages build against; the flow helper
// fills in the bodies and may add fields, but must not rename these.

import (
	"net/netip"
	"time"

	"github.com/tapwatch/tapwatch/rules/decode"
	"github.com/tapwatch/tapwatch/rules/stream"
)

// Dir is a packet's direction within its flow.
type Dir = stream.Dir

// Directions, from the flow initiator's (the client's) point of view.
const (
	ToServer = stream.ToServer
	ToClient = stream.ToClient
)

// Key identifies a flow as its initiator sent it: Src is the client.
type Key struct {
	Zone    uint32 // bridge or VLAN: tenants with overlapping addresses never share a flow
	Proto   uint8
	Src     netip.Addr
	Dst     netip.Addr
	SrcPort uint16 // ICMP: type/id as the engine chooses; 0 when not applicable
	DstPort uint16
}

// Flow is one bidirectional conversation.
type Flow struct {
	ID    uint64 // stable, non-zero; EVE flow_id
	Key   Key
	Start time.Time
	Last  time.Time
	Pkts  [2]uint64 // indexed by Dir
	Bytes [2]uint64

	// TCP is the connection tracker and reassembler for TCP flows (nil otherwise).
	TCP *stream.Session

	// Bits holds flowbits set on this flow.
	Bits Bits

	// AppProto is the detected application protocol ("" until known, "failed" when none).
	AppProto string
	// App and Detect are owned by the app-layer and detection engine respectively.
	App    any
	Detect any
}

// Established reports Suricata's flow:established: TCP after the three-way
// handshake (or midstream pickup), other protocols once both sides sent.
func (f *Flow) Established() bool { panic("flow: not implemented") }

// Bits is a small set of flowbit indexes (the engine maps names to indexes).
type Bits struct{ w []uint64 }

// Set, Unset, IsSet and Toggle manage flowbit i.
func (b *Bits) Set(i int)        { panic("flow: not implemented") }
func (b *Bits) Unset(i int)      { panic("flow: not implemented") }
func (b *Bits) IsSet(i int) bool { panic("flow: not implemented") }
func (b *Bits) Toggle(i int)     { panic("flow: not implemented") }

// Config tunes a Table.
type Config struct {
	MaxFlows int           // memory cap in flows (0: 65536); the oldest idle flow is evicted and counted
	Timeouts Timeouts      // zero fields take Suricata's defaults
	Midstream bool         // pick up TCP sessions without a handshake (Suricata stream.midstream)
}

// Timeouts per state, as in Suricata's flow-timeouts.
type Timeouts struct {
	New, Established, Closed time.Duration
}

// EndReason says why a flow ended (EVE flow.reason).
type EndReason string

// Table is a flow table shard. Not safe for concurrent use: one per worker.
type Table struct{ cfg Config }

// NewTable returns an empty table.
func NewTable(cfg Config) *Table { return &Table{cfg: cfg} }

// Lookup finds or creates p's flow in zone and returns it with p's
// direction. It updates counters and, for TCP, the connection state. It
// returns nil for packets that belong to no flow (no IP layer).
func (t *Table) Lookup(p *decode.Packet, zone uint32) (*Flow, Dir) { panic("flow: not implemented") }

// Expire ends flows idle past their timeout at now, calling end for each
// before it is freed.
func (t *Table) Expire(now time.Time, end func(*Flow, EndReason)) { panic("flow: not implemented") }

// Flush ends every flow (at shutdown or the end of a capture).
func (t *Table) Flush(end func(*Flow, EndReason)) { panic("flow: not implemented") }

// Stats counts table activity.
type Stats struct {
	Active, Created, Evicted, Timedout uint64
}

// Stats returns the counters.
func (t *Table) Stats() Stats { panic("flow: not implemented") }
