package http

import (
	"fmt"
	"strings"
	"testing"
)

// bufferNames are the canonical names Tx.Buffer knows.
var bufferNames = []string{
	"http.uri", "http.uri.raw", "http.method", "http.protocol", "http.request_line", "http.response_line",
	"http.stat_code", "http.stat_msg", "http.request_body", "http.response_body", "file.data", "http.header",
	"http.header.raw", "http.header_names", "http.start", "http.host", "http.host.raw", "http.cookie",
	"http.user_agent", "http.accept", "http.accept_enc", "http.accept_lang", "http.referer", "http.server",
	"http.location", "http.content_type", "http.content_len", "http.connection",
}

// inspect renders every buffer of every tx the way the engine reads them.
func inspect(p *Parser) string {
	var b strings.Builder
	b.WriteString(summary(p))
	for _, t := range p.Txs() {
		for _, dir := range []Dir{ToServer, ToClient} {
			for _, name := range bufferNames {
				v, ok := t.Buffer(name, dir)
				fmt.Fprintf(&b, "%d %s %v %q\n", dir, name, ok, v)
			}
			fmt.Fprintf(&b, "%q %q\n", t.Buffers("http.request_header", dir), t.Buffers("http.response_header", dir))
		}
		fmt.Fprintf(&b, "%v status=%d tunnel=%v\n", t.EVE(), t.StatusNum(), t.Tunnel)
	}
	return b.String()
}

// parseAndRelease parses req and res, inspects every tx (so derived
// buffers are built) and releases each, as the engine does. It returns
// what inspect saw and the transactions released.
func parseAndRelease(cfg Config, req, res string) (string, map[*Tx]bool) {
	p := NewParser(cfg)
	p.Feed(ToServer, []byte(req), true)
	p.Feed(ToClient, []byte(res), true)
	got := inspect(p)
	seen := map[*Tx]bool{}
	for _, t := range append([]*Tx(nil), p.Txs()...) {
		seen[t] = true
		p.Done(t.ID)
	}
	return got, seen
}

// A released transaction's memory serves the next ones: nothing of it
// may show through.
func TestDoneRecyclesCleanly(t *testing.T) {
	cfg := Config{DecompressLayerLimit: 3}
	dirtyReq := "POST http://big.example:8080/a/../b%41?q=1 HTTP/1.1\r\nHost: other\r\nCookie: c=1\r\n" +
		"User-Agent: dirty\r\nX-Long: " + strings.Repeat("x", 3000) + "\r\nX-Long: again\r\n\tfolded\r\n" +
		"Transfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n\r\n" +
		fmt.Sprintf("%x\r\n%s\r\n0\r\nTrailer: yes\r\n\r\n", len(gz("request body")), gz("request body")) +
		"GET /second HTTP/1.0\r\nAccept: */*\r\n\r\n"
	dirtyRes := "HTTP/1.1 100 Continue\r\nX-Interim: 1\r\n\r\n" +
		resp("Content-Encoding: deflate, gzip\r\nSet-Cookie: s=1\r\nServer: dirty\r\nContent-Length: "+
			fmt.Sprint(len(zl(gz(strings.Repeat("body", 500)))))+"\r\n", zl(gz(strings.Repeat("body", 500)))) +
		resp("Transfer-Encoding: chunked\r\n", "5\r\nhello\r\n0\r\n\r\n")
	clean := []struct{ req, res string }{
		{"GET / HTTP/1.1\r\nHost: a\r\n\r\n", resp("Content-Length: 2\r\n", "ok")},
		{"GET /x HTTP/1.1\r\n\r\n", "HTTP/1.1 204 No Content\r\n\r\n"},
		{"GET /gz HTTP/1.1\r\nHost: b:81\r\n\r\n", resp("Content-Encoding: gzip\r\n", gz("small"))},
		{"HEAD /h HTTP/1.1\r\n\r\nGET /y\r\n", resp("Content-Length: 10\r\n", "") + "plain 0.9 body"},
		{"", resp("Connection: close\r\n", "orphan response")},
		{"PUT /p HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", resp("Content-Length: 0\r\n", "")},
	}
	want := make([]string, len(clean))
	for i, c := range clean {
		p := NewParser(cfg)
		p.Feed(ToServer, []byte(c.req), true)
		p.Feed(ToClient, []byte(c.res), true)
		want[i] = inspect(p)
	}
	wantDirty, _ := parseAndRelease(cfg, dirtyReq, dirtyRes)
	if !strings.Contains(wantDirty, strings.Repeat("body", 500)) {
		t.Fatalf("the dirty response body was not decoded:\n%s", wantDirty)
	}
	reused := 0
	for round := 0; round < 20; round++ {
		got, dirty := parseAndRelease(cfg, dirtyReq, dirtyRes)
		if len(dirty) != 2 {
			t.Fatalf("%d dirty txs", len(dirty))
		}
		if got != wantDirty {
			t.Fatalf("round %d: dirty transactions on recycled memory:\n%s\nwant:\n%s", round, got, wantDirty)
		}
		for i, c := range clean {
			p := NewParser(cfg)
			p.Feed(ToServer, []byte(c.req), true)
			p.Feed(ToClient, []byte(c.res), true)
			for _, x := range p.Txs() {
				if dirty[x] {
					reused++
				}
			}
			if got := inspect(p); got != want[i] {
				t.Fatalf("case %d on recycled transactions:\n%s\nwant:\n%s", i, got, want[i])
			}
			for _, x := range append([]*Tx(nil), p.Txs()...) {
				p.Done(x.ID)
			}
		}
	}
	if reused == 0 {
		t.Error("no transaction was recycled")
	}
}

