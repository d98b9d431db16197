package pcapfilter

import (
	"fmt"
	"strings"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcap"
)

// snapLen is libpcap's MAXIMUM_SNAPLEN. The compiled program returns it
// for a match; as a capture length it never truncates what is matched.
const snapLen = 262144

// Filter is a compiled expression. It is safe for concurrent use.
type Filter struct {
	expr string
	// Matched with libpcap's interpreter (one cgo call per frame) rather
	// than golang.org/x/net/bpf's: that VM can only see the captured
	// length, so `len`, `greater` and `less` would judge a truncated frame
	// by its captured bytes where tcpdump uses the wire length.
	bpf *pcap.BPF
}

// Error is an expression libpcap refused.
type Error struct {
	Expr   string // as given
	Reason string // libpcap's words, e.g. "can't parse filter expression: syntax error"
}

func (e *Error) Error() string {
	fix := "check the pcap-filter(7) syntax"
	// libpcap resolves names while compiling; a name this host cannot
	// resolve is not a syntax problem.
	if strings.HasPrefix(e.Reason, "unknown host") || strings.HasPrefix(e.Reason, "unknown ether host") {
		fix = "use an address, or a name this host resolves"
	}
	return fmt.Sprintf("filter %q: %s: %s", e.Expr, e.Reason, fix)
}

// Compile compiles expr for Ethernet frames. An empty expression matches
// every frame, as in tcpdump. Host names in expr are resolved now, on this
// host. A refused expression is an *Error.
func Compile(expr string) (*Filter, error) {
	bpf, err := pcap.NewBPF(layers.LinkTypeEthernet, snapLen, expr)
	if err != nil {
		return nil, &Error{Expr: expr, Reason: err.Error()}
	}
	return &Filter{expr: expr, bpf: bpf}, nil
}

// Match reports whether the Ethernet frame data, which was wireLen bytes
// long on the wire before any truncation, matches the expression.
func (f *Filter) Match(data []byte, wireLen int) bool {
	ci := gopacket.CaptureInfo{CaptureLength: len(data), Length: max(wireLen, len(data))}
	return f.bpf.Matches(ci, data)
}

// String returns the expression as given.
func (f *Filter) String() string { return f.expr }
