package flow

// This file is the contract other packages build against; the flow helper
// fills in the bodies and may add fields, but must not rename these.
// The table lives in table.go, keys in key.go, flowbits in bits.go.

import (
	"net/netip"
	"time"

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
//
// Ports: TCP and UDP ports; ICMP echo request/reply carry the echo ID in
// both; other ICMP messages carry type in SrcPort and code in DstPort;
// other protocols and IP fragments without a transport header carry 0.
type Key struct {
	Zone    uint32 // bridge or VLAN: tenants with overlapping addresses never share a flow
	Proto   uint8
	Src     netip.Addr
	Dst     netip.Addr
	SrcPort uint16 // ICMP: type/id as the engine chooses; 0 when not applicable
	DstPort uint16
}

// Flow is one bidirectional conversation. A Table reuses Flow objects: do
// not keep a *Flow after the table ended it (after the end callback
// returns). Key is the table's: do not change it.
type Flow struct {
	ID    uint64 // stable, non-zero, below 2^63 (fits EVE's signed flow_id)
	Key   Key
	Start time.Time
	Last  time.Time
	Pkts  [2]uint64 // indexed by Dir
	Bytes [2]uint64

	// TCP is the connection tracker and reassembler for TCP flows (nil
	// otherwise, also for flows of TCP fragments without a TCP header).
	// Table.Lookup runs its Track step; the engine then calls
	// TCP.Process(p, dir) once for the same packet for the stream data.
	TCP *stream.Session

	// Bits holds flowbits set on this flow.
	Bits Bits

	// AppProto is the detected application protocol ("" until known, "failed" when none).
	AppProto string
	// App and Detect are owned by the app-layer and detection engine respectively.
	App    any
	Detect any

	// Names are the application-layer names the flow revealed (HTTP
	// Server and User-Agent, TLS SNI and certificate names, DNS queries,
	// SSH banners), nil when none; the detection engine fills them when
	// asked to (detect.Options.RecordNames). A Names is never reused, so
	// it may be kept after the flow ended.
	Names *Names

	// Table bookkeeping. The map key is not stored: mapKey derives it
	// from Key (the same values in the client's order), kind and
	// clientIsA, which saves a fifth of the struct.
	prev, next *Flow // LRU links; next also links the table's free list
	kind       keyKind
	clientIsA  bool // the client is the map key's a side
}

// Established reports Suricata's flow:established: TCP after the three-way
// handshake (or midstream pickup), other protocols once both sides sent.
func (f *Flow) Established() bool {
	if f.TCP != nil {
		return f.TCP.Established()
	}
	return f.Pkts[0] > 0 && f.Pkts[1] > 0
}

// Config tunes a Table.
type Config struct {
	MaxFlows  int      // memory cap in flows (0: 65536); the oldest idle flow is evicted and counted
	Timeouts  Timeouts // zero fields take Suricata's defaults; set fields apply to every protocol
	Midstream bool     // pick up TCP sessions without a handshake (Suricata stream.midstream)

	// TCP, UDP and ICMP override Timeouts per protocol where set, as
	// Suricata's flow-timeouts.tcp/udp/icmp sections do.
	TCP, UDP, ICMP Timeouts

	// Stream configures TCP reassembly; Midstream above is ORed into it.
	Stream stream.Config

	// Shard makes flow IDs unique across the tables of one process: give
	// each worker's table a different value (0-255).
	Shard uint8

	// OnEnd is told about flows the table ends inside Lookup: evicted under
	// MaxFlows (ReasonForced) or replaced by a new TCP session on the same
	// ports (ReasonReuse). nil to drop them silently. Expire and Flush take
	// their own callback.
	OnEnd func(*Flow, EndReason)
}

// Timeouts per state, as in Suricata's flow-timeouts.
type Timeouts struct {
	New, Established, Closed time.Duration
}

// EndReason says why a flow ended (EVE flow.reason).
type EndReason string

// End reasons, spelled as Suricata's EVE flow.reason.
const (
	ReasonTimeout  EndReason = "timeout"
	ReasonForced   EndReason = "forced"   // evicted to stay under MaxFlows
	ReasonShutdown EndReason = "shutdown" // Flush at the end of a capture or at exit
	ReasonReuse    EndReason = "tcp_reuse"
)

// Stats counts table activity.
type Stats struct {
	Active, Created, Evicted, Timedout uint64
	Reused                             uint64 // TCP flows ended by a new SYN on the same tuple
	NoFlow                             uint64 // packets without an IP layer
	Fragment                           uint64 // TCP/UDP/ICMP packets keyed on addresses only: fragments, truncated headers

	// Reassembly totals of the TCP flows ended so far (both directions).
	StreamGaps         uint64 // holes skipped: bytes the capture lost
	StreamDroppedSegs  uint64 // out-of-order data dropped over the buffer caps
	StreamDroppedBytes uint64
}
