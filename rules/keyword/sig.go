package keyword

import (
	"errors"
	"fmt"
)

// Sig is a signature under construction and, once built, the input of the
// detection engine's compiler.
type Sig struct {
	// Packet holds header tests, all of which must match.
	Packet []PacketMatcher

	Msg           string
	SID, GID, Rev uint32
	Class         string // classtype short name
	Priority      int    // 0 when unset
	References    []string
	Metadata      map[string][]string
	Target        string
	Proto         string // header protocol
	AppProto      string // from an app-layer header protocol, service:, or an app buffer
	Snort3        bool   // Snort 3 dialect: sticky selectors precede content
	Next          string // name of the option after the one being applied (parser-set)

	// Ops are the payload and buffer tests in rule order.
	Ops []Op
	// Vars names byte_extract variables; Op var references index it.
	Vars []string

	Flow      FlowFlags
	Flowbits  []FlowbitOp
	NoAlert   bool
	Threshold *Threshold
	Filter    *Threshold // detection_filter

	// Xbits are the host and IP-pair bits (xbits.go); StreamSize the
	// stream_size tests (stream_size.go), which the engine evaluates
	// against the flow's TCP session.
	Xbits      []XbitOp
	StreamSize []StreamSize
	// Flowints are the per-flow integer variables (flowint.go), in rule
	// order.
	Flowints []FlowintOp

	// Transforms rewrite a buffer before inspection, in order.
	Transforms map[Buffer][]Transform

	// FastPattern indexes the Op chosen as fast pattern (-1: none).
	FastPattern int

	cur     Buffer // sticky buffer for the next content
	curSet  bool
	lastOp  int // index of the last content/pcre, -1 if none
	lastBuf int // index of the last content-like op of any kind
}

// NewSig returns an empty signature for header protocol proto.
func NewSig(proto string) *Sig {
	s := &Sig{Proto: proto, FastPattern: -1, lastOp: -1, lastBuf: -1, GID: 1}
	switch proto {
	case "ip", "tcp", "udp", "icmp", "icmpv4", "icmpv6", "tcp-pkt", "tcp-stream", "ipv4", "ipv6", "ip4", "ip6", "sctp", "pkthdr":
	case "ssl":
		s.AppProto = "tls"
	case "http1":
		s.AppProto = "http"
	default:
		s.AppProto = proto
	}
	return s
}

// UnsupportedError names a keyword or form tapwatch does not implement;
// summaries group failures by it.
type UnsupportedError struct{ What string }

func (e *UnsupportedError) Error() string { return e.What }

func unsupported(format string, a ...any) error {
	return &UnsupportedError{What: fmt.Sprintf(format, a...)}
}

// lastContent returns the most recent content op, for modifiers.
func (s *Sig) lastContent(mod string) (*Op, error) {
	if s.lastOp < 0 || s.Ops[s.lastOp].Kind != OpContent {
		return nil, fmt.Errorf("%s needs a preceding content", mod)
	}
	return &s.Ops[s.lastOp], nil
}

// addOp appends o in the current sticky buffer.
func (s *Sig) addOp(o Op) *Op {
	if s.curSet {
		o.Buf = s.cur
	} else if o.Relative && o.Kind != OpContent && o.Kind != OpPcre && s.lastOp >= 0 && s.Ops[s.lastOp].modSet {
		// Suricata puts a relative isdataat/byte_* in the buffer of the
		// content it follows, which a legacy modifier or uricontent may
		// have moved out of the payload.
		o.Buf = s.Ops[s.lastOp].Buf
	}
	s.Ops = append(s.Ops, o)
	s.lastBuf = len(s.Ops) - 1
	if o.Kind == OpContent || o.Kind == OpPcre {
		s.lastOp = len(s.Ops) - 1
	}
	return &s.Ops[len(s.Ops)-1]
}

// setSticky switches the buffer later content goes to.
func (s *Sig) setSticky(b Buffer) {
	s.cur, s.curSet = b, true
	if ap := buffers[b].App; ap != "" && s.AppProto == "" {
		s.AppProto = ap
	}
}

// varIndex returns the byte_extract variable named n, or -1.
func (s *Sig) varIndex(n string) int {
	for i, v := range s.Vars {
		if v == n {
			return i
		}
	}
	return -1
}

// Finish validates the signature once all options applied and picks the
// fast pattern.
func (s *Sig) Finish() error {
	if s.SID == 0 {
		return errors.New("rule has no sid: add sid:N;")
	}
	// The first op of each buffer cannot be relative to anything before
	// it in Suricata only for content with distance/within at list start;
	// we treat it as relative to the buffer start, as Suricata does.
	best := -1
	for i := range s.Ops {
		o := &s.Ops[i]
		if o.Kind == OpBase64Data {
			// What follows inspects decoded bytes, which the prefilter
			// never sees (nor does Suricata's): no fast pattern there.
			break
		}
		if o.Kind != OpContent || o.Negated || len(o.Pat) == 0 {
			continue
		}
		if o.FastPattern {
			// Named by the rule: kept only if it can be prefiltered.
			best = i
			if !s.prefilterable(o.Buf) {
				best = -1
			}
			break
		}
		if !s.prefilterable(o.Buf) {
			continue
		}
		if best < 0 || strongerPattern(o.Pat, s.Ops[best].Pat) {
			best = i
		}
	}
	s.FastPattern = best
	return nil
}

// prefilterable reports whether contents of buffer b can be prefiltered:
// the prefilter scans buffers untransformed, so only a dotprefix (whose
// pattern then starts with '.') keeps a usable pattern.
func (s *Sig) prefilterable(b Buffer) bool {
	for _, t := range s.Transforms[b] {
		if t != TrDotPrefix {
			return false
		}
	}
	return true
}

// FastPatternBytes returns the bytes the prefilter should look for and
// whether they are matched without case.
func (s *Sig) FastPatternBytes() ([]byte, bool, Buffer, bool) {
	if s.FastPattern < 0 {
		return nil, false, 0, false
	}
	o := &s.Ops[s.FastPattern]
	p := o.Pat
	if o.FPLen > 0 && o.FPOff+o.FPLen <= len(p) {
		p = p[o.FPOff : o.FPOff+o.FPLen]
	}
	if len(s.Transforms[o.Buf]) > 0 && len(p) > 1 && p[0] == '.' {
		// dotprefix adds the '.', the raw buffer lacks it.
		p = p[1:]
	}
	return p, o.Nocase, o.Buf, true
}

// strongerPattern reports whether content a makes a better fast pattern
// than b: the one whose distinct bytes are rarer in traffic, then the
// longer. A repeated byte adds little (a run of NULs is everywhere), a
// letter less than punctuation or binary. This is Suricata's pattern
// strength, which it uses to break ties between equally long contents;
// we rank by it first, so that `content:"|00 00 00 00 00|"` does not
// prefilter a rule that also names a shorter, rarer string.
func strongerPattern(a, b []byte) bool {
	sa, sb := patternStrength(a), patternStrength(b)
	if sa != sb {
		return sa > sb
	}
	return len(a) > len(b)
}

func patternStrength(p []byte) int {
	var seen [256]bool
	n := 0
	for _, c := range p {
		switch {
		case seen[c]:
			n++
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			n += 3
		case c >= 0x20 && c < 0x7f || c == 0 || c == 1 || c == 0xff:
			n += 4
		default:
			n += 6
		}
		seen[c] = true
	}
	return n
}
