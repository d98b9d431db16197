package http

import (
	"fmt"
	"testing"
)

// FuzzParser feeds arbitrary bytes to both directions in arbitrary chunks.
// The first byte of the input steers the split; the parser must never
// panic, what it holds must stay within its limits, and transactions it
// recycles must read the same as fresh ones.
func FuzzParser(f *testing.F) {
	f.Add([]byte("\x07GET / HTTP/1.1\r\nHost: a\r\n\r\n"), []byte("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"))
	f.Add([]byte("\x03POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"), []byte("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n\r\n"+gz("hello")))
	f.Add([]byte("\x01GET /a\r\n"), []byte("junk\rHTTP/1.1 204\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"))
	f.Add([]byte("\x00"), []byte("HTTP/1.1 200 OK\r\nContent-Encoding: deflate, gzip\r\n\r\n"+zl(gz("x"))))
	// Transactions are recycled once released: a fixed exchange parsed
	// after the fuzzed one must not show any of it.
	cleanReq := []byte("GET /clean?x=1 HTTP/1.1\r\nHost: clean\r\nUser-Agent: c\r\n\r\n")
	cleanRes := []byte("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nSet-Cookie: a=b\r\n\r\n" + gz("clean body"))
	cfg := Config{RequestBodyLimit: 64, ResponseBodyLimit: 128, DecompressLayerLimit: 3}
	clean := func() string {
		p := NewParser(cfg)
		p.Feed(ToServer, cleanReq, true)
		p.Feed(ToClient, cleanRes, true)
		return release(p)
	}
	want := clean()
	f.Fuzz(func(t *testing.T, req, res []byte) {
		if len(req) == 0 {
			return
		}
		step := int(req[0]%17) + 1
		req = req[1:]
		got := release(parseSteps(t, cfg, req, res, step))
		if c := clean(); c != want {
			t.Fatalf("a clean exchange after this one reads:\n%s\nwant:\n%s", c, want)
		}
		if again := release(parseSteps(t, cfg, req, res, step)); again != got {
			t.Fatalf("parsed on recycled transactions:\n%s\nfirst:\n%s", again, got)
		}
	})
}

// parseSteps feeds req and res alternately in chunks of step and 3*step
// bytes, checking the parser's bounds after each.
func parseSteps(t *testing.T, cfg Config, req, res []byte, step int) *Parser {
	p := NewParser(cfg)
	i, j := 0, 0
	for i < len(req) || j < len(res) {
		if i < len(req) {
			n := min(step, len(req)-i)
			feedChecked(t, p, ToServer, req[i:i+n], false)
			i += n
		}
		if j < len(res) {
			n := min(step*3, len(res)-j)
			feedChecked(t, p, ToClient, res[j:j+n], false)
			j += n
		}
		check(t, p, cfg)
	}
	feedChecked(t, p, ToServer, nil, true)
	feedChecked(t, p, ToClient, nil, true)
	check(t, p, cfg)
	return p
}

// feedChecked feeds p and checks that every transaction the Feed advanced
// is in Changed.
func feedChecked(t *testing.T, p *Parser, dir Dir, data []byte, eof bool) {
	progress := func(x *Tx) string {
		return fmt.Sprint(x.RequestLineDone, x.RequestHeadersDone, x.RequestDone, x.ResponseLineDone,
			x.ResponseHeadersDone, x.ResponseDone, len(x.RequestBody), len(x.ResponseBody),
			x.RequestBodyLen, x.ResponseBodyLen, len(x.RequestHeaders), len(x.ResponseHeaders))
	}
	before := map[*Tx]string{}
	for _, x := range p.Txs() {
		before[x] = progress(x)
	}
	p.Feed(dir, data, eof)
	changed := map[*Tx]bool{}
	for _, x := range p.Changed() {
		changed[x] = true
	}
	for _, x := range p.Txs() {
		if was, ok := before[x]; (!ok || was != progress(x)) && !changed[x] {
			t.Fatalf("tx %d advanced by a Feed to %v but is not in Changed %v", x.ID, dir, ids(p.Changed()))
		}
	}
}

// release reads every buffer of p's transactions, then releases them as
// the engine does, and returns what it read.
func release(p *Parser) string {
	s := inspect(p)
	for _, x := range append([]*Tx(nil), p.Txs()...) {
		p.Done(x.ID)
	}
	return s
}

func check(t *testing.T, p *Parser, cfg Config) {
	if len(p.Txs()) > maxHeldTxs {
		t.Fatalf("%d txs held", len(p.Txs()))
	}
	if len(p.req.buf) > 2*maxLine+4096 || len(p.res.buf) > 8*maxLine+4096 {
		t.Fatalf("pending buffers grew: %d %d", len(p.req.buf), len(p.res.buf))
	}
	for _, x := range p.Txs() {
		if len(x.RequestBody) > cfg.RequestBodyLimit || len(x.ResponseBody) > cfg.ResponseBodyLimit || len(x.resC.raw) > cfg.ResponseBodyLimit || len(x.reqC.raw) > cfg.RequestBodyLimit {
			t.Fatalf("body over limit: %d %d %d", len(x.RequestBody), len(x.ResponseBody), len(x.resC.raw))
		}
		if len(x.RequestHeadersRaw) > maxHeaderBytes || len(x.ResponseHeadersRaw) > maxHeaderBytes {
			t.Fatalf("raw headers over limit")
		}
	}
}
