package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tapwatch/tapwatch/agent/flowstore"
	"github.com/tapwatch/tapwatch/agent/output/eve"
	"github.com/tapwatch/tapwatch/agent/vmctx"
	"github.com/tapwatch/tapwatch/rules/flow"
)

var (
	webRef = &vmctx.Ref{NIC: vmctx.NIC{VMName: "web", VMUUID: "u-web", MAC: [6]byte{0x52, 0x54, 0, 0, 0, 1}, Tap: "vnet1", Bridge: "br0"}, Host: "h1"}
	dbRef  = &vmctx.Ref{NIC: vmctx.NIC{VMName: "db", VMUUID: "u-db", MAC: [6]byte{0x52, 0x54, 0, 0, 0, 2}, Tap: "vnet2", Bridge: "br0"}, Host: "h1"}
	ct0    = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
)

// udpFlow is a UDP flow src -> dst:dport, answered when back > 0.
func udpFlow(id uint64, src, dst string, dport uint16, back uint64) *flow.Flow {
	return &flow.Flow{ID: id, Key: flow.Key{Proto: 17, Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr(dst),
		SrcPort: 40000 + uint16(id), DstPort: dport}, Start: ct0, Last: ct0.Add(time.Duration(id) * time.Second),
		Pkts: [2]uint64{1, back}}
}

func kinds(chs []change) string {
	var s []string
	for _, c := range chs {
		s = append(s, fmt.Sprintf("%s:%s:%s/%d:%s", c.kind, c.vm.VMName, c.proto, c.port, c.peer))
	}
	return strings.Join(s, " ")
}

func TestChangeDetector(t *testing.T) {
	c := newChangeDetector(1000)
	steps := []struct {
		f        *flow.Flow
		src, dst *vmctx.Ref
		want     string
	}{
		// web asks db's DNS: db newly serves udp/53, web newly uses it.
		{udpFlow(1, "10.0.0.1", "10.0.0.2", 53, 1), webRef, dbRef,
			"new_service:db:UDP/53:10.0.0.1 new_peer:web:UDP/53:10.0.0.2"},
		// Again: nothing new.
		{udpFlow(2, "10.0.0.1", "10.0.0.2", 53, 1), webRef, dbRef, ""},
		// Another client of db:53 (not a VM): db's service is not new.
		{udpFlow(3, "10.0.0.9", "10.0.0.2", 53, 1), nil, dbRef, ""},
		// An unanswered probe of db:161 is no service, but is web's new peer.
		{udpFlow(4, "10.0.0.1", "10.0.0.2", 161, 0), webRef, dbRef, "new_peer:web:UDP/161:10.0.0.2"},
		// web to the same address on another port is a new peer (service of it).
		{udpFlow(6, "10.0.0.1", "10.0.0.2", 123, 1), webRef, dbRef,
			"new_service:db:UDP/123:10.0.0.1 new_peer:web:UDP/123:10.0.0.2"},
		// Neither side a VM: nothing.
		{udpFlow(7, "192.0.2.1", "192.0.2.2", 53, 1), nil, nil, ""},
	}
	for i, s := range steps {
		if got := kinds(c.flowChanges(s.f, s.src, s.dst)); got != s.want {
			t.Errorf("step %d: got %q, want %q", i, got, s.want)
		}
	}
	if c.reported.Load() != 5 {
		t.Errorf("reported %d, want 5", c.reported.Load())
	}
}

// The detector never holds more than its bound; recently used keys survive
// a flood of new ones, the least recently used are forgotten.
func TestChangeDetectorBounded(t *testing.T) {
	c := newChangeDetector(100)
	hot := changeKey{vm: "web", proto: "TCP", port: 443}
	if !c.observe(hot) {
		t.Fatal("first sight must be new")
	}
	for i := range 10000 {
		c.observe(changeKey{vm: "web", client: true, proto: "UDP", port: uint16(i), peer: netip.MustParseAddr("10.0.0.1")})
		if i%20 == 0 && c.observe(hot) {
			t.Fatalf("hot key forgotten at %d", i)
		}
		if n := c.len(); n > 100 {
			t.Fatalf("%d keys held, bound 100", n)
		}
	}
	if c.forgot.Load() == 0 {
		t.Error("nothing forgotten")
	}
	// An old cold key is forgotten and reported again.
	if !c.observe(changeKey{vm: "web", client: true, proto: "UDP", port: 0, peer: netip.MustParseAddr("10.0.0.1")}) {
		t.Error("a key evicted long ago must be new again")
	}
}

