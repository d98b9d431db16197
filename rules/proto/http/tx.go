package http

import "sync"

// Dir is a direction within a connection.
type Dir uint8

// ToServer carries requests, ToClient responses.
const (
	ToServer Dir = 0
	ToClient Dir = 1
)

// Defaults follow Suricata's shipped suricata.yaml (libhtp default-config).
const (
	DefaultRequestBodyLimit  = 100 << 10
	DefaultResponseBodyLimit = 100 << 10
	// DefaultDecompressLayerLimit is response-body-decompress-layer-limit.
	DefaultDecompressLayerLimit = 2
)

// Config tunes one Parser. Zero values select Suricata's defaults.
type Config struct {
	RequestBodyLimit  int // bytes of request body kept for inspection
	ResponseBodyLimit int // bytes of (decoded) response body kept for inspection
	// DecompressLayerLimit caps how many Content-Encoding layers are undone;
	// a negative value disables decompression.
	DecompressLayerLimit int
}

func (c Config) withDefaults() Config {
	if c.RequestBodyLimit <= 0 {
		c.RequestBodyLimit = DefaultRequestBodyLimit
	}
	if c.ResponseBodyLimit <= 0 {
		c.ResponseBodyLimit = DefaultResponseBodyLimit
	}
	if c.DecompressLayerLimit == 0 {
		c.DecompressLayerLimit = DefaultDecompressLayerLimit
	}
	return c
}

// Header is one header as sent; folded continuation lines are already joined.
type Header struct {
	Name, Value []byte
}

// Event is an anomaly seen while parsing; names follow Suricata's
// http app-layer events where one exists.
type Event uint8

// Anomalies recorded on a transaction.
const (
	EvUnknownMethod Event = iota + 1
	EvMissingProtocol
	EvInvalidRequestLine
	EvInvalidResponseLine
	EvInvalidStatus
	EvMissingColon
	EvSpaceBeforeColon
	EvFoldedHeader
	EvNulInHeader
	EvBareCRLineEnd
	EvLongLine
	EvInvalidContentLength
	EvDuplicateContentLength
	EvInvalidChunkLen
	EvChunkedAndLength
	EvChunkedOldProtocol
	EvInvalidTransferEncoding
	EvUnknownContentEncoding
	EvDecompressFailed
	EvTooManyEncodings
	EvBodyTruncated
	EvResponseWithoutRequest
	EvHeadersTooLong
	EvUnterminated
	EvURIHostMismatch
	EvUnmatchedRequestDropped
	EvTrailer
)

var eventNames = [...]string{
	EvUnknownMethod:           "UNKNOWN_METHOD",
	EvMissingProtocol:         "MISSING_PROTOCOL",
	EvInvalidRequestLine:      "REQUEST_LINE_INVALID",
	EvInvalidResponseLine:     "RESPONSE_LINE_INVALID",
	EvInvalidStatus:           "INVALID_RESPONSE_STATUS",
	EvMissingColon:            "MISSING_COLON",
	EvSpaceBeforeColon:        "HEADER_SPACE_BEFORE_COLON",
	EvFoldedHeader:            "HEADER_FOLDED",
	EvNulInHeader:             "NUL_IN_HEADER",
	EvBareCRLineEnd:           "BARE_CR_LINE_END",
	EvLongLine:                "LINE_TOO_LONG",
	EvInvalidContentLength:    "INVALID_CONTENT_LENGTH",
	EvDuplicateContentLength:  "DUPLICATE_CONTENT_LENGTH",
	EvInvalidChunkLen:         "INVALID_CHUNK_LEN",
	EvChunkedAndLength:        "CHUNKED_AND_CONTENT_LENGTH",
	EvChunkedOldProtocol:      "CHUNKED_OLD_PROTOCOL",
	EvInvalidTransferEncoding: "INVALID_TRANSFER_ENCODING",
	EvUnknownContentEncoding:  "UNKNOWN_CONTENT_ENCODING",
	EvDecompressFailed:        "DECOMPRESS_FAILED",
	EvTooManyEncodings:        "TOO_MANY_ENCODING_LAYERS",
	EvBodyTruncated:           "BODY_LIMIT_REACHED",
	EvResponseWithoutRequest:  "RESPONSE_WITHOUT_REQUEST",
	EvHeadersTooLong:          "HEADERS_TOO_LONG",
	EvUnterminated:            "UNTERMINATED_MESSAGE",
	EvURIHostMismatch:         "URI_HOST_INVALID",
	EvUnmatchedRequestDropped: "UNMATCHED_REQUEST_DROPPED",
	EvTrailer:                 "TRAILER_HEADERS",
}

