package http

import (
	"fmt"
	"strings"
	"testing"
)

const basicReq = "GET /index.html?q=1 HTTP/1.1\r\n" +
	"Host: Example.COM:8080\r\n" +
	"User-Agent: curl/8.0\r\n" +
	"Cookie: a=b\r\n" +
	"Accept: */*\r\n" +
	"\r\n"

func TestBasicExchange(t *testing.T) {
	res := "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: text/html\r\nSet-Cookie: s=1\r\nContent-Length: 5\r\n\r\nhello"
	p := run(t, Config{}, basicReq, res)
	x := tx(t, p, 0)
	if !x.RequestDone || !x.ResponseDone || x.ID != 0 {
		t.Fatalf("progress: %s", summary(p))
	}
	wantBuf(t, x, "http.method", ToServer, "GET")
	wantBuf(t, x, "http.uri", ToServer, "/index.html?q=1")
	wantBuf(t, x, "http.uri.raw", ToServer, "/index.html?q=1")
	wantBuf(t, x, "http.protocol", ToServer, "HTTP/1.1")
	wantBuf(t, x, "http.request_line", ToServer, "GET /index.html?q=1 HTTP/1.1")
	wantBuf(t, x, "http.host", ToServer, "example.com")
	wantBuf(t, x, "http.host.raw", ToServer, "Example.COM:8080")
	wantBuf(t, x, "http.user_agent", ToServer, "curl/8.0")
	wantBuf(t, x, "http.cookie", ToServer, "a=b")
	wantBuf(t, x, "http.cookie", ToClient, "s=1")
	wantBuf(t, x, "http.accept", ToServer, "*/*")
	wantBuf(t, x, "http.header", ToServer, "Host: Example.COM:8080\r\nUser-Agent: curl/8.0\r\nAccept: */*\r\n")
	wantBuf(t, x, "http.header", ToClient, "Server: nginx\r\nContent-Type: text/html\r\nContent-Length: 5\r\n")
	wantBuf(t, x, "http.header.raw", ToServer, strings.TrimPrefix(basicReq, "GET /index.html?q=1 HTTP/1.1\r\n"))
	wantBuf(t, x, "http.header_names", ToServer, "\r\nHost\r\nUser-Agent\r\nCookie\r\nAccept\r\n\r\n")
	wantBuf(t, x, "http.start", ToServer, basicReq)
	wantBuf(t, x, "http.stat_code", ToClient, "200")
	wantBuf(t, x, "http.stat_msg", ToClient, "OK")
	wantBuf(t, x, "http.response_line", ToClient, "HTTP/1.1 200 OK")
	wantBuf(t, x, "http.server", ToClient, "nginx")
	wantBuf(t, x, "http.content_type", ToClient, "text/html")
	wantBuf(t, x, "http.content_len", ToClient, "5")
	wantBuf(t, x, "http.response_body", ToClient, "hello")
	wantBuf(t, x, "file.data", ToClient, "hello")
	noBuf(t, x, "http.referer", ToServer)
	noBuf(t, x, "http.request_body", ToServer)
	noBuf(t, x, "http.location", ToClient)
	noBuf(t, x, "no.such.buffer", ToServer)

	eve := x.EVE()
	for k, v := range map[string]any{
		"hostname": "example.com", "http_port": 8080, "url": "/index.html?q=1",
		"http_user_agent": "curl/8.0", "http_content_type": "text/html", "http_method": "GET",
		"protocol": "HTTP/1.1", "status": 200, "length": int64(5),
	} {
		if fmt.Sprint(eve[k]) != fmt.Sprint(v) {
			t.Errorf("EVE[%s] = %v, want %v", k, eve[k], v)
		}
	}
	if _, ok := eve["http_refer"]; ok {
		t.Errorf("EVE has http_refer without a Referer")
	}
}

