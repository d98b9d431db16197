package record

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/tapwatch/tapwatch/test/testutil"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tapwatch/tapwatch/rules/decode"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// frame builds a distinct Ethernet frame: the payload encodes flow and
// sequence, so an export can be checked byte for byte.
func frame(flow uint64, seq int, size int) []byte {
	b := make([]byte, max(size, 14+16))
	copy(b[0:6], []byte{0x52, 0x54, 0, 0, 0, 1})
	copy(b[6:12], []byte{0x52, 0x54, 0, 0, 0, 2})
	b[12], b[13] = 0x88, 0xb5 // local experimental ethertype
	binary.BigEndian.PutUint64(b[14:], flow)
	binary.BigEndian.PutUint64(b[22:], uint64(seq))
	return b
}

func newRec(t *testing.T, dir string, o Options) *Recorder {
	t.Helper()
	r, err := New(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

type pkt struct {
	ts   time.Time
	data []byte
}

// export runs Export into a file and reads it back with the repository's
// pcap reader, which is independent of this package's encoder.
func export(t *testing.T, r *Recorder, q Query) []pkt {
	t.Helper()
	path := filepath.Join(t.TempDir(), "out.pcapng")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	n, err := r.Export(context.Background(), q, f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	rd, err := decode.OpenPcap(path)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	var out []pkt
	for {
		data, ci, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if ci.LinkType != decode.LinkType(1) {
			t.Fatalf("link type %v", ci.LinkType)
		}
		out = append(out, pkt{ci.Timestamp, bytes.Clone(data)})
	}
	if n != len(out) {
		t.Fatalf("Export said %d packets, file holds %d", n, len(out))
	}
	return out
}

func TestModes(t *testing.T) {
	r := newRec(t, t.TempDir(), Options{})
	if r.Packet("vm1", "vnet0", t0, 1, frame(1, 0, 60), 60) {
		t.Fatal("a VM never given a mode must not record")
	}
	r.SetMode("vm1", Off)
	r.SetMode("vm2", Alerts)
	r.SetMode("vm3", All)
	for i := range 5 {
		ts := t0.Add(time.Duration(i) * time.Millisecond)
		r.Packet("vm1", "vnet0", ts, 1, frame(1, i, 60), 60)
		r.Packet("vm2", "vnet1", ts, 2, frame(2, i, 60), 60)
		r.Packet("vm3", "vnet2", ts, 3, frame(3, i, 60), 60)
	}
	if got := export(t, r, Query{}); len(got) != 5 {
		t.Fatalf("only vm3 (All) reaches the disk without an alert: got %d packets", len(got))
	}
	if got := export(t, r, Query{VM: "vm3"}); len(got) != 5 || !bytes.Equal(got[4].data, frame(3, 4, 60)) {
		t.Fatalf("vm3: %d packets", len(got))
	}
	if r.Stats().Written != 5 || r.Stats().Dropped != 0 {
		t.Fatalf("stats %+v", r.Stats())
	}
	if _, err := os.Stat(filepath.Join(r.dir, "vm1")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("an Off VM got a directory")
	}
	if m, err := ParseMode("alerts"); err != nil || m != Alerts || r.Mode("vm2") != Alerts {
		t.Fatal("ParseMode/Mode")
	}
	if _, err := ParseMode("sometimes"); err == nil {
		t.Fatal("ParseMode accepted nonsense")
	}
}

func TestPreAlertWindow(t *testing.T) {
	r := newRec(t, t.TempDir(), Options{PreAlert: 10 * time.Second, PostAlert: 5 * time.Second})
	r.SetMode("web", Alerts)
	want := map[string]bool{}
	// Flows 1 and 2 send one packet a second for 30 s, then the alert on
	// flow 1 at 30 s, then both go on for 15 s.
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	for s := 0; s <= 45; s++ {
		if s == 30 {
			r.Alert("web", "a-1", 1, at(30).Add(time.Millisecond))
		}
		for _, flow := range []uint64{1, 2} {
			size := 60 + s*7 + int(flow) // odd sizes exercise padding
			data := frame(flow, s, size)
			r.Packet("web", "vnet0", at(s), flow, data, size+100)
			pre := s > 20 && s <= 30               // the 10 s before the alert (at 30.001 s), any flow
			post := s > 30 && s <= 35 && flow == 1 // the alerting flow for 5 s after
			if pre || post {
				want[string(data)] = true
			}
		}
	}
	got := export(t, r, Query{AlertID: "a-1"})
	if len(got) != len(want) {
		t.Fatalf("alert export has %d packets, want %d", len(got), len(want))
	}
	for _, p := range got {
		if !want[string(p.data)] {
			flow, seq := binary.BigEndian.Uint64(p.data[14:]), binary.BigEndian.Uint64(p.data[22:])
			t.Errorf("unexpected packet flow %d second %d (or bytes changed)", flow, seq)
		}
		if !p.ts.Equal(t0.Add(time.Duration(binary.BigEndian.Uint64(p.data[22:])) * time.Second)) {
			t.Errorf("timestamp %v lost precision", p.ts)
		}
	}
	// What is on disk is exactly the alert's packets: the rest stayed in
	// memory and was discarded.
	if all := export(t, r, Query{VM: "web"}); len(all) != len(want) {
		t.Errorf("disk holds %d packets, want %d", len(all), len(want))
	}
	if _, err := r.Export(context.Background(), Query{AlertID: "nope"}, io.Discard); !errors.Is(err, ErrUnknownAlert) {
		t.Errorf("unknown alert: %v", err)
	}
}

func TestPreAlertBytesBound(t *testing.T) {
	r := newRec(t, t.TempDir(), Options{PreAlert: time.Hour, PreAlertBytes: 10 * (1000 + ringOverhead)})
	r.SetMode("web", Alerts)
	for i := range 100 {
		r.Packet("web", "vnet0", t0.Add(time.Duration(i)*time.Millisecond), 7, frame(7, i, 1000), 1000)
	}
	r.Alert("web", "a", 7, t0.Add(time.Second))
	got := export(t, r, Query{AlertID: "a"})
	if len(got) != 10 || binary.BigEndian.Uint64(got[0].data[22:]) != 90 {
		t.Fatalf("ring kept %d packets starting at %d; want the last 10", len(got), binary.BigEndian.Uint64(got[0].data[22:]))
	}
}

func TestExportByFlowAndTime(t *testing.T) {
	r := newRec(t, t.TempDir(), Options{SegmentBytes: 8192, BudgetBytes: 1 << 20})
	r.SetMode("a", All)
	r.SetMode("b", All)
	for i := range 300 {
		ts := t0.Add(time.Duration(i) * time.Second)
		r.Packet("a", "vnet0", ts, uint64(1+i%3), frame(uint64(1+i%3), i, 100), 100)
		r.Packet("b", "vnet1", ts, 10, frame(10, i, 100), 100)
	}
	if r.Close() != nil {
		t.Fatal("close")
	}
	r2 := newRec(t, r.dir, Options{SegmentBytes: 8192, BudgetBytes: 1 << 20})
	for _, rr := range []*Recorder{r, r2} { // after Close, and reopened
		if got := export(t, rr, Query{FlowID: 2}); len(got) != 100 {
			t.Fatalf("flow 2: %d packets", len(got))
		} else {
			for _, p := range got {
				if binary.BigEndian.Uint64(p.data[14:]) != 2 {
					t.Fatal("flow filter let another flow through")
				}
			}
		}
		got := export(t, rr, Query{VM: "a", Since: t0.Add(100 * time.Second), Until: t0.Add(149 * time.Second)})
		if len(got) != 50 || !got[0].ts.Equal(t0.Add(100*time.Second)) || !got[49].ts.Equal(t0.Add(149*time.Second)) {
			t.Fatalf("time range: %d packets", len(got))
		}
		if got := export(t, rr, Query{FlowID: 10, VM: "a"}); len(got) != 0 {
			t.Fatalf("flow of another VM: %d", len(got))
		}
		got = export(t, rr, Query{})
		if len(got) != 600 {
			t.Fatalf("everything: %d", len(got))
		}
		for i := 1; i < len(got); i++ {
			if got[i].ts.Before(got[i-1].ts) {
				t.Fatalf("export of two VMs is out of time order at packet %d", i)
			}
		}
	}
	// The index names each segment's flows, so a flow query opens only
	// the segments holding it.
	for vm, want := range map[string]string{"a": "[1 2 3]", "b": "[10]"} {
		b, err := os.ReadFile(filepath.Join(r.dir, vm, indexName))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if len(lines) < 2 {
			t.Fatalf("%s: %d segments, want rotation", vm, len(lines))
		}
		for _, l := range lines {
			var m segMeta
			if err := json.Unmarshal([]byte(l), &m); err != nil || fmt.Sprint(m.Flows) != want || m.VM != vm {
				t.Errorf("%s index line %s: %v", vm, l, err)
			}
		}
	}
}

func TestRotationAndBudget(t *testing.T) {
	dir := t.TempDir()
	const seg, budget = 8192, 4 * 8192
	r := newRec(t, dir, Options{SegmentBytes: seg, BudgetBytes: budget})
	r.SetMode("a", All)
	r.SetMode("b", All)
	for i := range 1000 {
		ts := t0.Add(time.Duration(i) * time.Second)
		r.Packet("a", "vnet0", ts, 1, frame(1, i, 200), 200)
		if i%4 == 0 {
			r.Packet("b", "vnet1", ts, 2, frame(2, i, 200), 200)
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	st := r.Stats()
	var total int64
	var files []string
	for _, vm := range []string{"a", "b"} {
		ents, _ := os.ReadDir(filepath.Join(dir, vm))
		for _, e := range ents {
			if !strings.HasSuffix(e.Name(), ".pcapng") {
				continue
			}
			fi, _ := e.Info()
			if fi.Size() > seg {
				t.Errorf("%s is %d bytes, segment size %d", e.Name(), fi.Size(), seg)
			}
			total += fi.Size()
			files = append(files, filepath.Join(vm, e.Name()))
		}
	}
	if total > budget || total != st.DiskBytes || int64(len(files)) != st.Segments || st.DeletedSegments == 0 {
		t.Fatalf("disk %d bytes in %d files (budget %d); stats %+v", total, len(files), budget, st)
	}
	// The oldest went first across VMs: what is left is the most recent.
	r2 := newRec(t, dir, Options{SegmentBytes: seg, BudgetBytes: budget})
	got := export(t, r2, Query{VM: "a"})
	if len(got) == 0 || !got[len(got)-1].ts.Equal(t0.Add(999*time.Second)) {
		t.Fatalf("newest packet of a is gone: %d packets", len(got))
	}
	first := got[0].ts
	for _, p := range export(t, r2, Query{VM: "b"}) {
		if p.ts.Before(first.Add(-2 * time.Duration(seg/200) * time.Second)) {
			t.Fatalf("b keeps %v, much older than a's oldest %v: deletion was not oldest-first across VMs", p.ts, first)
		}
	}
	// Each VM's index lists exactly the files on disk.
	for _, vm := range []string{"a", "b"} {
		b, err := os.ReadFile(filepath.Join(dir, vm, indexName))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Count(string(b), "\n")
		ents, _ := filepath.Glob(filepath.Join(dir, vm, "*.pcapng"))
		if lines != len(ents) {
			t.Errorf("%s: %d index lines for %d segments", vm, lines, len(ents))
		}
	}
	for _, f := range files {
		if !strings.HasPrefix(filepath.Base(f), "20261125T12") {
			t.Errorf("segment name %s does not start with the first packet's time", f)
		}
	}
}

// A segment the agent never closed (a crash) has no index line; New scans
// it, tolerating a block cut short.
func TestRecoverUnindexedSegment(t *testing.T) {
	dir := t.TempDir()
	r := newRec(t, dir, Options{})
	r.SetMode("vm/x", All) // a name that is not a safe path element
	for i := range 20 {
		r.Packet("vm/x", "vnet0", t0.Add(time.Duration(i)*time.Second), 5, frame(5, i, 80), 80)
	}
	r.Close()
	vmDir := filepath.Join(dir, dirName("vm/x"))
	os.Remove(filepath.Join(vmDir, indexName))
	segs, _ := filepath.Glob(filepath.Join(vmDir, "*.pcapng"))
	if len(segs) != 1 {
		t.Fatalf("segments: %v", segs)
	}
	f, _ := os.OpenFile(segs[0], os.O_WRONLY|os.O_APPEND, 0)
	f.Write([]byte{6, 0, 0, 0, 200, 0}) // half a block header
	f.Close()
	r2 := newRec(t, dir, Options{})
	got := export(t, r2, Query{VM: "vm/x", FlowID: 5})
	if len(got) != 20 {
		t.Fatalf("recovered %d of 20 packets", len(got))
	}
	if _, err := os.Stat(filepath.Join(vmDir, indexName)); err != nil {
		t.Fatal("index not rebuilt")
	}
}

func TestQueueFullDrops(t *testing.T) {
	r := newRec(t, t.TempDir(), Options{QueueLen: 4})
	release, entered := make(chan struct{}), make(chan struct{}, 1)
	r.hold = func() {
		select {
		case entered <- struct{}{}:
			<-release
		default:
		}
	}
	r.SetMode("a", All)
	r.SetMode("b", Alerts)
	r.Packet("a", "vnet0", t0, 1, frame(1, 0, 60), 60)
	<-entered // the writer is stuck on a's first packet; the queue is empty
	ok := 0
	for i := range 10 {
		vm := "a"
		if i%2 == 1 {
			vm = "b"
		}
		if r.Packet(vm, "vnet0", t0, 1, frame(1, i, 60), 60) {
			ok++
		}
	}
	// An alert finding the queue full is kept aside, not lost.
	if !r.Alert("b", "x", 1, t0) {
		t.Fatal("alert refused while the queue was full")
	}
	st := r.Stats()
	if ok != 4 || st.Dropped != 6 || st.DroppedByVM["a"] != 3 || st.DroppedByVM["b"] != 3 {
		t.Fatalf("accepted %d; stats %+v", ok, st)
	}
	close(release)
	if got := export(t, r, Query{AlertID: "x"}); len(got) != 2 {
		t.Fatalf("alert export after the stall: %d packets, want b's 2", len(got))
	}
	r.Close()
	if r.Packet("a", "vnet0", t0, 1, frame(1, 0, 60), 60) || r.Stats().Dropped != 7 {
		t.Fatal("Packet after Close must refuse and count")
	}
}

func TestWriteErrorsCounted(t *testing.T) {
	// A file where the VM's directory belongs fails every write, also for
	// root, who ignores permissions.
	dir := t.TempDir()
	r := newRec(t, dir, Options{ErrorBackoff: time.Hour})
	os.WriteFile(filepath.Join(dir, "a"), []byte("in the way"), 0o600)
	r.SetMode("a", All)
	for i := range 3 {
		r.Packet("a", "vnet0", t0, 1, frame(1, i, 60), 60)
	}
	r.Close()
	st := r.Stats()
	if st.Errors != 3 || st.Written != 0 || !strings.Contains(st.LastError, filepath.Join(dir, "a")) {
		t.Fatalf("stats %+v", st)
	}
}

func TestOptionsValidated(t *testing.T) {
	if _, err := New(t.TempDir(), Options{SegmentBytes: 1 << 20, BudgetBytes: 1 << 20}); err == nil {
		t.Fatal("a budget of one segment was accepted")
	}
}

// tshark, when installed, must read an export without complaint and see
// the flow IDs.
func TestExportReadableByTshark(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		testutil.SkipOrFail(t, "tshark not installed: run deploy/scripts/install-deps.sh")
	}
	r := newRec(t, t.TempDir(), Options{})
	r.SetMode("web", All)
	for i := range 10 {
		r.Packet("web", fmt.Sprintf("vnet%d", i%2), t0.Add(time.Duration(i)*time.Millisecond), uint64(40+i%2), frame(uint64(40+i%2), i, 61+i), 61+i)
	}
	path := filepath.Join(t.TempDir(), "x.pcapng")
	f, _ := os.Create(path)
	if _, err := r.Export(context.Background(), Query{}, f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	b, err := exec.Command(tshark, "-r", path, "-Y", `frame.comment contains "flow_id=41"`, "-T", "fields", "-e", "frame.interface_name", "-e", "frame.interface_description").Output()
	out := string(b)
	if err != nil {
		t.Fatalf("tshark: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[0], "vnet1\tvm web") {
		t.Fatalf("tshark saw:\n%s", out)
	}
}

func TestQueueBytesBound(t *testing.T) {
	r := newRec(t, t.TempDir(), Options{QueueBytes: 1000})
	release, entered := make(chan struct{}), make(chan struct{}, 1)
	r.hold = func() {
		select {
		case entered <- struct{}{}:
			<-release
		default:
		}
	}
	r.SetMode("a", All)
	r.Packet("a", "vnet0", t0, 1, frame(1, 0, 60), 60)
	<-entered
	ok := 0
	for i := range 5 {
		if r.Packet("a", "vnet0", t0, 1, frame(1, i, 400), 400) {
			ok++
		}
	}
	if ok != 2 || r.Stats().Dropped != 3 {
		t.Fatalf("accepted %d of 400-byte packets with 1000 queue bytes; stats %+v", ok, r.Stats())
	}
	close(release)
	r.Close()
	r.q.mu.Lock()
	queued := r.q.bytes
	r.q.mu.Unlock()
	if r.Stats().Written != 3 || queued != 0 {
		t.Fatalf("stats %+v, queued bytes %d", r.Stats(), queued)
	}
}

// Many VMs recording at once can hold more open segments than the budget;
// the oldest open one is closed and deleted.
func TestBudgetWithOnlyOpenSegments(t *testing.T) {
	dir := t.TempDir()
	const seg = 8192
	r := newRec(t, dir, Options{SegmentBytes: seg, BudgetBytes: 2 * seg})
	for i := range 6 {
		r.SetMode(fmt.Sprint("vm", i), All)
	}
	for i := range 6 * 30 { // 30 packets of 200 bytes each: 3/4 of a segment per VM
		r.Packet(fmt.Sprint("vm", i%6), "vnet0", t0.Add(time.Duration(i)*time.Second), 1, frame(1, i, 200), 200)
	}
	r.Close()
	st := r.Stats()
	if st.DiskBytes > 2*seg || st.DeletedSegments == 0 || st.Written != 180 {
		t.Fatalf("stats %+v", st)
	}
	if got := export(t, r, Query{VM: "vm5"}); len(got) == 0 || !got[len(got)-1].ts.Equal(t0.Add(179*time.Second)) {
		t.Fatalf("the newest packets are gone: vm5 has %d", len(got))
	}
}

// A packet waiting in a batch that is not full still reaches the disk
// promptly, without the ticker or an export to push it: a quiet VM's
// recording is current within a fraction of a second.
func TestQuietPacketsReachDisk(t *testing.T) {
	dir := t.TempDir()
	r := newRec(t, dir, Options{FlushEvery: time.Hour})
	r.SetMode("a", All)
	onDisk := func(want int) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			segs, _ := filepath.Glob(filepath.Join(dir, "a", "*.pcapng"))
			var got int
			for _, s := range segs {
				f, err := os.Open(s)
				if err != nil {
					t.Fatal(err)
				}
				d := newNgReader(f)
				var p recPacket
				for d.next(&p) == nil {
					got++
				}
				f.Close()
			}
			if got == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d packets on disk, want %d", got, want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	r.Packet("a", "vnet0", t0, 1, frame(1, 0, 60), 60)
	onDisk(1)
	// Again after the writer found nothing to do and went quiet.
	time.Sleep(3 * dryFlushGap)
	r.Packet("a", "vnet0", t0.Add(time.Second), 1, frame(1, 1, 60), 60)
	onDisk(2)
}

// Producers on many goroutines, with alerts and exports racing them: every
// packet is written or counted as dropped, and each producer's packets
// keep their order.
func TestConcurrentProducers(t *testing.T) {
	r := newRec(t, t.TempDir(), Options{SegmentBytes: 64 << 10, BudgetBytes: 1 << 30, QueueLen: 512})
	const producers, each = 4, 3000
	for g := range producers {
		r.SetMode(fmt.Sprint("vm", g), All)
	}
	done := make(chan struct{})
	exported := make(chan error, 1)
	go func() {
		for {
			select {
			case <-done:
				exported <- nil
				return
			default:
			}
			if _, err := r.Export(context.Background(), Query{FlowID: 2}, io.Discard); err != nil {
				exported <- err
				return
			}
		}
	}()
	var accepted [producers]int
	var wg sync.WaitGroup
	for g := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			vm := fmt.Sprint("vm", g)
			for i := range each {
				size := 60 + (i*7+g)%1400
				if r.Packet(vm, "vnet0", t0.Add(time.Duration(i)*time.Millisecond), uint64(g), frame(uint64(g), i, size), size) {
					accepted[g]++
				}
				if i%500 == 0 {
					r.Alert(vm, fmt.Sprint(vm, "-", i), uint64(g), t0.Add(time.Duration(i)*time.Millisecond))
				}
			}
		}()
	}
	wg.Wait()
	close(done)
	if err := <-exported; err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	st := r.Stats()
	total := 0
	for g := range producers {
		total += accepted[g]
		got := export(t, r, Query{VM: fmt.Sprint("vm", g)})
		if len(got) != accepted[g] {
			t.Fatalf("vm%d: %d packets exported, %d accepted", g, len(got), accepted[g])
		}
		last := -1
		for _, p := range got {
			seq := int(binary.BigEndian.Uint64(p.data[22:]))
			if binary.BigEndian.Uint64(p.data[14:]) != uint64(g) || seq <= last {
				t.Fatalf("vm%d: packet %d after %d: order or bytes lost", g, seq, last)
			}
			last = seq
		}
	}
	if int(st.Written) != total || int(st.Written+st.Dropped) != producers*each || st.Errors != 0 {
		t.Fatalf("accepted %d of %d; stats %+v", total, producers*each, st)
	}
}

// Segments reserve disk blocks ahead of their data while open; closing one
// gives back what it did not use.
func TestClosedSegmentsHoldNoReservation(t *testing.T) {
	dir := t.TempDir()
	r := newRec(t, dir, Options{SegmentBytes: 64 << 20})
	r.SetMode("a", All)
	for i := range 3000 {
		r.Packet("a", "vnet0", t0.Add(time.Duration(i)*time.Millisecond), 1, frame(1, i, 1000), 1000)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	segs, _ := filepath.Glob(filepath.Join(dir, "a", "*.pcapng"))
	if len(segs) != 1 {
		t.Fatalf("segments %v", segs)
	}
	fi, err := os.Stat(segs[0])
	if err != nil {
		t.Fatal(err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		testutil.SkipOrFail(t, "%T of %s carries no block count: this test needs Linux's stat", fi.Sys(), segs[0])
	}
	// Allow a filesystem block of slack, and a little for metadata.
	if used := st.Blocks * 512; used > fi.Size()+64<<10 {
		t.Fatalf("segment of %d bytes holds %d bytes of blocks after close", fi.Size(), used)
	}
}
