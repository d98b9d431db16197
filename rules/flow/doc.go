// Package flow keeps the bidirectional flow table: flows keyed by a zone and
// a symmetric 5-tuple, their direction (to_server/to_client), TCP state,
// counters, timeouts and a memory cap whose evictions are counted. It also
// carries the per-flow slots the detection engine and app-layer parsers use,
// and the bounded set of application-layer names a flow revealed (Names:
// HTTP servers and user agents, TLS names, DNS queries, SSH banners), which
// outlives the flow for a host's profile.
//
// Per packet the engine calls Table.Lookup (which updates counters and the
// TCP connection state through stream.Session.Track), then, for TCP,
// f.TCP.Process(p, dir) once for the reassembled data, then evaluates rules
// (f.Established() already reflects the packet). Table.Expire runs in packet
// time, so replaying a capture ends flows exactly as live traffic would.
//
// Direction follows Suricata: the first packet's sender is the client,
// except that a TCP SYN/ACK (or an ICMP echo reply) seen first comes from
// the server. Timeouts default to Suricata's shipped suricata.yaml
// (tcp 60/600/60 s new/established/closed, udp and icmp 30/300 s, others
// 30/300/0 s).
//
// Nothing here logs or is safe for concurrent use: each worker owns a Table.
package flow
