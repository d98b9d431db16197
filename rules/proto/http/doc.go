// Package http owns HTTP/1.x parsing for the detection core: it turns the
// in-order reassembled byte streams of one TCP connection into transactions
// (request line, headers, bodies, response line, headers, bodies) and exposes
// the Suricata sticky buffers (Tx.Buffer) and the EVE "http" object (Tx.EVE)
// built from them. Protocol detection by content is Probe.
//
// The parser is modelled on libhtp, the parser Suricata uses, with its
// default (IDS personality) configuration, and is deliberately tolerant of
// malformed and evasive traffic: an attacker controls both ends, and a
// stricter parser than the victim's lets payloads slip past the rules.
// Where clients disagree, the choice that keeps the payload visible wins:
// an unusable Content-Length or a chunked body that is not chunked is read
// to the connection close, Content-Encoding layers are undone whatever
// framing (gzip, zlib, raw deflate) the server really used, junk before a
// status line is skipped. Anything odd is recorded as an Event on the
// transaction; no input makes the parser fail or panic.
//
// Contract for the engine: Feed each direction's bytes in order (a direction
// may lag the other, but a response should not be fed before its request,
// as with Suricata's app-layer ordering); chunks may be split anywhere. A
// transaction's buffers become available as its progress flags are set; a
// compressed body is decoded when it completes, so file.data for it appears
// with ResponseDone. Call Done when a transaction is inspected; at most a
// bounded number is held otherwise. A Tx and its slices must not be used
// after Done: a complete transaction's memory serves later ones. Feed does not keep the caller's slice.
// After a CONNECT 2xx or a 101 with Upgrade the connection is a tunnel
// (Tx.Tunnel) and nothing more is parsed.
//
// The package does no I/O and never logs; one Parser belongs to one
// connection and is not safe for concurrent use.
package http
