package pipeline

import (
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/tapwatch/tapwatch/rules"
	"github.com/tapwatch/tapwatch/rules/decode"
	"github.com/tapwatch/tapwatch/rules/detect"
	"github.com/tapwatch/tapwatch/rules/flow"
	"github.com/tapwatch/tapwatch/test/testutil"
)

type countingHandler struct {
	mu             sync.Mutex
	frames, alerts int
	ended          int
	alertIfaces    []string
}

func (h *countingHandler) Frame(fr *Frame, p *decode.Packet, f *flow.Flow) {
	h.mu.Lock()
	h.frames++
	h.mu.Unlock()
}

func (h *countingHandler) Alert(a *detect.Alert, fr *Frame) {
	h.mu.Lock()
	h.alerts++
	h.alertIfaces = append(h.alertIfaces, fr.Iface)
	h.mu.Unlock()
}

func (h *countingHandler) FlowEnd(f *flow.Flow, r flow.EndReason) {
	h.mu.Lock()
	h.ended++
	h.mu.Unlock()
}

// Frames from the pool reach the engine with their metadata, alerts name the
// frame that raised them, flows end at Close, and counters add up.
func TestPipelineDetectsAndRecycles(t *testing.T) {
	r, err := rules.ParseRule(`alert udp any any -> any 53 (msg:"marker"; content:"EVIL"; sid:1;)`, rules.Vars{})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := detect.Compile([]*rules.Rule{r}, detect.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := &countingHandler{}
	p := New(eng, 2, h)
	for i := 0; i < 100; i++ {
		payload := "good"
		if i%10 == 0 {
			payload = "EVIL"
		}
		raw := testutil.Frame{Dst: testutil.MustMAC("52:54:00:00:00:02"), Src: testutil.MustMAC("52:54:00:00:00:01"),
			SrcIP: netip.MustParseAddr("10.0.0.1"), DstIP: netip.MustParseAddr("10.0.0.2"),
			SrcPort: uint16(40000 + i%4), DstPort: 53, Payload: []byte(payload)}.Bytes()
		fr := p.NewFrame(raw)
		fr.Timestamp, fr.Iface, fr.OrigLen = time.Unix(1700000000+int64(i), 0), "tap0", len(raw)
		p.Submit(fr)
	}
	p.Close()
	st := p.Stats()
	if st.Frames != 100 || h.frames != 100 || st.Malformed != 0 {
		t.Fatalf("frames: stats %d, handler %d, malformed %d", st.Frames, h.frames, st.Malformed)
	}
	if h.alerts != 10 || st.Alerts != 10 {
		t.Fatalf("alerts: handler %d, stats %d, want 10", h.alerts, st.Alerts)
	}
	for _, ifc := range h.alertIfaces {
		if ifc != "tap0" {
			t.Fatalf("alert attributed to frame of %q", ifc)
		}
	}
	if h.ended != 4 {
		t.Fatalf("%d flows ended at Close, want 4", h.ended)
	}
}

func TestNewFrameDoesNotAllocateOnceWarm(t *testing.T) {
	p := &Pipeline{}
	data := make([]byte, 1500)
	p.frames.Put(p.NewFrame(data))
	allocs := testing.AllocsPerRun(100, func() {
		p.frames.Put(p.NewFrame(data))
	})
	if allocs > 0 {
		t.Fatalf("NewFrame allocates %.1f times per frame once the pool is warm", allocs)
	}
}

// A flow that went quiet ends on the wall clock, without a packet or Close
// to retire it: on a live host its record must not wait for more traffic.
func TestIdleFlowEndsWithoutPackets(t *testing.T) {
	eng, err := detect.Compile(nil, detect.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := &countingHandler{}
	p := New(eng, 1, h)
	defer p.Close()
	raw := testutil.Frame{Dst: testutil.MustMAC("52:54:00:00:00:02"), Src: testutil.MustMAC("52:54:00:00:00:01"),
		SrcIP: netip.MustParseAddr("10.0.0.1"), DstIP: netip.MustParseAddr("10.0.0.2"),
		SrcPort: 40000, DstPort: 53, Payload: []byte("query")}.Bytes()
	fr := p.NewFrame(raw)
	// Seen ten minutes ago: past every UDP timeout by now.
	fr.Timestamp, fr.OrigLen = time.Now().Add(-10*time.Minute), len(raw)
	p.Submit(fr)
	deadline := time.Now().Add(5 * tickEvery)
	for time.Now().Before(deadline) {
		h.mu.Lock()
		ended := h.ended
		h.mu.Unlock()
		if ended == 1 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the idle flow did not end within %s of wall-clock time", 5*tickEvery)
}
