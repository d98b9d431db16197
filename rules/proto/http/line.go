package http

import "bytes"

var knownMethods = [...]string{
	"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE", "CONNECT", "PATCH",
	"PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK", "SEARCH",
	"CHECKOUT", "CHECKIN", "REPORT", "MKACTIVITY", "MERGE", "UPDATE", "LABEL",
	"VERSION-CONTROL", "BASELINE-CONTROL", "MKWORKSPACE", "UNCHECKOUT", "ACL",
}

func isKnownMethod(m []byte) bool {
	for _, k := range knownMethods {
		if string(m) == k {
			return true
		}
	}
	return false
}

func isTokenChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return bytes.IndexByte([]byte("!#$%&'*+-.^_`|~"), c) >= 0
}

// fields splits on runs of SP/HT the way libhtp tolerates extra spaces.
func nextField(b []byte) (field, rest []byte) {
	for len(b) > 0 && isLWS(b[0]) {
		b = b[1:]
	}
	i := 0
	for i < len(b) && !isLWS(b[i]) {
		i++
	}
	return b[:i], b[i:]
}

// parseRequestLine fills the request-line fields. A line without a protocol
// is an HTTP/0.9 request, which has neither headers nor body.
func (p *Parser) parseRequestLine(t *Tx, line []byte) {
	t.RequestLine = t.keep(line)
	t.RequestLineDone = true
	l := t.RequestLine
	// Leading whitespace before the method is tolerated, not kept.
	m, rest := nextField(l)
	t.Method = m
	if !isKnownMethod(m) {
		t.event(EvUnknownMethod)
	}
	if bytes.EqualFold(m, []byte("HEAD")) {
		t.head = true
	}
	rest = trimSpace(rest)
	// The protocol is the last field when it looks like one, so a URI with
	// spaces in it stays whole.
	uri := rest
	var proto []byte
	if i := bytes.LastIndexAny(rest, " \t"); i >= 0 {
		cand := trimSpace(rest[i+1:])
		if len(cand) >= 4 && bytes.EqualFold(cand[:4], []byte("HTTP")) {
			proto = cand
			uri = trimSpace(rest[:i])
		}
	} else if len(rest) >= 5 && bytes.EqualFold(rest[:5], []byte("HTTP/")) && len(m) > 0 {
		// "GET HTTP/1.1": no URI at all.
		proto, uri = rest, nil
	}
	if len(m) == 0 || (len(uri) == 0 && len(proto) == 0) {
		t.event(EvInvalidRequestLine)
	}
	t.URIRaw = uri
	t.Protocol = proto
	if len(proto) == 0 {
		t.event(EvMissingProtocol)
		// Only a known method makes a line without protocol an HTTP/0.9
		// request; junk is not (a server answers it with a full response).
		t.http09 = isKnownMethod(m)
	}
	t.URINorm = normalizeURI(t.URINorm[:0], uri) // storage a recycled tx kept
	p.fillHost(t)
}

// fillHost takes the host from an absolute URI, else from the Host header.
func (p *Parser) fillHost(t *Tx) {
	if h, port, ok := uriHost(t.URIRaw); ok {
		t.Host, t.Port = h, port
		return
	}
	if v, ok := t.RequestHeader("Host"); ok {
		t.Host, t.Port = splitHostPort(v)
	}
}

func looksLikeStatusLine(l []byte) bool {
	l = bytes.TrimLeft(l, " \t\r\v\f\x00")
	return len(l) >= 4 && bytes.EqualFold(l[:4], []byte("HTTP"))
}

func (p *Parser) parseResponseLine(t *Tx, line []byte) {
	t.ResponseLine = t.keep(bytes.TrimLeft(line, " \t\r\v\f\x00"))
	t.ResponseLineDone = true
	l := t.ResponseLine
	// Bare CR inside the status line splits off what follows as headers.
	if i := bytes.IndexByte(l, '\r'); i >= 0 {
		l = l[:i]
	}
	proto, rest := nextField(l)
	t.ResponseProtocol = proto
	code, rest := nextField(rest)
	t.StatusCode = code
	t.StatusMsg = trimSpace(rest)
	t.status = -1
	if len(code) == 3 {
		n := 0
		for _, c := range code {
			if c < '0' || c > '9' {
				n = -1
				break
			}
			n = n*10 + int(c-'0')
		}
		if n >= 100 {
			t.status = n
		}
	}
	if t.status < 0 {
		t.event(EvInvalidStatus)
	}
	if i := bytes.IndexByte(t.ResponseLine, '\r'); i >= 0 {
		t.event(EvBareCRLineEnd)
		s := &p.res
		p.headerLine(s, ToClient, t.ResponseLine[i+1:])
	}
}