func TestRequestLineTolerance(t *testing.T) {
	req := "\r\n\r\nget   /a/./b/../c   HTTP/1.0\r\n\r\n" +
		"GET http://Host.Example:81/x//y?z HTTP/1.1\r\nHost: other\r\n\r\n" +
		"FOO /weird HTTP/1.1\r\n\r\n"
	p := run(t, Config{}, req, "")
	a, b, c := tx(t, p, 0), tx(t, p, 1), tx(t, p, 2)
	wantBuf(t, a, "http.method", ToServer, "get")
	wantBuf(t, a, "http.uri", ToServer, "/a/c")
	wantBuf(t, a, "http.uri.raw", ToServer, "/a/./b/../c")
	wantBuf(t, a, "http.protocol", ToServer, "HTTP/1.0")
	wantBuf(t, b, "http.host", ToServer, "host.example")
	wantBuf(t, b, "http.uri", ToServer, "/x/y?z")
	if b.Port != 81 {
		t.Errorf("port from absolute URI = %d", b.Port)
	}
	if !c.HasEvent(EvUnknownMethod) || a.HasEvent(EvUnknownMethod) == false {
		// lowercase "get" is not a known method either, as in libhtp
		t.Errorf("unknown-method events: a=%v c=%v", a.Events, c.Events)
	}
}

func TestHTTP09(t *testing.T) {
	p := run(t, Config{}, "GET /old\r\n", "raw body without headers")
	x := tx(t, p, 0)
	if !x.HasEvent(EvMissingProtocol) || !x.RequestDone {
		t.Fatalf("0.9 request: %s", summary(p))
	}
	noBuf(t, x, "http.protocol", ToServer)
	wantBuf(t, x, "http.response_body", ToClient, "raw body without headers")
	noBuf(t, x, "http.stat_code", ToClient)
}

