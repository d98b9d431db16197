package detect

import (
	"testing"

	"github.com/tapwatch/tapwatch/rules/decode"
	"github.com/tapwatch/tapwatch/rules/flow"
)

// Rules without a fast pattern are indexed by port and address. A flow
// reads the index once per direction; its packets must still meet
// exactly the rules their own direction's ports and addresses allow.
func TestIndexedCandidatesPerFlowDirection(t *testing.T) {
	e := engine(t, Options{}, `alert tcp any any -> any 80 (msg:"to port 80"; dsize:>0; sid:1;)
alert tcp any 80 -> any any (msg:"from port 80"; dsize:>0; sid:2;)
alert tcp 10.0.0.2 any -> any any (msg:"from the server host"; dsize:>0; sid:3;)
alert tcp any any -> any 81 (msg:"other port"; dsize:>0; sid:4;)
`)
	w := e.NewWorker()
	syn := tcpSeg(1, false, decode.TCPSyn, 0, "")
	syn.TCPAck = 0
	got, _ := run(w, syn, tcpSeg(2, true, decode.TCPSyn|decode.TCPAck, 0, ""), tcpSeg(3, false, decode.TCPAck, 1, ""),
		tcpSeg(4, false, decode.TCPAck|decode.TCPPsh, 1, "GET / HTTP/1.0\r\n"),
		tcpSeg(5, true, decode.TCPAck|decode.TCPPsh, 1, "HTTP/1.0 200 OK\r\n"),
		tcpSeg(6, false, decode.TCPAck|decode.TCPPsh, 17, "x"),
		tcpSeg(7, true, decode.TCPAck|decode.TCPPsh, 18, "y"))
	want := []rec{{1, 4, "alert"}, {2, 5, "alert"}, {3, 5, "alert"}, {1, 6, "alert"}, {2, 7, "alert"}, {3, 7, "alert"}}
	if len(got) != len(want) {
		t.Fatalf("alerts %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i].sid != want[i].sid || got[i].num != want[i].num {
			t.Fatalf("alerts %+v, want %+v", got, want)
		}
	}
	fs := flowStateOf(w.last)
	if fs == nil || fs.idxKnown&0b0101 != 0b0101 || fs.idx == nil ||
		len(fs.idx[flow.ToServer][0]) == 0 || len(fs.idx[flow.ToClient][0]) == 0 {
		t.Fatalf("flow state does not hold the indexed candidates of both directions: %+v", fs)
	}
}