func (e Event) String() string {
	if int(e) < len(eventNames) && eventNames[e] != "" {
		return eventNames[e]
	}
	return "UNKNOWN_EVENT"
}

// Tx is one request/response exchange. Byte slices are owned by the Tx and
// stay valid until Done is called for it; so does the Tx itself, which may
// then serve a later transaction.
type Tx struct {
	ID int // 0,1,2... per connection; EVE tx_id

	RequestLineDone, RequestHeadersDone, RequestDone    bool
	ResponseLineDone, ResponseHeadersDone, ResponseDone bool

	Method, URIRaw, URINorm, Protocol, RequestLine        []byte
	StatusCode, StatusMsg, ResponseLine, ResponseProtocol []byte

	RequestHeaders, ResponseHeaders []Header
	// RequestHeadersRaw and ResponseHeadersRaw are the header blocks exactly
	// as sent, line terminators included (http.header.raw).
	RequestHeadersRaw, ResponseHeadersRaw []byte

	// Bodies are de-chunked and decoded (Content-Encoding), at most the
	// configured limit. A compressed body is decoded when it completes.
	RequestBody, ResponseBody []byte
	// RequestBodyLen/ResponseBodyLen count body bytes on the wire after
	// de-chunking, including what was not stored.
	RequestBodyLen, ResponseBodyLen int64

	// Host is the host name from an absolute URI, else the Host header,
	// without port, as sent.
	Host []byte
	Port int // from the URI or Host header; 0 when absent

	Events []Event

	// Tunnel is set when the response turned the connection into a tunnel
	// (CONNECT 2xx, 101 with Upgrade): nothing after it is parsed as HTTP/1.
	Tunnel bool

	status     int // parsed status code, -1 when not numeric
	http09     bool
	head       bool
	reqC, resC coded
	respTrunc  bool
	arena      []byte // lines, header names and values are copied here

	// derived holds the buffers built from headers (http.header,
	// http.start...); kept marks those built from final headers, lent
	// the slots whose storage was handed out during this transaction:
	// only storage left from an earlier one may be overwritten.
	derived    [numDerived][]byte
	kept, lent uint8 // bit k: slot k
}

// Slots of Tx.derived.
const (
	derivedHeader0 = iota // http.header of the request
	derivedHeader1        // and of the response
	derivedNames0         // http.header_names
	derivedNames1
	derivedStart0 // http.start
	derivedStart1
	derivedHost // http.host
	numDerived
)

// txPool recycles the transactions parsers release, with their buffers
// (arena, header tables, raw headers, bodies, derived buffers): most
// connections carry one or two transactions, so a parser alone would
// rarely get to reuse one.
var txPool sync.Pool

// getTx returns an empty transaction numbered id.
func getTx(id int) *Tx {
	t, _ := txPool.Get().(*Tx)
	if t == nil {
		t = &Tx{status: -1}
	}
	t.ID = id
	return t
}

// maxKept is the capacity of the largest buffer a recycled transaction
// keeps: one that held a large body under a raised body limit should not
// stay pinned in the pool.
const maxKept = 256 << 10

// emptied returns b's storage for reuse, or nil when it is too large to
// keep.
func emptied[T any](b []T) []T {
	if cap(b) > maxKept {
		return nil
	}
	return b[:0]
}

