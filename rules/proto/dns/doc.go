// Package dns owns DNS message parsing for the detection core: DNS over UDP
// (one message per payload) and DNS over TCP (two-byte length framing over
// the reassembled stream). It exposes what rules inspect — the dns.query
// multi-buffer, one buffer per question name — and the EVE "dns" object
// Suricata writes, so the names, record types and rdata strings match what
// Suricata's rules and log consumers expect.
//
// Parsing follows Suricata's DNS parser where the two could differ: names
// are decompressed byte for byte (no escaping, labels joined with '.'), a
// name stops after 255 labels and pointers together (the loop guard) and is
// cut at 1025 bytes; a TXT record with several strings becomes one record
// per string. Malformed or truncated messages never fail silently and never
// panic: Parse keeps what it read, records why it stopped in Message.Anomalies
// and returns an error wrapping ErrTruncated or ErrMalformed.
//
// The package does no I/O and never logs. A Message and a StreamParser reuse
// their storage between calls and are not safe for concurrent use.
package dns
