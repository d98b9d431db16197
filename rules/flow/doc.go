// Package flow keeps the bidirectional flow table: flows keyed by a zone and
// a symmetric 5-tuple, their direction (to_server/to_client), TCP state,
// counters, timeouts and a memory cap whose evictions are counted. It also
// carries the per-flow slots the detection engine and app-layer parsers use.
package flow