func TestURINormalize(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"/a%2fb", "/a/b"},
		{"/a%41", "/aA"},
		{"/a+b?x=a+b%20", "/a+b?x=a+b%20"},
		{"/./a/../../b", "/b"},
		{"//a///b", "/a/b"},
		{"/a\\b\\..\\c", "/a/c"},
		{"/%u0041%uFF21", "/AA"},
		{"/%zz%4", "/%zz%4"},
		{"/a#frag", "/a"},
		{"http://h/p/../q", "/q"},
		{"http://h", "/"},
		{"/a/.", "/a/"},
		{"/..", "/"},
		{"*", "*"},
	} {
		if got := string(normalizeURI(nil, []byte(c.in))); got != c.want {
			t.Errorf("normalize(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestHeaderQuirks(t *testing.T) {
	req := "POST /f HTTP/1.1\n" + // LF-only line ends
		"Host: a\n" +
		"X-Fold: one\r\n   two\r\n\tthree\r\n" +
		"X-Rep: 1\r\n" +
		"x-rep: 2\r\n" +
		"NoColonHere\r\n" +
		"Spaced : v\r\n" +
		"Nul\x00Name: z\r\n" +
		"Content-Length: 3\r\n" +
		"\r\nabc"
	p := run(t, Config{}, req, "")
	x := tx(t, p, 0)
	for name, want := range map[string]string{"X-Fold": "one two three", "X-Rep": "1, 2", "Spaced": "v", "NoColonHere": ""} {
		if v, ok := x.RequestHeader(name); !ok || string(v) != want {
			t.Errorf("header %s = %q,%v want %q", name, v, ok, want)
		}
	}
	if v, ok := x.RequestHeader("NulName"); !ok || string(v) != "z" {
		t.Errorf("NUL in name not looked through: %q %v", v, ok)
	}
	for _, e := range []Event{EvFoldedHeader, EvMissingColon, EvSpaceBeforeColon, EvNulInHeader} {
		if !x.HasEvent(e) {
			t.Errorf("missing event %v: %v", e, x.Events)
		}
	}
	if x.RequestHeaders[2].Name == nil || string(x.RequestHeaders[2].Name) != "X-Rep" {
		t.Errorf("header name case not preserved: %q", x.RequestHeaders[2].Name)
	}
	wantBuf(t, x, "http.request_body", ToServer, "abc")
	wantBuf(t, x, "file.data", ToServer, "abc")
}

func TestChunked(t *testing.T) {
	req := "POST /up HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" +
		"3;ext=1\r\nabc\r\n" + "2 \r\nde\r\n" + "0\r\nTrailer: x\r\n\r\n" +
		"GET /next HTTP/1.1\r\n\r\n"
	res := resp("Transfer-Encoding: chunked\r\n", "5\r\nhello\r\n0\r\n\r\n") +
		resp("Content-Length: 2\r\n", "ok")
	p := run(t, Config{}, req, res)
	a, b := tx(t, p, 0), tx(t, p, 1)
	wantBuf(t, a, "http.request_body", ToServer, "abcde")
	wantBuf(t, a, "http.response_body", ToClient, "hello")
	wantBuf(t, b, "http.uri", ToServer, "/next")
	wantBuf(t, b, "http.response_body", ToClient, "ok")
	// Trailers join the headers as in libhtp/Suricata.
	if v, ok := a.RequestHeader("Trailer"); !ok || string(v) != "x" || !a.HasEvent(EvTrailer) {
		t.Errorf("trailer: %q %v %v", v, ok, a.Events)
	}
	wantBuf(t, a, "http.header", ToServer, "Transfer-Encoding: chunked\r\nTrailer: x\r\n")
	if got := a.Buffers("http.request_header", ToServer); len(got) != 2 || string(got[1]) != "Trailer: x" {
		t.Errorf("http.request_header = %q", got)
	}
}

func TestBadChunkFallsBackToClose(t *testing.T) {
	res := resp("Transfer-Encoding: chunked\r\n", "not-a-size\r\npayload")
	p := run(t, Config{}, "GET / HTTP/1.1\r\n\r\n", res)
	x := tx(t, p, 0)
	wantBuf(t, x, "http.response_body", ToClient, "not-a-size\r\npayload")
	if !x.HasEvent(EvInvalidChunkLen) {
		t.Errorf("events %v", x.Events)
	}
}

func TestBodyFraming(t *testing.T) {
	req := "HEAD /h HTTP/1.1\r\n\r\nGET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\nPOST /c HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi" +
		"GET /d HTTP/1.1\r\n\r\n"
	res := "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n" + // HEAD: no body
		"HTTP/1.1 204 No Content\r\n\r\n" +
		"HTTP/1.1 304 Not Modified\r\n\r\n" +
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\nx" +
		"HTTP/1.0 200 OK\r\n\r\nuntil close"
	p := run(t, Config{}, req, res)
	for i, want := range []string{"", "", "", "x", "until close"} {
		x := tx(t, p, i)
		if !x.ResponseDone {
			t.Errorf("tx %d response not done", i)
		}
		if string(x.ResponseBody) != want {
			t.Errorf("tx %d body %q want %q", i, x.ResponseBody, want)
		}
	}
	wantBuf(t, tx(t, p, 3), "http.stat_code", ToClient, "201")
	wantBuf(t, tx(t, p, 3), "http.request_body", ToServer, "hi")
}

func TestCloseBodyNeedsEOF(t *testing.T) {
	p := NewParser(Config{})
	p.Feed(ToServer, []byte("GET / HTTP/1.1\r\n\r\n"), false)
	p.Feed(ToClient, []byte("HTTP/1.1 200 OK\r\n\r\npart"), false)
	x := tx(t, p, 0)
	if x.ResponseDone || string(x.ResponseBody) != "part" {
		t.Fatalf("before close: done=%v body=%q", x.ResponseDone, x.ResponseBody)
	}
	p.Feed(ToClient, []byte("rest"), true)
	if !x.ResponseDone || string(x.ResponseBody) != "partrest" {
		t.Fatalf("after close: done=%v body=%q", x.ResponseDone, x.ResponseBody)
	}
}

func TestContentEncodings(t *testing.T) {
	const plain = "the quick brown fox jumps over the lazy dog"
	for _, c := range []struct{ name, ce, body string }{
		{"gzip", "gzip", gz(plain)},
		{"x-gzip", "x-gzip", gz(plain)},
		{"deflate-zlib", "deflate", zl(plain)},
		{"deflate-raw", "deflate", rawDeflate(plain)},
		{"layered", "gzip, deflate", zl(gz(plain))},
		{"two-headers", "gzip\r\nContent-Encoding: gzip", gz(gz(plain))},
		{"bogus-falls-back", "gzip", plain},
		{"unknown-kept", "br", plain},
		{"identity", "identity", plain},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := resp(fmt.Sprintf("Content-Encoding: %s\r\nContent-Length: %d\r\n", c.ce, len(c.body)), c.body)
			p := run(t, Config{}, "GET / HTTP/1.1\r\n\r\n", res)
			wantBuf(t, tx(t, p, 0), "file.data", ToClient, plain)
		})
	}
	t.Run("chunked-gzip", func(t *testing.T) {
		z := gz(plain)
		res := resp("Content-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n",
			fmt.Sprintf("%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n", 10, z[:10], len(z)-10, z[10:]))
		p := run(t, Config{}, "GET / HTTP/1.1\r\n\r\n", res)
		wantBuf(t, tx(t, p, 0), "http.response_body", ToClient, plain)
	})
	t.Run("layer-limit", func(t *testing.T) {
		body := gz(gz(gz(plain)))
		res := resp(fmt.Sprintf("Content-Encoding: gzip, gzip, gzip\r\nContent-Length: %d\r\n", len(body)), body)
		p := run(t, Config{}, "GET / HTTP/1.1\r\n\r\n", res)
		x := tx(t, p, 0)
		if string(x.ResponseBody) == plain || !x.HasEvent(EvTooManyEncodings) {
			t.Errorf("default limit 2 decoded 3 layers: %q %v", x.ResponseBody, x.Events)
		}
		p = run(t, Config{DecompressLayerLimit: 3}, "GET / HTTP/1.1\r\n\r\n", res)
		wantBuf(t, tx(t, p, 0), "http.response_body", ToClient, plain)
	})
}

