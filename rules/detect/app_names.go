package detect

import (
	"bytes"

	"github.com/tapwatch/tapwatch/rules/flow"
	"github.com/tapwatch/tapwatch/rules/proto/dns"
	"github.com/tapwatch/tapwatch/rules/proto/http"
	"github.com/tapwatch/tapwatch/rules/proto/tls"
)

// This file records the application-layer names of a flow (flow.Names) for
// a host's profile (Worker.SetRecordNames). Names come from what the
// parsers already hold where they run; where a parser is off because no
// rule needs it, only as much is read as the names need.

// httpTxNames keeps the names an HTTP transaction carries: the client's
// User-Agent and the host it asked for, the server's Server header. The
// header values are the parser's own: nothing is copied unless it is new.
func httpTxNames(f *flow.Flow, tx *http.Tx) {
	if tx.RequestHeadersDone {
		if !f.Names.Full(flow.NameHTTPUserAgent) {
			if v, ok := tx.RequestHeader("User-Agent"); ok {
				f.AddName(flow.NameHTTPUserAgent, v)
			}
		}
		f.AddName(flow.NameHTTPHost, tx.Host)
	}
	if tx.ResponseHeadersDone && !f.Names.Full(flow.NameHTTPServer) {
		if v, ok := tx.ResponseHeader("Server"); ok {
			f.AddName(flow.NameHTTPServer, v)
		}
	}
}

// maxSniffBytes bounds how much of each direction's stream start is read
// for the first header block when the HTTP parser is off: request and
// response heads are far shorter, and a bound keeps a flow whose headers
// never end from being held.
const maxSniffBytes = 4096

// httpSniff reads the first header block of each direction of an HTTP
// flow whose parser is off: only the first request and response are
// looked at, which is what a profile needs (a client sends the same
// User-Agent on every request, a server the same Server header).
type httpSniff struct {
	buf  [2][]byte // a header block split across segments, so far
	done [2]bool
}

// sniffHTTPNames feeds data, the next in-order bytes of dir's stream, to
// the header sniffer.
func sniffHTTPNames(f *flow.Flow, st *appState, dir flow.Dir, data []byte) {
	if st.sniff == nil {
		st.sniff = &httpSniff{}
	}
	s := st.sniff
	d := dir & 1
	if s.done[d] || len(data) == 0 {
		return
	}
	head := data
	if len(s.buf[d]) > 0 {
		// Copy only up to the bound: the rest cannot be part of a head
		// the sniffer would read.
		n := min(len(data), maxSniffBytes-len(s.buf[d]))
		s.buf[d] = append(s.buf[d], data[:max(n, 0)]...)
		head = s.buf[d]
	}
	if len(head) > maxSniffBytes {
		head = head[:maxSniffBytes]
	}
	end := headerBlockEnd(head)
	if end < 0 {
		if len(head) >= maxSniffBytes {
			s.done[d], s.buf[d] = true, nil
		} else if len(s.buf[d]) == 0 {
			// The common case, a head in one segment, never copies.
			s.buf[d] = append(make([]byte, 0, min(2*len(head), maxSniffBytes)), head...)
		}
		return
	}
	eachHeader(head[:end], func(name, value []byte) {
		switch {
		case d == flow.ToServer && bytes.EqualFold(name, []byte("User-Agent")):
			f.AddName(flow.NameHTTPUserAgent, value)
		case d == flow.ToServer && bytes.EqualFold(name, []byte("Host")):
			f.AddName(flow.NameHTTPHost, hostOnly(value))
		case d == flow.ToClient && bytes.EqualFold(name, []byte("Server")):
			f.AddName(flow.NameHTTPServer, value)
		}
	})
	s.done[d], s.buf[d] = true, nil
}

// headerBlockEnd returns the length of the start line and headers at the
// front of b, up to and including the empty line that ends them, or -1
// when b does not hold all of them. Empty lines before the start line are
// skipped, as HTTP parsers do.
func headerBlockEnd(b []byte) int {
	off := 0
	started := false
	for {
		i := bytes.IndexByte(b[off:], '\n')
		if i < 0 {
			return -1
		}
		line := bytes.TrimSuffix(b[off:off+i], []byte("\r"))
		off += i + 1
		if len(line) == 0 {
			if started {
				return off
			}
			continue
		}
		started = true
	}
}

// eachHeader calls fn for each "Name: value" line of a header block (start
// line and empty lines skipped; folded continuation lines are ignored).
func eachHeader(block []byte, fn func(name, value []byte)) {
	first := true
	for len(block) > 0 {
		line := block
		if i := bytes.IndexByte(block, '\n'); i >= 0 {
			line, block = block[:i], block[i+1:]
		} else {
			block = nil
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 || line[0] == ' ' || line[0] == '\t' {
			continue
		}
		if first {
			first = false
			continue
		}
		if c := bytes.IndexByte(line, ':'); c > 0 {
			fn(bytes.TrimRight(line[:c], " \t"), line[c+1:])
		}
	}
}

// hostOnly strips the port from a Host header value ("web:8080",
// "[::1]:80"), as the HTTP parser's Tx.Host does.
func hostOnly(v []byte) []byte {
	v = bytes.TrimSpace(v)
	if len(v) > 0 && v[0] == '[' {
		if i := bytes.IndexByte(v, ']'); i > 0 {
			return v[1:i]
		}
		return v
	}
	if i := bytes.LastIndexByte(v, ':'); i >= 0 && bytes.IndexByte(v[:i], ':') < 0 {
		return v[:i]
	}
	return v
}

// tlsNames keeps the names a TLS handshake revealed: the server name the
// client asked for and the names the server's certificate is for.
func tlsNames(f *flow.Flow, s *tls.State) {
	f.AddName(flow.NameTLSSNI, s.SNI)
	if s.CertCommonName != "" && !f.Names.Full(flow.NameTLSCert) {
		f.AddName(flow.NameTLSCert, []byte(s.CertCommonName))
	}
	for _, n := range s.CertDNSNames {
		if f.Names.Full(flow.NameTLSCert) {
			break
		}
		f.AddName(flow.NameTLSCert, []byte(n))
	}
}

// dnsNames keeps the question names of a DNS query (responses repeat them).
func dnsNames(f *flow.Flow, m *dns.Message) {
	if m.Response {
		return
	}
	for i := range m.Queries {
		if f.Names.Full(flow.NameDNSQuery) {
			return
		}
		f.AddName(flow.NameDNSQuery, m.Queries[i].Name)
	}
}

// dnsIsQuery reports whether a DNS payload is a query, from its header
// alone, so the names path parses no responses.
func dnsIsQuery(payload []byte) bool {
	return len(payload) > 2 && payload[2]&0x80 == 0
}
