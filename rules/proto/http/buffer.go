package http

import "strconv"

// Buffer returns the bytes of a Suricata sticky buffer for this transaction
// by its canonical name (the legacy modifier names are accepted too). dir is
// the direction being inspected: it picks request or response headers for
// the buffers Suricata has in both directions. ok is false when the buffer
// does not exist (yet) for this transaction.
//
// The returned slice may alias the transaction's storage; callers must not
// modify it.
func (t *Tx) Buffer(name string, dir Dir) ([]byte, bool) {
	switch name {
	case "http.uri", "http_uri":
		return t.URINorm, t.RequestLineDone && len(t.URIRaw) > 0
	case "http.uri.raw", "http_raw_uri":
		return t.URIRaw, t.RequestLineDone && len(t.URIRaw) > 0
	case "http.method", "http_method":
		return t.Method, t.RequestLineDone && len(t.Method) > 0
	case "http.protocol", "http_protocol":
		if dir == ToClient {
			return t.ResponseProtocol, t.ResponseLineDone && len(t.ResponseProtocol) > 0
		}
		return t.Protocol, t.RequestLineDone && len(t.Protocol) > 0
	case "http.request_line", "http_request_line":
		return t.RequestLine, t.RequestLineDone
	case "http.response_line", "http_response_line":
		return t.ResponseLine, t.ResponseLineDone && len(t.ResponseLine) > 0
	case "http.stat_code", "http_stat_code":
		return t.StatusCode, t.ResponseLineDone && len(t.StatusCode) > 0
	case "http.stat_msg", "http_stat_msg":
		return t.StatusMsg, t.ResponseLineDone && len(t.StatusMsg) > 0
	case "http.request_body", "http_client_body", "http.client_body":
		return t.requestBody()
	case "http.response_body", "http_server_body", "http.server_body":
		return t.responseBody()
	case "file.data", "file_data":
		if dir == ToClient {
			return t.responseBody()
		}
		return t.requestBody()
	case "http.header", "http_header":
		return t.headerBuffer(dir)
	case "http.header.raw", "http_raw_header":
		if dir == ToClient {
			return t.ResponseHeadersRaw, t.ResponseHeadersDone && len(t.ResponseHeadersRaw) > 0
		}
		return t.RequestHeadersRaw, t.RequestHeadersDone && len(t.RequestHeadersRaw) > 0
	case "http.header_names", "http_header_names":
		return t.headerNames(dir)
	case "http.start", "http_start":
		return t.start(dir)
	case "http.host", "http_host":
		if len(t.Host) == 0 {
			return nil, false
		}
		return t.lowerHost(), true
	case "http.host.raw", "http_raw_host":
		if v, ok := t.RequestHeader("Host"); ok {
			return v, true
		}
		return t.Host, len(t.Host) > 0
	case "http.cookie", "http_cookie":
		if dir == ToClient {
			return t.ResponseHeader("Set-Cookie")
		}
		return t.RequestHeader("Cookie")
	case "http.user_agent", "http_user_agent":
		return t.RequestHeader("User-Agent")
	case "http.accept", "http_accept":
		return t.RequestHeader("Accept")
	case "http.accept_enc", "http_accept_enc":
		return t.RequestHeader("Accept-Encoding")
	case "http.accept_lang", "http_accept_lang":
		return t.RequestHeader("Accept-Language")
	case "http.referer", "http_referer":
		return t.RequestHeader("Referer")
	case "http.server", "http_server":
		return t.ResponseHeader("Server")
	case "http.location", "http_location":
		return t.ResponseHeader("Location")
	case "http.content_type", "http_content_type":
		return t.dirHeader(dir, "Content-Type")
	case "http.content_len", "http_content_len":
		return t.dirHeader(dir, "Content-Length")
	case "http.connection", "http_connection":
		return t.dirHeader(dir, "Connection")
	}
	return nil, false
}

func (t *Tx) dirHeader(dir Dir, name string) ([]byte, bool) {
	if dir == ToClient {
		return t.ResponseHeader(name)
	}
	return t.RequestHeader(name)
}

// responseBody is only offered once a coded body is decoded: half-decoded
// bytes would be neither what the server sent nor what the client sees.
func (t *Tx) responseBody() ([]byte, bool) {
	if !t.ResponseHeadersDone || (len(t.resC.enc) > 0 && !t.resC.decoded) {
		return nil, false
	}
	return t.ResponseBody, len(t.ResponseBody) > 0
}

func (t *Tx) requestBody() ([]byte, bool) {
	if !t.RequestHeadersDone || (len(t.reqC.enc) > 0 && !t.reqC.decoded) {
		return nil, false
	}
	return t.RequestBody, len(t.RequestBody) > 0
}

func (t *Tx) headers(dir Dir) ([]Header, bool) {
	if dir == ToClient {
		return t.ResponseHeaders, t.ResponseHeadersDone
	}
	return t.RequestHeaders, t.RequestHeadersDone
}

// final says a direction's headers can no longer change (trailers included).
func (t *Tx) final(dir Dir) bool {
	if dir == ToClient {
		return t.ResponseDone
	}
	return t.RequestDone
}