func TestBodyLimitKeepsFraming(t *testing.T) {
	big := strings.Repeat("A", 100)
	req := "POST /a HTTP/1.1\r\nContent-Length: 100\r\n\r\n" + big + "GET /b HTTP/1.1\r\n\r\n"
	res := resp("Transfer-Encoding: chunked\r\n", "64\r\n"+big+"\r\n0\r\n\r\n") + resp("Content-Length: 2\r\n", "ok")
	p := run(t, Config{RequestBodyLimit: 10, ResponseBodyLimit: 20}, req, res)
	a, b := tx(t, p, 0), tx(t, p, 1)
	if len(a.RequestBody) != 10 || a.RequestBodyLen != 100 || len(a.ResponseBody) != 20 || a.ResponseBodyLen != 100 {
		t.Errorf("limits: req %d/%d res %d/%d", len(a.RequestBody), a.RequestBodyLen, len(a.ResponseBody), a.ResponseBodyLen)
	}
	if !a.HasEvent(EvBodyTruncated) {
		t.Errorf("no truncation event")
	}
	wantBuf(t, b, "http.uri", ToServer, "/b")
	wantBuf(t, b, "http.response_body", ToClient, "ok")
}

func TestPipeliningAndOrphans(t *testing.T) {
	req := "GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\nGET /3 HTTP/1.1\r\n\r\n"
	res := resp("Content-Length: 1\r\n", "1") + resp("Content-Length: 1\r\n", "2") +
		resp("Content-Length: 1\r\n", "3") + resp("Content-Length: 1\r\n", "4")
	p := run(t, Config{}, req, res)
	if n := len(p.Txs()); n != 4 {
		t.Fatalf("%d txs:\n%s", n, summary(p))
	}
	for i := 0; i < 3; i++ {
		x := tx(t, p, i)
		if string(x.URIRaw) != fmt.Sprintf("/%d", i+1) || string(x.ResponseBody) != fmt.Sprint(i+1) || x.ID != i {
			t.Errorf("tx %d mismatched: uri %q body %q", i, x.URIRaw, x.ResponseBody)
		}
	}
	o := tx(t, p, 3)
	if !o.HasEvent(EvResponseWithoutRequest) || string(o.ResponseBody) != "4" {
		t.Errorf("orphan: %v %q", o.Events, o.ResponseBody)
	}
	p.Done(1)
	if n := len(p.Txs()); n != 3 || p.Txs()[1].ID != 2 {
		t.Errorf("Done(1) left %d txs", n)
	}
}

