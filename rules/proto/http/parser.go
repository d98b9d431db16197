package http

import (
	"bytes"
	"cmp"
	"slices"
)

// Limits that keep one connection's memory bounded whatever the peer sends.
const (
	maxLine        = 16 << 10 // a line longer than this is cut and flagged
	maxHeaderBytes = 64 << 10 // raw header block kept per message
	maxHeaders     = 256
	maxHeldTxs     = 512 // oldest txs are dropped if the engine never calls Done
	// maxPrealloc bounds the body buffer sized from a Content-Length up
	// front; a longer body grows it as it arrives.
	maxPrealloc = 1 << 20
)

type state uint8

const (
	stLine state = iota // request or response line (blank lines skipped)
	stHeaders
	stBodyLen
	stChunkLen
	stChunkData
	stChunkEnd
	stTrailers
	stBodyClose // response body until the direction closes
	stConnect   // request side after CONNECT or Upgrade: wait for the response
	stDead      // nothing more is parsed (only after a fatal state)
)

// side is the parsing state of one direction.
type side struct {
	buf     []byte // bytes not yet consumed (partial lines)
	st      state
	tx      *Tx
	left    int64  // bytes left in a Content-Length body or chunk
	pending []byte // header line that may still be continued by folding
	hasPend bool
	nHdr    int
	trailer bool // header lines belong to chunked trailers
	closed  bool
}

// Parser turns the two byte streams of one connection into transactions.
type Parser struct {
	cfg    Config
	txs    []*Tx
	await  []*Tx // requests whose response has not started, oldest first
	nextID int
	req    side
	res    side
	// changedFrom is the oldest transaction ID the last Feed may have
	// advanced (Changed).
	changedFrom int
}

// NewParser returns a parser for one connection.
func NewParser(cfg Config) *Parser {
	return &Parser{cfg: cfg.withDefaults()}
}

// Txs returns the transactions still held, oldest first. The slice is only
// valid until the next Feed or Done.
func (p *Parser) Txs() []*Tx { return p.txs }

// Changed returns the transactions the last Feed may have advanced, oldest
// first: the one its direction was parsing, those it started, and for
// responses those awaiting one. A client pipelining hundreds of requests
// that get no answer keeps them all held, and visiting each on every
// segment made inspection quadratic. Valid until the next Feed or Done.
func (p *Parser) Changed() []*Tx {
	i, _ := slices.BinarySearchFunc(p.txs, p.changedFrom, func(t *Tx, id int) int { return cmp.Compare(t.ID, id) })
	return p.txs[i:]
}

// markChanged records, before a Feed in dir, the oldest transaction it can
// reach: requests are parsed into the side's unfinished transaction and
// new ones; responses also start the oldest awaiting one, and may resume
// the request side (CONNECT).
func (p *Parser) markChanged(dir Dir) {
	from := p.nextID
	consider := func(t *Tx) {
		if t != nil && t.ID < from {
			from = t.ID
		}
	}
	// Between messages (stLine) a side's last transaction is complete.
	if p.req.st != stLine {
		consider(p.req.tx)
	}
	if dir == ToClient {
		// An interim response (100 Continue) leaves the side between
		// messages with its transaction still unanswered.
		consider(p.res.tx)
		if len(p.await) > 0 {
			consider(p.await[0])
		}
	}
	p.changedFrom = from
}

// Done releases transaction id once the engine has inspected it fully.
// Neither the Tx nor its byte slices may be used afterwards: a complete
// transaction's memory serves later ones.
func (p *Parser) Done(id int) {
	for i, t := range p.txs {
		if t.ID == id {
			copy(p.txs[i:], p.txs[i+1:])
			p.txs[len(p.txs)-1] = nil
			p.txs = p.txs[:len(p.txs)-1]
			p.release(t)
			return
		}
	}
}

// release recycles t, just dropped from p.txs, if the parser is done with
// it too: both messages complete, so nothing refers to it but a side
// whose last transaction it was, where nil reads the same. (A complete
// transaction never waits in await; that is checked all the same, as a
// recycled one still in use would corrupt another.) A transaction
// released while still being parsed is left to the garbage collector.
func (p *Parser) release(t *Tx) {
	if !t.RequestDone || !t.ResponseDone || slices.Contains(p.await, t) {
		return
	}
	if p.req.tx == t {
		p.req.tx = nil
	}
	if p.res.tx == t {
		p.res.tx = nil
	}
	t.recycle()
}

