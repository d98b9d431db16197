// Package ssh owns SSH parsing for the detection core: the identification
// line each side sends before anything else (RFC 4253 §4.2,
// "SSH-protoversion-softwareversion SP comments CR LF"), which is all of SSH
// that is not encrypted and all that rules (ssh.proto, ssh.software) and a
// VM's profile (which SSH software it runs) look at.
//
// Probe recognises SSH by content, on any port, as Suricata does: a stream
// that starts with "SSH-". Parse reads one identification line; a Parser
// follows one connection's two reassembled streams, skipping the other lines
// a server may send first, and stops in a direction once its line is read
// (what follows is the binary packet protocol).
//
// Parsing is lenient where real software is: a bare LF ends a line as well
// as CR LF, and the software version may contain '-' (libssh's
// "libssh-0.6.0"), which the RFC forbids. It is strict where memory is at
// stake: a line longer than the RFC's 255 bytes, or more than a few other
// lines before it, stop that direction with an error. Malformed input never
// panics. The package does no I/O and never logs; a Parser belongs to one
// connection and is not safe for concurrent use.
package ssh
