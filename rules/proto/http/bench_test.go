package http

import (
	"fmt"
	"strings"
	"testing"
)

// benchTraffic builds one keep-alive connection of n exchanges mixing
// Content-Length, chunked and gzip responses and a few POST bodies.
func benchTraffic(n int) (req, res []byte) {
	var rq, rs strings.Builder
	body := strings.Repeat("<p>lorem ipsum dolor sit amet, consectetur adipiscing elit</p>\n", 40)
	zbody := gz(body)
	for i := 0; i < n; i++ {
		if i%7 == 0 {
			fmt.Fprintf(&rq, "POST /api/v1/items/%d?x=%%41b HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\nContent-Type: application/json\r\nContent-Length: 27\r\n\r\n{\"name\":\"item\",\"qty\":12345}", i)
		} else {
			fmt.Fprintf(&rq, "GET /static/../img/%d.png HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\nAccept: */*\r\nAccept-Encoding: gzip, deflate\r\nCookie: session=abcdef0123456789\r\nReferer: http://www.example.com/\r\n\r\n", i)
		}
		switch {
		case i%5 == 0:
			fmt.Fprintf(&rs, "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: text/html\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n%s", len(zbody), zbody)
		case i%3 == 0:
			rs.WriteString("HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n")
			for off := 0; off < len(body); off += 1000 {
				part := body[off:min(off+1000, len(body))]
				fmt.Fprintf(&rs, "%x\r\n%s\r\n", len(part), part)
			}
			rs.WriteString("0\r\n\r\n")
		default:
			fmt.Fprintf(&rs, "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
		}
	}
	return []byte(rq.String()), []byte(rs.String())
}

// BenchmarkParser measures throughput over about 4 MB of HTTP in 1460-byte
// segments, releasing transactions as the engine would.
func BenchmarkParser(b *testing.B) {
	req, res := benchTraffic(1500)
	b.SetBytes(int64(len(req) + len(res)))
	b.ReportAllocs()
	const seg = 1460
	for b.Loop() {
		p := NewParser(Config{})
		i, j := 0, 0
		for i < len(req) || j < len(res) {
			// Keep the request stream a little ahead of the responses, as
			// on the wire.
			lead := min(len(req), (j+seg)*len(req)/len(res)+2048)
			for i < lead {
				n := min(seg, lead-i)
				p.Feed(ToServer, req[i:i+n], false)
				i += n
			}
			if j < len(res) {
				n := min(seg, len(res)-j)
				p.Feed(ToClient, res[j:j+n], false)
				j += n
			}
			for len(p.Txs()) > 0 && p.Txs()[0].ResponseDone {
				x := p.Txs()[0]
				x.Buffer("http.uri", ToServer)
				x.Buffer("http.header", ToServer)
				x.Buffer("file.data", ToClient)
				p.Done(x.ID)
			}
		}
	}
}

// BenchmarkByteAtATime is the worst case for buffering: one byte per Feed.
func BenchmarkByteAtATime(b *testing.B) {
	req, res := benchTraffic(50)
	b.SetBytes(int64(len(req) + len(res)))
	for b.Loop() {
		p := NewParser(Config{})
		for k := range req {
			p.Feed(ToServer, req[k:k+1], false)
		}
		for k := range res {
			p.Feed(ToClient, res[k:k+1], false)
		}
	}
}