// recycle empties t, keeping its buffers' storage, and pools it. The
// caller guarantees nothing refers to t any more.
func (t *Tx) recycle() {
	// Drop the header tables' references to old arenas and joined values.
	clear(t.RequestHeaders)
	clear(t.ResponseHeaders)
	var derived [numDerived][]byte
	for i, b := range t.derived {
		derived[i] = emptied(b)
	}
	*t = Tx{
		status:             -1,
		URINorm:            emptied(t.URINorm),
		RequestHeaders:     emptied(t.RequestHeaders),
		ResponseHeaders:    emptied(t.ResponseHeaders),
		RequestHeadersRaw:  emptied(t.RequestHeadersRaw),
		ResponseHeadersRaw: emptied(t.ResponseHeadersRaw),
		RequestBody:        emptied(t.RequestBody),
		ResponseBody:       emptied(t.ResponseBody),
		Events:             emptied(t.Events),
		reqC:               coded{enc: emptied(t.reqC.enc), raw: emptied(t.reqC.raw)},
		resC:               coded{enc: emptied(t.resC.enc), raw: emptied(t.resC.raw)},
		arena:              emptied(t.arena),
		derived:            derived,
	}
	txPool.Put(t)
}

func (t *Tx) event(e Event) {
	for _, x := range t.Events {
		if x == e {
			return
		}
	}
	t.Events = append(t.Events, e)
}

// HasEvent reports whether the anomaly e was seen on the transaction.
func (t *Tx) HasEvent(e Event) bool {
	for _, x := range t.Events {
		if x == e {
			return true
		}
	}
	return false
}

// StatusNum is the parsed status code, or -1 when absent or not numeric.
func (t *Tx) StatusNum() int {
	if !t.ResponseLineDone {
		return -1
	}
	return t.status
}

// RequestHeader returns the value of the first request header named name
// (case-insensitive); repeated headers are already joined with ", ".
func (t *Tx) RequestHeader(name string) ([]byte, bool) { return findHeader(t.RequestHeaders, name) }

// ResponseHeader is RequestHeader for the response.
func (t *Tx) ResponseHeader(name string) ([]byte, bool) { return findHeader(t.ResponseHeaders, name) }

func findHeader(hs []Header, name string) ([]byte, bool) {
	for i := range hs {
		if nameIs(hs[i].Name, name) {
			return hs[i].Value, true
		}
	}
	return nil, false
}

func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		if lower(b[i]) != lower(s[i]) {
			return false
		}
	}
	return true
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 32
	}
	return c
}

// nameIs compares a header name as sent with a lowercase-insensitive name,
// ignoring NULs and whitespace that evasions put into names.
func nameIs(b []byte, s string) bool {
	j := 0
	for _, c := range b {
		if c == 0 || isSpace(c) {
			continue
		}
		if j >= len(s) || lower(c) != lower(s[j]) {
			return false
		}
		j++
	}
	return j == len(s)
}

func sameName(a, b []byte) bool {
	i, j := 0, 0
	for {
		for i < len(a) && (a[i] == 0 || isSpace(a[i])) {
			i++
		}
		for j < len(b) && (b[j] == 0 || isSpace(b[j])) {
			j++
		}
		if i == len(a) || j == len(b) {
			return i == len(a) && j == len(b)
		}
		if lower(a[i]) != lower(b[j]) {
			return false
		}
		i++
		j++
	}
}

// keep copies b into the tx's arena so small strings share allocations.
// Slices handed out earlier stay valid when the arena grows: they keep the
// old backing array.
func (t *Tx) keep(b []byte) []byte {
	if len(b) > cap(t.arena)-len(t.arena) {
		t.arena = make([]byte, 0, max(1024, len(b)))
	}
	n := len(t.arena)
	t.arena = append(t.arena, b...)
	return t.arena[n : n+len(b) : n+len(b)]
}
