package http

import (
	"fmt"
	"testing"
)

func ids(txs []*Tx) []int {
	var out []int
	for _, t := range txs {
		out = append(out, t.ID)
	}
	return out
}

// Changed holds every transaction a Feed advanced, and not the held ones it
// could not touch: requests pipelined without answers stay held, and a
// request segment reaches only the transaction being parsed and new ones.
func TestChangedAfterFeed(t *testing.T) {
	p := NewParser(Config{})
	for i := range 5 {
		p.Feed(ToServer, []byte(fmt.Sprintf("GET /%d HTTP/1.1\r\nHost: a\r\n\r\n", i)), false)
		if got := ids(p.Changed()); len(got) != 1 || got[0] != i {
			t.Fatalf("request %d: Changed %v, want [%d]", i, got, i)
		}
	}
	// A request split over two segments: the second reaches the same tx.
	p.Feed(ToServer, []byte("GET /5 HTTP/1.1\r\nHo"), false)
	p.Feed(ToServer, []byte("st: a\r\n\r\n"), false)
	if got := ids(p.Changed()); len(got) != 1 || got[0] != 5 {
		t.Fatalf("continued request: Changed %v, want [5]", got)
	}
	if len(p.Txs()) != 6 {
		t.Fatalf("%d txs held, want 6", len(p.Txs()))
	}
	// The first response starts the oldest awaiting transaction.
	p.Feed(ToClient, []byte("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nab"), false)
	ch := p.Changed()
	if len(ch) == 0 || ch[0].ID != 0 || !ch[0].ResponseHeadersDone {
		t.Fatalf("response: Changed %v, want it to start at tx 0 with its headers done", ids(ch))
	}
	// Its body goes on in the next segment, then the next response.
	p.Feed(ToClient, []byte("cdHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"), false)
	ch = p.Changed()
	if len(ch) < 2 || ch[0].ID != 0 || ch[1].ID != 1 || !ch[0].ResponseDone || !ch[1].ResponseDone {
		t.Fatalf("responses: Changed %v, want txs 0 and 1 complete", ids(ch))
	}
	// Every advanced transaction was in Changed: compare with a scan of
	// all held ones.
	for _, tx := range p.Txs() {
		if tx.ResponseDone && tx.ID > 1 {
			t.Errorf("tx %d answered, but no response was sent for it", tx.ID)
		}
	}
}
