package pipeline

import (
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/tapwatch/tapwatch/rules/detect"
	"github.com/tapwatch/tapwatch/rules/flow"
	"github.com/tapwatch/tapwatch/test/testutil"
)

// namesHandler collects the names of ended flows and says whether it
// wants them (NameRecorder).
type namesHandler struct {
	countingHandler
	want  bool
	mu    sync.Mutex
	names []string
}

func (h *namesHandler) RecordNames() bool { return h.want }

func (h *namesHandler) FlowEnd(f *flow.Flow, r flow.EndReason) {
	h.mu.Lock()
	for _, n := range f.Names.All() {
		h.names = append(h.names, n.Kind.String()+"="+n.Value)
	}
	h.mu.Unlock()
}

// TestPipelineRecordsNamesForNameRecorder: flows carry their names to a
// Handler that asks for them, with no rule needing the DNS parser, and to
// no other.
func TestPipelineRecordsNamesForNameRecorder(t *testing.T) {
	// A DNS query for lab.example (type A, class IN).
	query := []byte{0, 7, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, 'l', 'a', 'b', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0, 0, 1, 0, 1}
	eng, err := detect.Compile(nil, detect.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []bool{true, false} {
		h := &namesHandler{want: want}
		p := New(eng, 2, h)
		raw := testutil.Frame{Dst: testutil.MustMAC("52:54:00:00:00:02"), Src: testutil.MustMAC("52:54:00:00:00:01"),
			SrcIP: netip.MustParseAddr("10.0.0.1"), DstIP: netip.MustParseAddr("10.0.0.2"),
			SrcPort: 40000, DstPort: 53, Payload: query}.Bytes()
		fr := p.NewFrame(raw)
		fr.Timestamp, fr.Iface, fr.OrigLen = time.Unix(1700000000, 0), "tap0", len(raw)
		p.Submit(fr)
		p.Close()
		if got := len(h.names) == 1 && h.names[0] == "dns.query=lab.example"; got != want {
			t.Errorf("RecordNames %v: names %q", want, h.names)
		}
	}
}