// cached returns derived buffer k, built by build (appending to the slice
// it is given), and keeps it once the headers it depends on are final.
// Storage left from an earlier transaction is built into; storage handed
// out during this one is not, since the caller may still hold it.
func (t *Tx) cached(k int, final bool, build func([]byte) []byte) []byte {
	bit := uint8(1) << k
	if t.kept&bit != 0 {
		return t.derived[k]
	}
	var b []byte
	if t.lent&bit == 0 {
		b = build(t.derived[k][:0])
	} else {
		b = build(nil)
	}
	t.derived[k] = b
	t.lent |= bit
	if final {
		t.kept |= bit
	}
	return b
}

// headerBuffer is Suricata's http.header: "Name: value\r\n" per header, with
// the cookie headers left out (they have their own buffer).
func (t *Tx) headerBuffer(dir Dir) ([]byte, bool) {
	hs, done := t.headers(dir)
	if !done || len(hs) == 0 {
		return nil, false
	}
	skip, key := "cookie", derivedHeader0
	if dir == ToClient {
		skip, key = "set-cookie", derivedHeader1
	}
	return t.cached(key, t.final(dir), func(b []byte) []byte {
		for _, h := range hs {
			if nameIs(h.Name, skip) {
				continue
			}
			b = append(b, h.Name...)
			b = append(b, ": "...)
			b = append(b, h.Value...)
			b = append(b, "\r\n"...)
		}
		return b
	}), true
}

// headerNames is http.header_names: "\r\n" then each name and "\r\n", then
// a closing "\r\n".
func (t *Tx) headerNames(dir Dir) ([]byte, bool) {
	hs, done := t.headers(dir)
	if !done || len(hs) == 0 {
		return nil, false
	}
	key := derivedNames0
	if dir == ToClient {
		key = derivedNames1
	}
	return t.cached(key, t.final(dir), func(b []byte) []byte {
		b = append(b, "\r\n"...)
		for _, h := range hs {
			b = append(b, h.Name...)
			b = append(b, "\r\n"...)
		}
		return append(b, "\r\n"...)
	}), true
}

// start is http.start: the request or response line and the headers, up to
// and including the blank line.
func (t *Tx) start(dir Dir) ([]byte, bool) {
	hs, done := t.headers(dir)
	line, key := t.RequestLine, derivedStart0
	if dir == ToClient {
		line, key = t.ResponseLine, derivedStart1
	}
	if !done || len(line) == 0 {
		return nil, false
	}
	return t.cached(key, t.final(dir), func(b []byte) []byte {
		b = append(append(b, line...), "\r\n"...)
		for _, h := range hs {
			b = append(b, h.Name...)
			b = append(b, ": "...)
			b = append(b, h.Value...)
			b = append(b, "\r\n"...)
		}
		return append(b, "\r\n"...)
	}), true
}

func (t *Tx) lowerHost() []byte {
	return t.cached(derivedHost, t.RequestHeadersDone, func(b []byte) []byte {
		for _, c := range t.Host {
			b = append(b, lower(c))
		}
		return b
	})
}

// Buffers returns the instances of a multi-buffer: http.request_header
// and http.response_header give one "Name: value" per header.
func (t *Tx) Buffers(name string, dir Dir) [][]byte {
	var hs []Header
	var done bool
	switch name {
	case "http.request_header":
		hs, done = t.headers(ToServer)
	case "http.response_header":
		hs, done = t.headers(ToClient)
	default:
		return nil
	}
	if !done {
		return nil
	}
	out := make([][]byte, 0, len(hs))
	for _, h := range hs {
		b := make([]byte, 0, len(h.Name)+2+len(h.Value))
		b = append(append(append(b, h.Name...), ": "...), h.Value...)
		out = append(out, b)
	}
	return out
}

// EVE returns the EVE "http" object for the transaction, with Suricata's
// field names; absent values are left out as Suricata does.
func (t *Tx) EVE() map[string]any {
	m := make(map[string]any, 12)
	if len(t.Host) > 0 {
		m["hostname"] = string(t.lowerHost())
	}
	if t.Port > 0 {
		m["http_port"] = t.Port
	}
	if len(t.URIRaw) > 0 {
		m["url"] = string(t.URIRaw)
	}
	put := func(key string, v []byte, ok bool) {
		if ok && len(v) > 0 {
			m[key] = string(v)
		}
	}
	v, ok := t.RequestHeader("User-Agent")
	put("http_user_agent", v, ok)
	v, ok = t.ResponseHeader("Content-Type")
	put("http_content_type", v, ok)
	v, ok = t.RequestHeader("Referer")
	put("http_refer", v, ok)
	put("http_method", t.Method, len(t.Method) > 0)
	put("protocol", t.Protocol, len(t.Protocol) > 0)
	if t.ResponseLineDone {
		if t.status > 0 {
			m["status"] = t.status
		} else if n, err := strconv.Atoi(string(t.StatusCode)); err == nil && n > 0 {
			m["status"] = n
		}
		v, ok = t.ResponseHeader("Location")
		put("redirect", v, ok)
		m["length"] = t.ResponseBodyLen
	}
	if t.RequestBodyLen > 0 {
		m["request_length"] = t.RequestBodyLen
	}
	return m
}
