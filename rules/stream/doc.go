// Package stream tracks TCP connections and reassembles each direction's
// byte stream in order, for stream-level rules and the app-layer parsers.
//
// It follows Suricata's stream engine where it matters to rules: sessions
// start with a SYN (or, with midstream, from any packet, established at
// once), data counts only once established, the first copy of overlapping
// data wins, out-of-order data waits (within a memory cap, drops counted)
// until the hole fills or the receiver acknowledges past it (a gap: the
// capture lost bytes), and reassembly stops at a depth. In-order data is
// handed out as a slice of the packet itself, without copying.
//
// A Session belongs to one flow and one goroutine; nothing here logs.
package stream
