package flow

import (
	"strings"
	"unicode/utf8"
)

// NameKind says what an application-layer name is and which side of the
// flow revealed it.
type NameKind uint8

// Name kinds. The server-side ones say what the server is; the client-side
// ones say what the client asked for and with which software.
const (
	NameHTTPServer    NameKind = iota + 1 // Server header of an HTTP response
	NameTLSCert                           // subject CN or DNS SAN of the server's TLS certificate
	NameSSHServer                         // the server's SSH identification line
	NameHTTPUserAgent                     // User-Agent header of an HTTP request
	NameHTTPHost                          // host an HTTP request named (URI or Host header)
	NameTLSSNI                            // server name in the TLS ClientHello
	NameDNSQuery                          // question name of a DNS query
	NameSSHClient                         // the client's SSH identification line
	numNameKinds
)

// nameKinds spells the kinds as Suricata names the buffers they come from,
// where one exists, so the stored kind reads the same as a rule would.
var nameKinds = [numNameKinds]string{"", "http.server", "tls.cert", "ssh.server",
	"http.user_agent", "http.host", "tls.sni", "dns.query", "ssh.client"}

// String returns the kind's stable name ("http.server", "tls.sni", ...),
// which is what the flow store keeps.
func (k NameKind) String() string {
	if k < numNameKinds {
		return nameKinds[k]
	}
	return ""
}

// Bounds of one flow's Names: a hostile flow (a client cycling through
// user agents, a resolver asking for thousands of names on one 5-tuple)
// must not grow the flow's memory, and a profile needs a few examples, not
// all of them.
const (
	MaxNamesPerKind = 4
	MaxNames        = 16
	MaxNameLen      = 256
)

// Name is one application-layer name a flow revealed.
type Name struct {
	Kind  NameKind
	Value string
}

// Names is the bounded set of application-layer names one flow revealed, in
// the order first seen. The zero value is empty and ready to use.
type Names struct {
	list  []Name
	count [numNameKinds]uint8
}

// All returns the names, first seen first. The slice must not be modified.
func (n *Names) All() []Name {
	if n == nil {
		return nil
	}
	return n.list
}

// Full reports whether no more names of kind k would be kept, so callers
// can skip extracting them.
func (n *Names) Full(k NameKind) bool {
	return n != nil && (len(n.list) >= MaxNames || int(n.count[k%numNameKinds]) >= MaxNamesPerKind)
}

// Add keeps v as a name of kind k unless it is empty, already kept, or the
// bounds are reached. Surrounding spaces are trimmed, control characters
// and invalid UTF-8 become '?', and hostnames are kept in lower case. v is
// copied only when kept, so repeating a known name (every request of a
// keep-alive connection) does not allocate.
func (n *Names) Add(k NameKind, v []byte) bool {
	if k == 0 || k >= numNameKinds || n.Full(k) {
		return false
	}
	v = trimSpace(v)
	if len(v) == 0 {
		return false
	}
	if len(v) > MaxNameLen {
		v = v[:MaxNameLen]
	}
	fold := k == NameHTTPHost || k == NameTLSSNI || k == NameDNSQuery || k == NameTLSCert
	for _, x := range n.list {
		if x.Kind == k && sameName(v, x.Value, fold) {
			return false
		}
	}
	s := clean(v)
	if fold {
		s = strings.ToLower(s)
	}
	for _, x := range n.list {
		// A value with control characters only equals a kept one once cleaned.
		if x.Kind == k && x.Value == s {
			return false
		}
	}
	n.list = append(n.list, Name{Kind: k, Value: s})
	n.count[k]++
	return true
}

// AddName keeps v as an application-layer name of f (see Names.Add),
// creating f.Names on first use.
func (f *Flow) AddName(k NameKind, v []byte) bool {
	if f.Names == nil {
		if len(trimSpace(v)) == 0 || k == 0 || k >= numNameKinds {
			return false
		}
		f.Names = &Names{}
	}
	return f.Names.Add(k, v)
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\r' || b[len(b)-1] == '\n') {
		b = b[:len(b)-1]
	}
	return b
}

// sameName compares a candidate with a kept (clean) name without
// allocating; fold ignores ASCII case.
func sameName(v []byte, s string, fold bool) bool {
	if len(v) != len(s) {
		return false
	}
	for i := range v {
		a, b := v[i], s[i]
		if a == b {
			continue
		}
		if !fold {
			return false
		}
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		if a != b {
			return false
		}
	}
	return true
}

// clean copies v into a string fit for a one-line display and the store's
// line-oriented encoding: no control characters, valid UTF-8.
func clean(v []byte) string {
	ok := utf8.Valid(v)
	for _, c := range v {
		if c < 0x20 || c == 0x7f {
			ok = false
			break
		}
	}
	if ok {
		return string(v)
	}
	out := make([]byte, 0, len(v))
	for len(v) > 0 {
		r, size := utf8.DecodeRune(v)
		switch {
		case r == utf8.RuneError && size <= 1, r < 0x20, r == 0x7f:
			out = append(out, '?')
		default:
			out = append(out, v[:size]...)
		}
		v = v[size:]
	}
	return string(out)
}
