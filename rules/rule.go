package rules

import (
	"github.com/tapwatch/tapwatch/rules/keyword"
)

// Rule is one parsed rule: its header, its options in order with their
// positions, and the signature the keywords built from them.
type Rule struct {
	File string
	Line int
	Raw  string

	Action string // alert, drop, reject, rejectsrc, rejectdst, rejectboth, pass
	Proto  string // ip, tcp, udp, icmp, icmpv6, tcp-pkt, tcp-stream, or an app-layer name
	// Headerless is true for Snort 3 service rules such as `alert http (...)`.
	Headerless bool
	Src, Dst   *AddrExpr
	SrcPorts   *PortExpr
	DstPorts   *PortExpr
	Bidir      bool

	Options []Option
	Sig     *keyword.Sig
}

// Option is one `name:value;` of a rule with where it starts.
type Option struct {
	Name     string
	Value    string
	HasValue bool
	Line     int
	Col      int
}

// ParseError is an error with its position, printed as file:line:col: msg.
type ParseError struct {
	File      string
	Line, Col int
	Msg       string
	// Reason is a short grouping key for summaries (e.g. `unsupported keyword "x"`).
	Reason string
	Err    error
}

func (e *ParseError) Error() string {
	return e.File + ":" + itoa(e.Line) + ":" + itoa(e.Col) + ": " + e.Msg
}

func (e *ParseError) Unwrap() error { return e.Err }

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