func (p *Parser) newTx() *Tx {
	t := getTx(p.nextID)
	p.nextID++
	if len(p.txs) >= maxHeldTxs {
		// The engine is not releasing txs; drop the oldest rather than grow
		// without bound. The sides keep their own pointers, so parsing goes on.
		copy(p.txs, p.txs[1:])
		p.txs = p.txs[:len(p.txs)-1]
	}
	p.txs = append(p.txs, t)
	return t
}

// Feed consumes the next in-order bytes of one direction. eof says the
// direction has closed, which ends a response body without a length.
func (p *Parser) Feed(dir Dir, data []byte, eof bool) {
	p.markChanged(dir)
	s := &p.req
	if dir == ToClient {
		s = &p.res
	}
	if s.closed {
		return
	}
	if s.st == stConnect {
		// Hold what the client sends after CONNECT until the response
		// says whether it is a tunnel; a bounded amount is enough.
		if room := maxLine - len(s.buf); room > 0 {
			s.buf = append(s.buf, data[:min(room, len(data))]...)
		}
		if eof {
			s.closed = true
		}
		return
	}
	// Parse straight from the caller's bytes when nothing is pending; only
	// an unfinished line is copied.
	b := data
	if len(s.buf) > 0 {
		s.buf = append(s.buf, data...)
		b = s.buf
	}
	var n int
	if dir == ToServer {
		n = p.runRequest(s, b, eof)
	} else {
		n = p.runResponse(s, b, eof)
	}
	if len(s.buf) > 0 {
		rest := copy(s.buf, s.buf[n:])
		s.buf = s.buf[:rest]
	} else {
		s.buf = append(s.buf, b[n:]...)
	}
	if s.st == stConnect && len(s.buf) > maxLine {
		s.buf = s.buf[:maxLine]
	}
	if eof {
		p.finish(dir, s)
	}
}

// finish ends whatever message was in progress when the direction closed.
func (p *Parser) finish(dir Dir, s *side) {
	s.closed = true
	if s.st == stConnect {
		return // resumeRequests finishes once the response has decided
	}
	s.buf = s.buf[:0]
	t := s.tx
	if t == nil {
		return
	}
	if dir == ToServer {
		if !t.RequestDone {
			if s.st != stLine {
				t.event(EvUnterminated)
			}
			if s.st == stHeaders && s.hasPend {
				p.flushHeader(s, ToServer)
			}
			t.RequestDone = true
			t.RequestLineDone = t.RequestLineDone || len(t.RequestLine) > 0
		}
		return
	}
	if !t.ResponseDone {
		if s.st == stHeaders && s.hasPend {
			p.flushHeader(s, ToClient)
		}
		if s.st != stBodyClose && s.st != stLine {
			t.event(EvUnterminated)
		}
		p.endResponse(s)
	}
}

// nextLine returns the next line (terminator excluded), the bytes it spans
// and whether a complete line was available. A line longer than maxLine is
// returned cut so a peer cannot make us buffer without bound.
func nextLine(b []byte, eof bool) (line []byte, n int, ok bool) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		if len(b) > maxLine {
			return b[:maxLine], maxLine, true
		}
		if eof && len(b) > 0 {
			return trimCR(b), len(b), true
		}
		return nil, 0, false
	}
	return trimCR(b[:i]), i + 1, true
}

func trimCR(b []byte) []byte {
	if len(b) > 0 && b[len(b)-1] == '\r' {
		return b[:len(b)-1]
	}
	return b
}

func isLWS(c byte) bool { return c == ' ' || c == '\t' }

// isSpace is the generous whitespace set libhtp trims around values.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'
}

