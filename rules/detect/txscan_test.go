package detect

import (
	"slices"
	"testing"

	"github.com/tapwatch/tapwatch/rules/decode"
)

// A body that is both file.data and http.response_body (or
// http.request_body) is prefiltered once, by the union of both buffers'
// patterns; rules of either buffer still fire, and only where their own
// buffer holds the pattern.
func TestAliasedBuffersScannedOnce(t *testing.T) {
	e := engine(t, Options{}, `alert http any any -> any any (msg:"fd"; file.data; content:"MAGICFD"; sid:1;)
alert http any any -> any any (msg:"rb"; http.response_body; content:"BODYRB"; sid:2;)
alert http any any -> any any (msg:"qb"; http.request_body; content:"REQBODY"; sid:3;)
`)
	g := &e.groups[bTCP]
	if len(g.alias) != 2 {
		t.Fatalf("%d union prefilters, want 2 (file.data with each body)", len(g.alias))
	}
	fd, _ := keywordBuffer("file.data")
	rb, _ := keywordBuffer("http.response_body")
	qb, _ := keywordBuffer("http.request_body")
	p := udp(1, false, "")
	p.IPProto = decode.ProtoTCP
	inspect := func(tx *TxBuffers) []uint32 {
		var got []uint32
		e.NewWorker().InspectTx(p, nil, 0, tx, func(a *Alert) { got = append(got, a.SID) })
		slices.Sort(got)
		return got
	}

	body := []byte("xx MAGICFD yy BODYRB zz REQBODY")
	var tx TxBuffers
	tx.TxID, tx.AppProto = 1, "http"
	tx.Set(fd, body)
	tx.Set(rb, body)
	w := e.NewWorker()
	if done := w.scanAliases(g, &tx); !done[fd] || !done[rb] || done[qb] {
		t.Errorf("aliased file.data/response_body not covered by the union: %v %v %v", done[fd], done[rb], done[qb])
	}
	if got := inspect(&tx); !slices.Equal(got, []uint32{1, 2}) {
		t.Errorf("response body: alerts %v, want [1 2]", got)
	}

	// Different bytes in each: each buffer's own matcher, no union.
	tx.Reset()
	tx.TxID, tx.AppProto = 2, "http"
	tx.Set(fd, []byte("MAGICFD only"))
	tx.Set(rb, []byte("BODYRB but no file magic"))
	if done := e.NewWorker().scanAliases(g, &tx); done[fd] || done[rb] {
		t.Error("union used for buffers holding different bytes")
	}
	if got := inspect(&tx); !slices.Equal(got, []uint32{1, 2}) {
		t.Errorf("distinct buffers: alerts %v, want [1 2]", got)
	}
	tx.Set(rb, []byte("MAGICFD is not in the response body"))
	tx.Set(fd, []byte("BODYRB is not in file.data"))
	if got := inspect(&tx); len(got) != 0 {
		t.Errorf("patterns in the other buffer only: alerts %v, want none", got)
	}

	// The request side: file.data is the request body.
	tx.Reset()
	tx.TxID, tx.AppProto = 3, "http"
	tx.Set(fd, body)
	tx.Set(qb, body)
	if got := inspect(&tx); !slices.Equal(got, []uint32{1, 3}) {
		t.Errorf("request body: alerts %v, want [1 3]", got)
	}
}
