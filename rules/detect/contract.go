package detect

// This file is the contract the replay driver, the EVE writer and the live
// pipeline build against. The core helper fills in the bodies and may add
// fields and methods, but must not rename these.

import (
	"github.com/tapwatch/tapwatch/rules/decode"
	"github.com/tapwatch/tapwatch/rules/flow"
)

// Action is what a matching rule asks for.
type Action string

// Actions as rules spell them.
const (
	ActionAlert  Action = "alert"
	ActionDrop   Action = "drop"
	ActionReject Action = "reject"
	ActionPass   Action = "pass"
)

// Alert is one rule match, with everything EVE's alert record needs.
type Alert struct {
	Packet        *decode.Packet // valid only during the emit callback
	Flow          *flow.Flow     // nil for packets without a flow
	Dir           flow.Dir
	Action        string // "allowed" or "blocked", as EVE's alert.action
	RuleAction    Action
	GID, SID, Rev uint32
	Msg           string
	Category      string // classtype description from classification.config
	Severity      int    // priority
	Metadata      map[string][]string
	AppProto      string
	TxID          int  // -1 when not tied to a transaction
	Stream        bool // matched on reassembled stream data rather than a packet
	// App is app-layer metadata to log with the alert (EVE "http", "dns", "tls" objects), or nil.
	App map[string]any
}

// Verdict says what to do with a packet in IPS mode.
type Verdict uint8

// Verdicts.
const (
	VerdictPass Verdict = iota
	VerdictDrop
)

// Options configure an Engine.
type Options struct {
	// ClassificationFile is a classification.config path ("" for none).
	ClassificationFile string
	// IPS makes drop/reject rules block (Suricata --simulate-ips).
	IPS bool
	// Midstream picks up TCP sessions without a handshake.
	Midstream bool
	// Settings holds other Suricata config values by dotted key (e.g.
	// "stream.reassembly.depth"); the engine reads what it understands:
	// "action-order" (comma list, e.g. "pass,drop,reject,alert", or the
	// YAML list's flattened "action-order.0", "action-order.1", ...),
	// "packet-alert-max", "stream.midstream", "stream.midstream-policy",
	// "exception-policy", "app-layer.protocols.{http,dns,tls}.enabled"
	// ("no" turns that parser off), and the libhtp default-config's
	// request-body-limit, response-body-limit and
	// response-body-decompress-layer-limit.
	Settings map[string]string
}

// Stats are engine-wide counters of one Worker.
type Stats struct {
	Packets, Alerts, Dropped uint64
	// Candidates counts rules evaluated in full after the prefilter.
	Candidates uint64
	// Txs counts app-layer transaction inspections; TxCandidates the
	// rules evaluated in them.
	Txs, TxCandidates uint64
	Flow              flow.Stats
	// State is the engine's (Engine.StateDrops), shared by all its
	// Workers: not to be summed across them.
	State StateDrops
}

// Worker, Process, Flush and Stats are in worker.go.

// FlowEnd is called for each flow a Worker retires, for flow records.
type FlowEnd func(f *flow.Flow, reason flow.EndReason)
