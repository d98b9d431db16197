package detect

import (
	"testing"

	"github.com/tapwatch/tapwatch/rules/flow"
	"github.com/tapwatch/tapwatch/rules/proto/http"
)

// A transaction is inspected again per direction only when it progressed
// (a part completed, or its body grew by bodyStep); records of
// transactions older than the oldest held one are dropped.
func TestTxProgress(t *testing.T) {
	var st appState
	p := http.NewParser(http.Config{})
	for i := range 3 {
		p.Feed(http.ToServer, []byte("GET /"+string(rune('a'+i))+" HTTP/1.1\r\nHost: h\r\n\r\n"), false)
	}
	txs := p.Txs()
	for _, tx := range txs {
		if !st.fresh(tx, flow.ToServer) {
			t.Fatalf("tx %d: first inspection not fresh", tx.ID)
		}
		if st.fresh(tx, flow.ToServer) {
			t.Fatalf("tx %d: unchanged tx fresh again", tx.ID)
		}
		if !st.fresh(tx, flow.ToClient) {
			t.Fatalf("tx %d: other direction not fresh", tx.ID)
		}
	}
	p.Feed(http.ToClient, []byte("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n"), false)
	if !st.fresh(txs[0], flow.ToClient) || st.fresh(txs[1], flow.ToClient) {
		t.Fatal("response headers: tx 0 must be fresh, tx 1 not")
	}
	p.Feed(http.ToClient, make([]byte, bodyStep-1), false)
	if st.fresh(txs[0], flow.ToClient) {
		t.Fatal("body grown by less than bodyStep: not fresh")
	}
	p.Feed(http.ToClient, make([]byte, 2), false)
	if !st.fresh(txs[0], flow.ToClient) {
		t.Fatal("body grown by bodyStep: fresh")
	}
	st.forget(2)
	if st.progBase != 2 || len(st.prog) != 1 {
		t.Fatalf("after forget(2): base %d, %d records, want 2 and 1", st.progBase, len(st.prog))
	}
	if st.fresh(txs[2], flow.ToServer) {
		t.Fatal("tx 2's record lost by forget")
	}
}