// A derived buffer handed out before the headers were final is not
// overwritten when the final one is built, nor by the next transaction.
func TestLentBuffersStay(t *testing.T) {
	_, _ = parseAndRelease(Config{}, "GET / HTTP/1.1\r\nX-Old: "+strings.Repeat("o", 200)+"\r\n\r\n", resp("Content-Length: 0\r\n", ""))
	p := NewParser(Config{})
	p.Feed(ToServer, []byte("POST / HTTP/1.1\r\nX-A: 1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n"), false)
	x := tx(t, p, 0)
	early, ok := x.Buffer("http.header", ToServer)
	if !ok || x.RequestDone {
		t.Fatal("want request headers done, body pending")
	}
	keep := string(early)
	// A trailer repeating X-A changes the middle of the buffer.
	p.Feed(ToServer, []byte("0\r\nX-A: 2\r\n\r\n"), false)
	final, _ := x.Buffer("http.header", ToServer)
	again, _ := x.Buffer("http.header", ToServer)
	if string(early) != keep || !strings.HasPrefix(string(final), "X-A: 1, 2\r\n") || &again[0] != &final[0] {
		t.Fatalf("early %q (was %q), final %q", early, keep, final)
	}
}

// Undoing a second layer must not write over its input, the first
// layer's output, while it still reads it.
func TestTwoLayersLargeBody(t *testing.T) {
	var text strings.Builder
	for i := 0; text.Len() < 60<<10; i++ {
		fmt.Fprintf(&text, "line %d of a compressible body\n", i)
	}
	body := gz(gz(text.String()))
	// Decoders whose buffers are large enough to take the output in place,
	// as after earlier bodies.
	d := new(decoders)
	for i := range d.out {
		d.out[i] = make([]byte, 0, 128<<10)
	}
	decoderPool.Put(d)
	p := NewParser(Config{})
	p.Feed(ToServer, []byte("GET / HTTP/1.1\r\n\r\n"), true)
	p.Feed(ToClient, []byte(resp("Content-Encoding: gzip, gzip\r\nContent-Length: "+fmt.Sprint(len(body))+"\r\n", body)), true)
	if x := tx(t, p, 0); string(x.ResponseBody) != text.String() || len(x.Events) != 0 {
		t.Fatalf("decoded %d bytes, want %d; events %v", len(x.ResponseBody), text.Len(), x.Events)
	}
}

// Done on a transaction still being parsed drops it from Txs, but the
// parser goes on filling it: its memory must not serve another.
func TestDoneOnUnfinishedTx(t *testing.T) {
	p := NewParser(Config{})
	p.Feed(ToServer, []byte("GET / HTTP/1.1\r\n\r\n"), false)
	p.Feed(ToClient, []byte("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nabc"), false)
	orphan := tx(t, p, 0)
	p.Done(orphan.ID)
	// Were the orphan pooled, the next transaction would get it.
	for i := 0; i < 4; i++ {
		q := NewParser(Config{})
		q.Feed(ToServer, []byte("GET / HTTP/1.1\r\n\r\n"), false)
		if tx(t, q, 0) == orphan {
			t.Fatal("a transaction still being parsed was recycled")
		}
	}
	p.Feed(ToClient, []byte("def"), false)
	if string(orphan.ResponseBody) != "abcdef" || !orphan.ResponseDone {
		t.Fatalf("orphan body %q", orphan.ResponseBody)
	}
}