func blankLine(l []byte) bool {
	for _, c := range l {
		if !isSpace(c) && c != 0 {
			return false
		}
	}
	return true
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// ---- requests ----

func (p *Parser) runRequest(s *side, in []byte, eof bool) int {
	off := 0
	for off < len(in) {
		b := in[off:]
		switch s.st {
		case stLine:
			line, n, ok := nextLine(b, eof)
			if !ok {
				return off
			}
			if blankLine(line) {
				off += n
				continue // libhtp ignores empty lines between requests
			}
			headersFollow, wait := headersFollow(b[n:], eof)
			if wait && missingProtocol(line) {
				return off
			}
			off += n
			t := p.newTx()
			s.tx = t
			if len(p.await) >= maxHeldTxs {
				// Far more requests than responses: forget the oldest
				// rather than grow without bound.
				p.await[0].event(EvUnmatchedRequestDropped)
				p.await = p.await[1:]
			}
			p.await = append(p.await, t)
			p.parseRequestLine(t, line)
			if t.http09 && headersFollow {
				// Like libhtp: a request line without protocol followed by
				// a header line is HTTP/1.x with the protocol missing.
				t.http09 = false
			}
			if t.http09 {
				t.RequestHeadersDone = true
				t.RequestDone = true
				continue
			}
			p.startHeaders(s, t, false)
		case stHeaders, stTrailers:
			n, ok := p.headerLines(s, ToServer, b, eof)
			off += n
			if !ok {
				return off
			}
		case stBodyLen:
			n := int(min(s.left, int64(len(b))))
			p.reqBody(s.tx, b[:n])
			off += n
			s.left -= int64(n)
			if s.left == 0 {
				p.endRequest(s)
			}
		case stChunkLen, stChunkData, stChunkEnd:
			n, ok := p.chunked(s, ToServer, b, eof)
			off += n
			if !ok {
				return off
			}
		case stConnect:
			return off // held in s.buf until the response decides
		default:
			// Requests never run to close; anything else is discarded.
			return len(in)
		}
	}
	return off
}

func hasHeader(hs []Header, name string) bool {
	_, ok := findHeader(hs, name)
	return ok
}

// missingProtocol is a cheap pre-check for a request line without protocol.
func missingProtocol(line []byte) bool {
	f, rest := nextField(line)
	_, rest = nextField(rest)
	proto, _ := nextField(rest)
	return len(f) > 0 && len(proto) == 0
}

// headersFollow looks at what follows a request line: a "name:" before any
// whitespace means header lines. wait says more bytes are needed to tell.
func headersFollow(b []byte, eof bool) (yes, wait bool) {
	for i, c := range b {
		switch {
		case c == ':':
			return i > 0, false
		case !isTokenChar(c):
			return false, false
		}
	}
	return false, !eof && len(b) < maxLine
}

func (p *Parser) endRequest(s *side) {
	t := s.tx
	p.decodeBody(t, &t.reqC, &t.RequestBody, p.cfg.RequestBodyLimit)
	t.RequestDone = true
	s.st = stLine
	if !t.ResponseDone && (equalFold(t.Method, "CONNECT") || hasHeader(t.RequestHeaders, "Upgrade")) {
		s.st = stConnect
	}
}

func (p *Parser) reqBody(t *Tx, b []byte) {
	t.RequestBodyLen += int64(len(b))
	if len(t.reqC.enc) > 0 {
		t.reqC.raw = appendLimited(t, t.reqC.raw, b, p.cfg.RequestBodyLimit)
		return
	}
	room := p.cfg.RequestBodyLimit - len(t.RequestBody)
	if room <= 0 {
		if len(b) > 0 {
			t.event(EvBodyTruncated)
		}
		return
	}
	if len(b) > room {
		b = b[:room]
		t.event(EvBodyTruncated)
	}
	t.RequestBody = append(t.RequestBody, b...)
}

// requestHeadersDone decides how the request body is framed.
func (p *Parser) requestHeadersDone(s *side) {
	t := s.tx
	t.RequestHeadersDone = true
	p.fillHost(t)
	// Suricata decodes compressed request bodies too (since 7.0.16).
	p.setEncodings(t, &t.reqC, t.RequestHeaders)
	if te, ok := t.RequestHeader("Transfer-Encoding"); ok && containsChunked(te) {
		if _, ok := t.RequestHeader("Content-Length"); ok {
			t.event(EvChunkedAndLength)
		}
		s.st = stChunkLen
		return
	}
	if cl, ok := t.RequestHeader("Content-Length"); ok {
		n, valid := parseContentLength(cl, true)
		if !valid {
			t.event(EvInvalidContentLength)
		}
		if n > 0 {
			s.st = stBodyLen
			s.left = n
			return
		}
	}
	p.endRequest(s)
}

// ---- responses ----

// respTx picks the transaction the next response belongs to: the oldest one
// whose request was seen and whose response has not started.
func (p *Parser) respTx() *Tx {
	if len(p.await) > 0 {
		t := p.await[0]
		p.await[0] = nil
		p.await = p.await[1:]
		return t
	}
	t := p.newTx()
	t.event(EvResponseWithoutRequest)
	t.RequestDone = true
	return t
}

func (p *Parser) runResponse(s *side, in []byte, eof bool) int {
	off := 0
	for off < len(in) {
		b := in[off:]
		switch s.st {
		case stLine:
			line, n, ok := nextLine(b, eof)
			if !ok {
				return off
			}
			if blankLine(line) {
				off += n
				continue
			}
			t := s.tx
			if t == nil || t.ResponseDone {
				t = p.respTx()
				s.tx = t
			}
			skip := 0
			if !t.http09 && !looksLikeStatusLine(line) {
				// Junk before a status line is skipped when a status line
				// follows within a few lines; otherwise the data is a body
				// without headers (HTTP/0.9 style), as libhtp treats it.
				var found, wait bool
				skip, found, wait = findStatusLine(b, eof)
				if wait {
					return off
				}
				if found {
					t.event(EvInvalidResponseLine)
					line, n, _ = nextLine(b[skip:], eof)
				}
			}
			if t.http09 || !looksLikeStatusLine(line) {
				if !t.http09 {
					t.event(EvInvalidResponseLine)
				}
				t.ResponseLineDone = true
				t.ResponseHeadersDone = true
				s.st = stBodyClose
				continue
			}
			off += skip + n
			p.startHeaders(s, t, false)
			p.parseResponseLine(t, line)
		case stHeaders, stTrailers:
			n, ok := p.headerLines(s, ToClient, b, eof)
			off += n
			if !ok {
				return off
			}
		case stBodyLen:
			n := int(min(s.left, int64(len(b))))
			p.resBody(s.tx, b[:n])
			off += n
			s.left -= int64(n)
			if s.left == 0 {
				p.endResponse(s)
			}
		case stChunkLen, stChunkData, stChunkEnd:
			n, ok := p.chunked(s, ToClient, b, eof)
			off += n
			if !ok {
				return off
			}
		case stBodyClose:
			p.resBody(s.tx, b)
			off += len(b)
		default:
			return len(in)
		}
	}
	return off
}

func (p *Parser) resBody(t *Tx, b []byte) {
	t.ResponseBodyLen += int64(len(b))
	if len(t.resC.enc) > 0 {
		t.resC.raw = appendLimited(t, t.resC.raw, b, p.cfg.ResponseBodyLimit)
		return
	}
	t.ResponseBody = appendLimited(t, t.ResponseBody, b, p.cfg.ResponseBodyLimit)
}

func appendLimited(t *Tx, dst, b []byte, limit int) []byte {
	room := limit - len(dst)
	if room <= 0 {
		if len(b) > 0 {
			t.event(EvBodyTruncated)
		}
		return dst
	}
	if len(b) > room {
		b = b[:room]
		t.event(EvBodyTruncated)
	}
	return append(dst, b...)
}

func (p *Parser) endResponse(s *side) {
	t := s.tx
	t.ResponseLineDone = true
	t.ResponseHeadersDone = true
	p.decodeBody(t, &t.resC, &t.ResponseBody, p.cfg.ResponseBodyLimit)
	t.ResponseDone = true
	s.st = stLine
}

// responseHeadersDone decides how the response body is framed, in libhtp's
// order: no body for HEAD/1xx/204/304, then chunked, then Content-Length,
// else until the connection closes.
func (p *Parser) responseHeadersDone(s *side) {
	t := s.tx
	t.ResponseHeadersDone = true
	if t.status >= 100 && t.status < 200 && t.status != 101 {
		// Interim response: the final one follows for the same request.
		t.ResponseLineDone = false
		t.ResponseHeadersDone = false
		t.ResponseHeaders = t.ResponseHeaders[:0]
		t.ResponseHeadersRaw = t.ResponseHeadersRaw[:0]
		s.st = stLine
		return
	}
	if p.tunnel(t) {
		p.endResponse(s)
		s.st, p.req.st = stDead, stDead
		p.req.buf = p.req.buf[:0]
		return
	}
	if p.req.st == stConnect && p.req.tx == t {
		p.resumeRequests()
	}
	p.setEncodings(t, &t.resC, t.ResponseHeaders)
	te, hasTE := t.ResponseHeader("Transfer-Encoding")
	_, hasCL := t.ResponseHeader("Content-Length")
	// 204 and 304 carry no body, but one that is framed anyway is read as
	// body: a client that reads it must not let it slip past inspection.
	if t.head || ((t.status == 204 || t.status == 304) && !hasTE && !hasCL) {
		p.endResponse(s)
		return
	}
	if hasTE && containsChunked(te) {
		if _, ok := t.ResponseHeader("Content-Length"); ok {
			t.event(EvChunkedAndLength)
		}
		if len(t.ResponseProtocol) > 0 && bytes.Compare(t.ResponseProtocol, []byte("HTTP/1.1")) < 0 {
			t.event(EvChunkedOldProtocol)
		}
		s.st = stChunkLen
		return
	}
	if hasTE {
		t.event(EvInvalidTransferEncoding)
	}
	if cl, ok := t.ResponseHeader("Content-Length"); ok {
		n, valid := parseContentLength(cl, false)
		if valid {
			if n == 0 {
				p.endResponse(s)
				return
			}
			s.st = stBodyLen
			s.left = n
			// Size the body for its length at once rather than grow it
			// (a lying length costs at most maxPrealloc).
			body := &t.ResponseBody
			if len(t.resC.enc) > 0 {
				body = &t.resC.raw
			}
			if want := int(min(n, int64(p.cfg.ResponseBodyLimit), maxPrealloc)); len(*body) == 0 && cap(*body) < want {
				*body = make([]byte, 0, want)
			}
			return
		}
		// An unusable length is what evasions use to desynchronise a
		// monitor; reading to the close sees every byte the client may.
		t.event(EvInvalidContentLength)
	}
	s.st = stBodyClose
}

// findStatusLine looks for a status line within the next few lines of b.
// wait says more data is needed to decide.
func findStatusLine(b []byte, eof bool) (off int, found, wait bool) {
	const maxJunkLines, maxJunkBytes = 8, 2048
	for i := 0; i < maxJunkLines && off < maxJunkBytes; i++ {
		line, n, ok := nextLine(b[off:], eof)
		if !ok {
			return 0, false, !eof
		}
		if looksLikeStatusLine(line) {
			return off, true, false
		}
		off += n
	}
	return 0, false, false
}

// resumeRequests parses what the client sent after a CONNECT that did not
// become a tunnel.
func (p *Parser) resumeRequests() {
	s := &p.req
	s.st = stLine
	n := p.runRequest(s, s.buf, s.closed)
	rest := copy(s.buf, s.buf[n:])
	s.buf = s.buf[:rest]
	if s.closed {
		s.closed = false
		p.finish(ToServer, s)
	}
}

// tunnel reports a response after which the connection stops being HTTP/1:
// a successful CONNECT, or 101 Switching Protocols with an Upgrade header.
// libhtp stops parsing there too; another parser may take over.
func (p *Parser) tunnel(t *Tx) bool {
	if t.status >= 200 && t.status < 300 && equalFold(t.Method, "CONNECT") {
		t.Tunnel = true
	}
	if _, up := t.ResponseHeader("Upgrade"); up && t.status == 101 {
		t.Tunnel = true
	}
	return t.Tunnel
}

// ---- shared header handling ----

func (p *Parser) startHeaders(s *side, t *Tx, trailer bool) {
	s.st = stHeaders
	if trailer {
		s.st = stTrailers
	}
	s.trailer = trailer
	s.hasPend = false
	s.pending = s.pending[:0]
	s.nHdr = 0
}

// headerLines consumes header lines until the blank line that ends the block
// (ok=true, state moved on) or until input runs out (ok=false).
func (p *Parser) headerLines(s *side, dir Dir, b []byte, eof bool) (int, bool) {
	off := 0
	t := s.tx
	for {
		line, n, ok := nextLine(b[off:], eof)
		if !ok {
			return off, false
		}
		end := off + n
		bareLF := b[end-1] == '\n' && (n < 2 || b[end-2] != '\r')
		if bareLF {
			// "LF CR" is taken as one line end, as lenient servers do; it
			// needs one byte of look-ahead.
			if end == len(b) && !eof {
				return off, false
			}
			if end < len(b) && b[end] == '\r' {
				end++
			}
		}
		raw := b[off:end]
		off = end
		if !s.trailer {
			if dir == ToServer {
				t.RequestHeadersRaw = appendCap(t.RequestHeadersRaw, raw, maxHeaderBytes)
			} else {
				t.ResponseHeadersRaw = appendCap(t.ResponseHeadersRaw, raw, maxHeaderBytes)
			}
		}
		// An empty line ends the block; so does a lone SP/HT before a bare
		// LF, which libhtp also accepts as the terminator.
		if len(line) == 0 || (len(line) == 1 && isLWS(line[0]) && bareLF) {
			p.flushHeader(s, dir)
			p.headersEnd(s, dir)
			return off, true
		}
		p.headerLine(s, dir, line)
	}
}

func appendCap(dst, b []byte, limit int) []byte {
	if room := limit - len(dst); room < len(b) {
		if room <= 0 {
			return dst
		}
		b = b[:room]
	}
	return append(dst, b...)
}

// headerLine handles one physical line: a continuation of the previous
// header (obs-fold) or a new header. Bare CRs inside the line are treated as
// line ends, as servers that accept them would.
func (p *Parser) headerLine(s *side, dir Dir, line []byte) {
	for {
		i := bytes.IndexByte(line, '\r')
		part := line
		if i >= 0 {
			part = line[:i]
			s.tx.event(EvBareCRLineEnd)
		}
		p.headerPart(s, dir, part)
		if i < 0 {
			return
		}
		line = line[i+1:]
	}
}

// headerPart handles one logical line: a new header, or a continuation of
// the previous one (obs-fold). A continuation that itself reads "name:" is
// taken as a new header, since clients that ignore the indentation would.
func (p *Parser) headerPart(s *side, dir Dir, part []byte) {
	if len(part) == 0 {
		return
	}
	if (isLWS(part[0]) || part[0] == 0) && s.hasPend {
		v := bytes.Trim(part, " \t\r\n\v\f\x00")
		if len(v) == 0 {
			return
		}
		s.tx.event(EvFoldedHeader)
		if !looksLikeHeader(v) {
			if len(s.pending)+len(v) > maxHeaderBytes {
				s.tx.event(EvHeadersTooLong)
				return
			}
			s.pending = append(s.pending, ' ')
			s.pending = append(s.pending, v...)
			return
		}
		part = v
	}
	if blankLine(part) {
		return
	}
	p.flushHeader(s, dir)
	s.pending = append(s.pending[:0], part...)
	s.hasPend = true
}

// looksLikeHeader reports "token:" at the start of b.
func looksLikeHeader(b []byte) bool {
	i := 0
	for i < len(b) && isTokenChar(b[i]) {
		i++
	}
	return i > 0 && i < len(b) && b[i] == ':'
}

// flushHeader turns the pending header line into a Header.
func (p *Parser) flushHeader(s *side, dir Dir) {
	if !s.hasPend {
		return
	}
	s.hasPend = false
	t := s.tx
	if s.nHdr >= maxHeaders {
		t.event(EvHeadersTooLong)
		return
	}
	s.nHdr++
	line := s.pending
	var name, value []byte
	if i := bytes.IndexByte(line, ':'); i >= 0 {
		name, value = line[:i], line[i+1:]
	} else {
		// libhtp keeps a colon-less line as a header with an empty value.
		t.event(EvMissingColon)
		name = line
	}
	if len(name) > 0 && isSpace(name[len(name)-1]) {
		t.event(EvSpaceBeforeColon)
	}
	name = trimSpace(name)
	value = trimSpace(value)
	if bytes.IndexByte(line, 0) >= 0 {
		t.event(EvNulInHeader)
	}
	hs := &t.RequestHeaders
	if dir == ToClient {
		hs = &t.ResponseHeaders
	}
	if s.trailer {
		// Trailers join the headers, as libhtp adds them to the same table
		// and Suricata inspects http.header again after them.
		t.event(EvTrailer)
	}
	for i := range *hs {
		h := &(*hs)[i]
		if sameName(h.Name, name) {
			// Repeated headers are joined like libhtp does.
			if len(h.Value)+len(value) > maxHeaderBytes {
				t.event(EvHeadersTooLong)
				return
			}
			v := make([]byte, 0, len(h.Value)+2+len(value))
			v = append(append(append(v, h.Value...), ", "...), value...)
			h.Value = v
			if nameIs(name, "content-length") {
				t.event(EvDuplicateContentLength)
			}
			return
		}
	}
	if *hs == nil {
		*hs = make([]Header, 0, 8)
	}
	*hs = append(*hs, Header{Name: t.keep(name), Value: t.keep(value)})
}

func (p *Parser) headersEnd(s *side, dir Dir) {
	if s.trailer {
		s.trailer = false
		if dir == ToServer {
			p.endRequest(s)
		} else {
			p.endResponse(s)
		}
		return
	}
	if dir == ToServer {
		p.requestHeadersDone(s)
	} else {
		p.responseHeadersDone(s)
	}
}

// ---- chunked bodies ----

// chunked runs the chunk-size / data / CRLF states.
func (p *Parser) chunked(s *side, dir Dir, b []byte, eof bool) (int, bool) {
	off := 0
	t := s.tx
	for off < len(b) {
		switch s.st {
		case stChunkLen:
			line, n, ok := nextLine(b[off:], eof)
			if !ok {
				if len(b)-off > 1024 {
					// No size line ends within a sane length: not chunked.
					p.chunkFallback(s, dir)
					return off, true
				}
				return off, false
			}
			if blankLine(line) {
				off += n // tolerate empty lines before a size
				continue
			}
			size, valid := parseChunkLen(line)
			if !valid {
				t.event(EvInvalidChunkLen)
				p.chunkFallback(s, dir)
				return off, true
			}
			off += n
			if size == 0 {
				p.startHeaders(s, t, true)
				return off, true
			}
			s.left = size
			s.st = stChunkData
		case stChunkData:
			n := int(min(s.left, int64(len(b)-off)))
			if dir == ToServer {
				p.reqBody(t, b[off:off+n])
			} else {
				p.resBody(t, b[off:off+n])
			}
			off += n
			s.left -= int64(n)
			if s.left == 0 {
				s.st = stChunkEnd
			}
		case stChunkEnd:
			// libhtp consumes whatever is left of the line after the data.
			_, n, ok := nextLine(b[off:], eof)
			if !ok {
				return off, false
			}
			off += n
			s.st = stChunkLen
		}
	}
	return off, false
}

// chunkFallback handles a body that claims to be chunked but is not: like
// libhtp, a response is then read as plain data until the close; a request
// body ends.
func (p *Parser) chunkFallback(s *side, dir Dir) {
	if dir == ToServer {
		p.endRequest(s)
		s.st = stDead
		return
	}
	s.st = stBodyClose
}

// parseChunkLen reads a hex size, tolerating leading whitespace and
// anything after the digits (extensions and junk), as libhtp does.
func parseChunkLen(l []byte) (int64, bool) {
	i := 0
	for i < len(l) && (isSpace(l[i]) || l[i] == 0) {
		i++
	}
	var n int64
	digits := 0
	for ; i < len(l); i++ {
		c := l[i]
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			goto done
		}
		if n > (1<<40) || (n == 0 && digits > 32) {
			return 0, false
		}
		n = n<<4 | int64(d)
		digits++
	}
done:
	if digits == 0 {
		return 0, false
	}
	return n, true
}

