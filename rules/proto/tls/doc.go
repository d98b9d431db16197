// Package tls owns TLS/SSL handshake parsing for the detection core. It
// reads the in-order reassembled byte streams of one TCP connection, follows
// the record layer (SSLv3 to TLS 1.3 record versions, and the SSLv2-compatible
// ClientHello old clients send), and extracts what rules and logs look at:
// the ClientHello (versions, SNI, JA3), the ServerHello (negotiated version,
// JA3S) and, for TLS 1.2 and older, the server's certificate chain (subject,
// issuer, serial, SHA-1 fingerprint, validity).
//
// Strings are formatted exactly as Suricata formats them, because Suricata
// rules and EVE consumers compare them byte for byte: distinguished names in
// certificate order as "C=US, O=..., CN=..." with x509-parser's attribute
// abbreviations, serials as upper-case hex bytes joined by ':', fingerprints as
// lower-case hex bytes joined by ':', versions as "TLSv1", "TLS 1.2" and so on.
// Certificates are read with a small DER walker rather than crypto/x509,
// which rejects certificates Suricata (and browsers of their day) accepted.
//
// Parsing stops in a direction at ChangeCipherSpec or application data: what
// follows is encrypted. Malformed input never panics; it sets an Anomaly and
// stops that direction cleanly. The package does no I/O and never logs; a
// Parser belongs to one connection and is not safe for concurrent use.
package tls