// The daemon writes one tapwatch_change record per change, seeded from the
// store's history so a restart does not report known services again.
func TestNoteChangesEVE(t *testing.T) {
	st, err := flowstore.Open(filepath.Join(t.TempDir(), "flows.db"), flowstore.Options{Now: func() time.Time { return ct0 }})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// History: db already served udp/53 to web.
	st.Add(flowstore.Record{FlowID: 1, Start: ct0.Add(-time.Hour), End: ct0.Add(-time.Hour), Proto: "UDP",
		SrcIP: netip.MustParseAddr("10.0.0.1"), DstIP: netip.MustParseAddr("10.0.0.2"), SrcPort: 40000, DstPort: 53,
		PktsToServer: 1, PktsToClient: 1, State: "established", SrcVM: "web", DstVM: "db"})
	for deadline := time.Now().Add(10 * time.Second); st.Stats().Written < 1; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("store did not write")
		}
	}
	var buf bytes.Buffer
	d := &Daemon{eveOut: eve.NewWriter(&buf, eve.Options{}), changes: newChangeDetector(100)}
	// Flows end while the history is still being read: their changes wait.
	d.changes.startSeed()
	d.noteChanges(udpFlow(1, "10.0.0.1", "10.0.0.2", 53, 1), webRef, dbRef) // known to the history
	f := udpFlow(2, "10.0.0.1", "10.0.0.2", 5353, 1)
	f.AppProto = "dns"
	d.noteChanges(f, webRef, dbRef) // new
	if buf.Len() != 0 {
		t.Fatalf("written before the seed: %s", buf.String())
	}
	if n, err := d.changes.seed(context.Background(), st, d.writeChange); err != nil || n != 2 {
		t.Fatalf("seed: %d keys, %v", n, err)
	}
	if r := d.changes.reported.Load(); r != 2 {
		t.Errorf("reported %d, want 2 (the known ones are not)", r)
	}
	// After the seed, changes are written at once, known ones not at all.
	d.noteChanges(udpFlow(3, "10.0.0.1", "10.0.0.2", 53, 1), webRef, dbRef)
	d.noteChanges(udpFlow(4, "10.0.0.1", "10.0.0.2", 5353, 1), webRef, dbRef)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 records, got %d:\n%s", len(lines), buf.String())
	}
	var ev struct {
		EventType string `json:"event_type"`
		Timestamp string `json:"timestamp"`
		Kind      string `json:"kind"`
		VM        []struct {
			Name, UUID, MAC, Tap, Bridge, Host, Role string
		} `json:"vm"`
		Proto    string `json:"proto"`
		Port     int    `json:"port"`
		Peer     string `json:"peer"`
		PeerVM   string `json:"peer_vm"`
		AppProto string `json:"app_proto"`
		FlowID   uint64 `json:"flow_id"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &ev); err != nil {
		t.Fatalf("%v: %s", err, lines[0])
	}
	if ev.EventType != "tapwatch_change" || ev.Kind != "new_service" || len(ev.VM) != 1 || ev.VM[0].Name != "db" || ev.VM[0].UUID != "u-db" || ev.VM[0].Role != "dst" ||
		ev.VM[0].MAC != "52:54:00:00:00:02" || ev.VM[0].Tap != "vnet2" || ev.VM[0].Host != "h1" || ev.Proto != "UDP" || ev.Port != 5353 ||
		ev.Peer != "10.0.0.1" || ev.PeerVM != "web" || ev.AppProto != "dns" || ev.FlowID != 2 || ev.Timestamp == "" {
		t.Errorf("new_service record: %+v\n%s", ev, lines[0])
	}
	ev = struct {
		EventType string `json:"event_type"`
		Timestamp string `json:"timestamp"`
		Kind      string `json:"kind"`
		VM        []struct {
			Name, UUID, MAC, Tap, Bridge, Host, Role string
		} `json:"vm"`
		Proto    string `json:"proto"`
		Port     int    `json:"port"`
		Peer     string `json:"peer"`
		PeerVM   string `json:"peer_vm"`
		AppProto string `json:"app_proto"`
		FlowID   uint64 `json:"flow_id"`
	}{}
	json.Unmarshal([]byte(lines[1]), &ev)
	if ev.Kind != "new_peer" || ev.VM[0].Name != "web" || ev.Peer != "10.0.0.2" || ev.PeerVM != "db" || ev.Port != 5353 {
		t.Errorf("new_peer record: %+v\n%s", ev, lines[1])
	}
	t.Logf("%s\n%s", lines[0], lines[1])
}