// parseContentLength parses a Content-Length value. Repeated headers arrive
// joined by ", "; they count only when all agree. lenient accepts leading
// digits followed by junk (used for requests, which cannot run to close).
func parseContentLength(v []byte, lenient bool) (int64, bool) {
	var out int64 = -1
	for len(v) > 0 {
		part := v
		if i := bytes.IndexByte(v, ','); i >= 0 {
			part, v = v[:i], v[i+1:]
		} else {
			v = nil
		}
		part = trimSpace(part)
		var n int64
		i := 0
		for ; i < len(part) && part[i] >= '0' && part[i] <= '9'; i++ {
			if n > 1<<50 {
				return 0, false
			}
			n = n*10 + int64(part[i]-'0')
		}
		if i == 0 || (i < len(part) && !lenient) {
			if lenient && out >= 0 {
				continue
			}
			return 0, false
		}
		if out >= 0 && n != out {
			return 0, false
		}
		out = n
	}
	return out, out >= 0
}

func containsChunked(v []byte) bool {
	const word = "chunked"
	j := 0
	for _, c := range v {
		if c == 0 {
			continue // NULs inside the token are ignored as libhtp does
		}
		if lower(c) == word[j] {
			j++
			if j == len(word) {
				return true
			}
			continue
		}
		j = 0
		if lower(c) == word[0] {
			j = 1
		}
	}
	return false
}