func TestEvasiveResponses(t *testing.T) {
	const body = "EVIL-PAYLOAD"
	get := "GET / HTTP/1.1\r\n\r\n"
	for _, c := range []struct{ name, res string }{
		{"junk-before-status", "foobar\r\nHTTP/1.1 200 ok\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nEVIL\r\n8\r\n-PAYLOAD\r\n0\r\n\r\n"},
		{"bare-cr-headers", "HTTP/1.1 200 ok\rTransfer-Encoding: chunked\r\n\r\n4\r\nEVIL\r\n8\r\n-PAYLOAD\r\n0\r\n\r\n"},
		{"fold-hides-header", "HTTP/1.1 200 ok\r\nConnection: close\r\n\tTransfer-Encoding: chunked\r\n\r\n4\r\nEVIL\r\n8\r\n-PAYLOAD\r\n0\r\n\r\n"},
		{"nul-in-name", "HTTP/1.1 200 ok\r\nTransfer\x00-Encoding: chunked\r\n\r\n4\r\nEVIL\r\n8\r\n-PAYLOAD\r\n0\r\n\r\n"},
		{"two-lengths", "HTTP/1.1 200 ok\r\nContent-Length: 4\r\nContent-Length: 12\r\n\r\n" + body},
		{"lf-cr-end", "HTTP/1.1 200 ok\r\nContent-Length: 12\n\r\r\n" + body},
		{"space-lf-end", "HTTP/1.1 200 ok\r\nContent-Length: 12\n \n" + body},
		{"204-with-length", "HTTP/1.1 204 ok\r\nContent-Length: 12\r\n\r\n" + body},
		{"hex-junk-size", "HTTP/1.1 200 ok\r\nTransfer-Encoding: chunked\r\n\r\n4x\r\nEVIL\r\n8,\r\n-PAYLOAD\r\n0\r\n\r\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := run(t, Config{}, get, c.res)
			found := false
			for _, x := range p.Txs() {
				if b, ok := x.Buffer("file.data", ToClient); ok && strings.Contains(string(b), body) {
					found = true
				}
			}
			if !found {
				t.Errorf("payload not in any file.data:\n%s", summary(p))
			}
		})
	}
}

func TestProbe(t *testing.T) {
	for _, c := range []struct {
		dir  Dir
		in   string
		want bool
	}{
		{ToServer, "GET / HTTP/1.1\r\n", true},
		{ToServer, "\r\nPOST /x", true},
		{ToServer, "PROPFIND /dav HTTP/1.1", true},
		{ToServer, "BREW /pot HTTP/1.1\r\n", true},
		{ToServer, "BREW /pot", false},
		{ToServer, "SSH-2.0-OpenSSH_9.0\r\n", false},
		{ToServer, "\x16\x03\x01\x02\x00", false},
		{ToServer, "GET", false},
		{ToClient, "HTTP/1.1 200 OK\r\n", true},
		{ToClient, "HTTP/2 200", false},
		{ToClient, "220 smtp ready", false},
	} {
		if got := Probe(c.dir, []byte(c.in)); got != c.want {
			t.Errorf("Probe(%d, %q) = %v", c.dir, c.in, got)
		}
	}
}

func TestConnectAndUpgrade(t *testing.T) {
	t.Run("tunnel", func(t *testing.T) {
		req := "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n\x16\x03\x01\x00\x05hello"
		res := "HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x03\x00\x02hi"
		p := run(t, Config{}, req, res)
		if n := len(p.Txs()); n != 1 {
			t.Fatalf("tunnel bytes parsed as HTTP: %d txs\n%s", n, summary(p))
		}
		x := tx(t, p, 0)
		if !x.Tunnel || !x.ResponseDone || len(x.ResponseBody) != 0 {
			t.Errorf("tunnel tx: %s", summary(p))
		}
		wantBuf(t, x, "http.host", ToServer, "example.com")
	})
	t.Run("refused", func(t *testing.T) {
		req := "CONNECT example.com:443 HTTP/1.1\r\n\r\nGET /next HTTP/1.1\r\n\r\n"
		res := "HTTP/1.1 407 Proxy Auth\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
		p := run(t, Config{}, req, res)
		wantBuf(t, tx(t, p, 1), "http.uri", ToServer, "/next")
		wantBuf(t, tx(t, p, 1), "http.response_body", ToClient, "ok")
		if tx(t, p, 0).Tunnel {
			t.Errorf("407 made a tunnel")
		}
	})
	t.Run("upgrade", func(t *testing.T) {
		req := "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x05hello"
		res := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x02hi"
		p := run(t, Config{}, req, res)
		if n := len(p.Txs()); n != 1 || !tx(t, p, 0).Tunnel {
			t.Fatalf("upgrade: %s", summary(p))
		}
	})
}

func TestMissingProtocolWithHeaders(t *testing.T) {
	// libhtp: no protocol but a header line follows → HTTP/1.x, not 0.9.
	p := run(t, Config{}, "GET /HTTP/1.1\r\nHost: www.example.com\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx")
	if n := len(p.Txs()); n != 1 {
		t.Fatalf("%d txs:\n%s", n, summary(p))
	}
	x := tx(t, p, 0)
	wantBuf(t, x, "http.host", ToServer, "www.example.com")
	wantBuf(t, x, "http.stat_code", ToClient, "200")
	if !x.HasEvent(EvMissingProtocol) {
		t.Errorf("events %v", x.Events)
	}
}
