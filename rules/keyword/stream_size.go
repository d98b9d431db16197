package keyword

import (
	"fmt"
	"strconv"
	"strings"
)

// StreamSide says which direction(s) of a TCP session stream_size measures.
type StreamSide uint8

// stream_size sides, as Suricata names them: server is the bytes the
// server sent, client the bytes the client sent; both needs the test to
// hold for each, either for at least one.
const (
	StreamServer StreamSide = iota + 1
	StreamClient
	StreamBoth
	StreamEither
)

// StreamSize is one stream_size test:
// `stream_size:<server|client|both|either>,<op>,<number>`.
//
// Suricata measures a direction as its next expected sequence number minus
// its initial one (next_seq - isn, 32-bit): the SYN counts one, so a side
// that completed the handshake and sent nothing measures 1, and one that
// sent 9 bytes measures 10. A side never seen (the server before its
// SYN/ACK) measures 0. The rule does not match without a TCP session.
type StreamSize struct {
	Side StreamSide
	Cmp  NumCmp // CmpEq, CmpNe, CmpLt, CmpLe, CmpGt or CmpGe against a uint32
}

// Match tests the sizes of the client's and the server's streams.
func (s StreamSize) Match(client, server uint32) bool {
	c, sv := uint64(client), uint64(server)
	switch s.Side {
	case StreamServer:
		return s.Cmp.Match(sv)
	case StreamClient:
		return s.Cmp.Match(c)
	case StreamBoth:
		return s.Cmp.Match(sv) && s.Cmp.Match(c)
	case StreamEither:
		return s.Cmp.Match(sv) || s.Cmp.Match(c)
	}
	return false
}

// ParseStreamSize parses stream_size's value as Suricata does: a side, an
// operator (=, !=, !, <, <=, >, >=) and a decimal number up to 2^32-1,
// separated by commas, blanks allowed around each.
func ParseStreamSize(arg string) (StreamSize, error) {
	parts := strings.Split(arg, ",")
	if len(parts) != 3 {
		return StreamSize{}, fmt.Errorf("%q: want <server|client|both|either>,<operator>,<number>", arg)
	}
	var ss StreamSize
	switch side := strings.TrimSpace(parts[0]); side {
	case "server":
		ss.Side = StreamServer
	case "client":
		ss.Side = StreamClient
	case "both":
		ss.Side = StreamBoth
	case "either":
		ss.Side = StreamEither
	default:
		return StreamSize{}, fmt.Errorf("unknown side %q: use server, client, both or either", side)
	}
	switch op := strings.TrimSpace(parts[1]); op {
	case "=":
		ss.Cmp.Mode = CmpEq
	case "!=", "!":
		ss.Cmp.Mode = CmpNe
	case "<":
		ss.Cmp.Mode = CmpLt
	case "<=":
		ss.Cmp.Mode = CmpLe
	case ">":
		ss.Cmp.Mode = CmpGt
	case ">=":
		ss.Cmp.Mode = CmpGe
	default:
		return StreamSize{}, fmt.Errorf("unknown operator %q: use =, !=, <, <=, > or >=", op)
	}
	num := strings.TrimSpace(parts[2])
	n, err := strconv.ParseUint(num, 10, 32)
	if err != nil {
		return StreamSize{}, fmt.Errorf("size %q is not a decimal number from 0 to 4294967295", num)
	}
	ss.Cmp.A = n
	return ss, nil
}

func init() {
	Register(Keyword{Name: "stream_size", Apply: func(s *Sig, arg string) error {
		ss, err := ParseStreamSize(arg)
		if err != nil {
			return err
		}
		s.StreamSize = append(s.StreamSize, ss)
		return nil
	}})
}
