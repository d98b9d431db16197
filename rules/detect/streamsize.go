package detect

import (
	"github.com/tapwatch/tapwatch/rules/decode"
	"github.com/tapwatch/tapwatch/rules/flow"
	"github.com/tapwatch/tapwatch/rules/keyword"
	"github.com/tapwatch/tapwatch/rules/stream"
)

// streamSizeOK evaluates s's stream_size tests (keyword/stream_size.go)
// against f's TCP session, which has already taken p in: like Suricata,
// whose stream engine runs before detection, a packet's own bytes count.
// Without a TCP session (not TCP, or a session the tracker never picked
// up) no test matches, whatever its operator.
func streamSizeOK(s *keyword.Sig, p *decode.Packet, f *flow.Flow) bool {
	if !p.IsTCP() || f == nil || f.TCP == nil {
		return false
	}
	client, server, ok := streamSizes(f.TCP)
	if !ok {
		return false
	}
	for _, ss := range s.StreamSize {
		if !ss.Match(client, server) {
			return false
		}
	}
	return true
}

// streamSizes returns Suricata's stream_size measure of each side of t:
// next_seq - isn, 32-bit. The session's offset counts the bytes a side's
// stream advanced over (delivered, or skipped in holes the peer
// acknowledged) from the byte after the SYN, so the measure is that plus
// one for the SYN; a side the session has not seen yet (the server before
// its SYN/ACK) measures 0. ok is false before the session tracks anything.
//
// Unlike next_seq, the offset stops at the reassembly depth
// (stream.reassembly.depth, 1 MiB by default): past it a side measures
// depth+1, so only sizes below the depth compare as in Suricata.
func streamSizes(t *stream.Session) (client, server uint32, ok bool) {
	switch t.State() {
	case stream.StateNone:
		return 0, 0, false
	case stream.StateSynSent:
		return uint32(t.Offset(stream.ToServer) + 1), 0, true
	}
	return uint32(t.Offset(stream.ToServer) + 1), uint32(t.Offset(stream.ToClient) + 1), true
}
