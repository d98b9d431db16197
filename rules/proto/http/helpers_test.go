package http

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"fmt"
	"strings"
	"testing"
)

// summary renders everything a tx exposes so runs can be compared.
func summary(p *Parser) string {
	var b strings.Builder
	for _, t := range p.Txs() {
		fmt.Fprintf(&b, "tx%d done=%v%v%v%v%v m=%q u=%q n=%q pr=%q rl=%q | sc=%q sm=%q rp=%q resl=%q host=%q port=%d\n",
			t.ID, t.RequestLineDone, t.RequestHeadersDone, t.RequestDone, t.ResponseHeadersDone, t.ResponseDone,
			t.Method, t.URIRaw, t.URINorm, t.Protocol, t.RequestLine, t.StatusCode, t.StatusMsg, t.ResponseProtocol, t.ResponseLine, t.Host, t.Port)
		for _, h := range t.RequestHeaders {
			fmt.Fprintf(&b, "  >%q: %q\n", h.Name, h.Value)
		}
		for _, h := range t.ResponseHeaders {
			fmt.Fprintf(&b, "  <%q: %q\n", h.Name, h.Value)
		}
		fmt.Fprintf(&b, "  rawreq=%q rawres=%q\n  reqbody=%q(%d) resbody=%q(%d) ev=%v\n",
			t.RequestHeadersRaw, t.ResponseHeadersRaw, t.RequestBody, t.RequestBodyLen, t.ResponseBody, t.ResponseBodyLen, t.Events)
	}
	return b.String()
}

func feedChunks(p *Parser, dir Dir, data []byte, cuts []int) {
	prev := 0
	for _, c := range cuts {
		p.Feed(dir, data[prev:c], false)
		prev = c
	}
	p.Feed(dir, data[prev:], true)
}

// run parses the two streams whole, then split at every offset and one byte
// at a time, and fails if any split changes the result. Requests are fed
// before responses, as the engine delivers them.
func run(t *testing.T, cfg Config, req, res string) *Parser {
	t.Helper()
	whole := NewParser(cfg)
	whole.Feed(ToServer, []byte(req), true)
	whole.Feed(ToClient, []byte(res), true)
	want := summary(whole)
	check := func(how string, p *Parser) {
		t.Helper()
		if got := summary(p); got != want {
			t.Fatalf("%s: result depends on the split\nwhole:\n%s\nsplit:\n%s", how, want, got)
		}
	}
	for dir, data := range [][]byte{[]byte(req), []byte(res)} {
		for i := 0; i <= len(data); i++ {
			p := NewParser(cfg)
			if dir == 0 {
				feedChunks(p, ToServer, data, []int{i})
				p.Feed(ToClient, []byte(res), true)
			} else {
				p.Feed(ToServer, []byte(req), true)
				feedChunks(p, ToClient, data, []int{i})
			}
			check(fmt.Sprintf("dir %d split at %d", dir, i), p)
		}
	}
	p := NewParser(cfg)
	for _, d := range []struct {
		dir  Dir
		data string
	}{{ToServer, req}, {ToClient, res}} {
		for i := 0; i < len(d.data); i++ {
			p.Feed(d.dir, []byte{d.data[i]}, false)
		}
		p.Feed(d.dir, nil, true)
	}
	check("byte at a time", p)
	return whole
}

func tx(t *testing.T, p *Parser, i int) *Tx {
	t.Helper()
	txs := p.Txs()
	if i >= len(txs) {
		t.Fatalf("want tx %d, have %d:\n%s", i, len(txs), summary(p))
	}
	return txs[i]
}

func wantBuf(t *testing.T, x *Tx, name string, dir Dir, want string) {
	t.Helper()
	got, ok := x.Buffer(name, dir)
	if !ok {
		t.Errorf("%s(dir %d): absent, want %q", name, dir, want)
		return
	}
	if string(got) != want {
		t.Errorf("%s(dir %d) = %q, want %q", name, dir, got, want)
	}
}

func noBuf(t *testing.T, x *Tx, name string, dir Dir) {
	t.Helper()
	if got, ok := x.Buffer(name, dir); ok {
		t.Errorf("%s(dir %d) = %q, want absent", name, dir, got)
	}
}

func gz(s string) string {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return b.String()
}

func zl(s string) string {
	var b bytes.Buffer
	w := zlib.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return b.String()
}

func rawDeflate(s string) string {
	var b bytes.Buffer
	w, _ := flate.NewWriter(&b, flate.BestSpeed)
	w.Write([]byte(s))
	w.Close()
	return b.String()
}

func resp(hdrs, body string) string {
	return "HTTP/1.1 200 OK\r\n" + hdrs + "\r\n" + body
}
