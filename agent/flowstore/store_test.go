package flowstore

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func rec(id uint64, end time.Time, src, dst string, sport, dport uint16, srcVM, dstVM string) Record {
	return Record{FlowID: id, Start: end.Add(-time.Second), End: end, Proto: "TCP",
		SrcIP: netip.MustParseAddr(src), DstIP: netip.MustParseAddr(dst), SrcPort: sport, DstPort: dport,
		PktsToServer: 3, PktsToClient: 2, BytesToServer: 300, BytesToClient: 200, State: "closed", Reason: "timeout",
		AppProto: "http", CommunityID: fmt.Sprintf("1:%d", id), SrcVM: srcVM, DstVM: dstVM,
		SrcVMUUID: uuidOf(srcVM), DstVMUUID: uuidOf(dstVM)}
}

func uuidOf(vm string) string {
	if vm == "" {
		return ""
	}
	return "uuid-" + vm
}

func open(t *testing.T, path string, o Options) *Store {
	t.Helper()
	if o.Now == nil {
		o.Now = func() time.Time { return t0.Add(time.Hour) }
	}
	s, err := Open(path, o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// waitWritten waits until the writer has committed n records in total.
func waitWritten(t *testing.T, s *Store, n uint64) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for s.Stats().Written+s.Stats().Errors < n {
		if time.Now().After(deadline) {
			t.Fatalf("writer did not commit %d records: %+v", n, s.Stats())
		}
		time.Sleep(time.Millisecond)
	}
}

func ids(rs []Record) []uint64 {
	var out []uint64
	for _, r := range rs {
		out = append(out, r.FlowID)
	}
	return out
}

func sample() []Record {
	rs := []Record{
		rec(1, t0.Add(1*time.Second), "10.0.0.1", "10.0.0.2", 40000, 80, "web", "db"),
		rec(2, t0.Add(2*time.Second), "10.0.0.3", "10.0.0.1", 40001, 22, "", "web"),
		rec(3, t0.Add(3*time.Second), "10.0.0.2", "192.0.2.9", 40002, 443, "db", ""),
		rec(4, t0.Add(4*time.Second), "2001:db8::1", "2001:db8::2", 53000, 53, "v6", ""),
		rec(5, t0.Add(5*time.Second), "10.0.0.1", "10.0.0.2", 40003, 5432, "web", "db"),
	}
	rs[3].Names = Names{"dns.query": {"web.lab.example", "db.lab.example"}, "ssh.client": {"SSH-2.0-x y"}}
	return rs
}

func TestQueryFilters(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "flows.db"), Options{})
	defer s.Close()
	for _, r := range sample() {
		if !s.Add(r) {
			t.Fatal("Add refused with an empty queue")
		}
	}
	waitWritten(t, s, 5)
	ctx := context.Background()
	cases := []struct {
		name string
		f    Filter
		want []uint64
	}{
		{"all newest first", Filter{}, []uint64{5, 4, 3, 2, 1}},
		{"limit", Filter{Limit: 2}, []uint64{5, 4}},
		{"since", Filter{Since: t0.Add(3 * time.Second)}, []uint64{5, 4, 3}},
		{"vm either side", Filter{VM: "web"}, []uint64{5, 2, 1}},
		{"vm dst side", Filter{VM: "db"}, []uint64{5, 3, 1}},
		{"peer either side", Filter{Peer: netip.MustParseAddr("10.0.0.2")}, []uint64{5, 3, 1}},
		{"peer v6", Filter{Peer: netip.MustParseAddr("2001:db8::2")}, []uint64{4}},
		{"vm and peer is the other side", Filter{VM: "db", Peer: netip.MustParseAddr("10.0.0.1")}, []uint64{5, 1}},
		{"vm and its own address is not a peer", Filter{VM: "db", Peer: netip.MustParseAddr("10.0.0.2")}, nil},
		{"port either side", Filter{Port: 40001}, []uint64{2}},
		{"port dst", Filter{Port: 443}, []uint64{3}},
		{"vm and port", Filter{VM: "web", Port: 22}, []uint64{2}},
		{"unknown vm", Filter{VM: "nope"}, nil},
	}
	for _, c := range cases {
		got, err := s.Query(ctx, c.f)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if fmt.Sprint(ids(got)) != fmt.Sprint(c.want) {
			t.Errorf("%s: got %v, want %v", c.name, ids(got), c.want)
		}
	}
	// A VM talking to itself matches both branches and is listed once.
	s.Add(rec(6, t0.Add(6*time.Second), "10.0.0.1", "10.0.0.1", 1, 2, "web", "web"))
	waitWritten(t, s, 6)
	if got, _ := s.Query(ctx, Filter{VM: "web", Limit: 2}); fmt.Sprint(ids(got)) != "[6 5]" {
		t.Errorf("hairpin flow: got %v", ids(got))
	}
	// Every field survives the round trip.
	got, _ := s.Query(ctx, Filter{Port: 53})
	want := sample()[3]
	if len(got) != 1 || !reflect.DeepEqual(got[0], want) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, want)
	}
}

// The filters must be served by indexes, not a scan of the table or a sort
// of all of a VM's flows: the store holds days of flows of a whole host.
func TestQueryUsesIndexes(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "flows.db"), Options{})
	defer s.Close()
	ctx := context.Background()
	p := netip.MustParseAddr("10.0.0.1")
	for _, f := range []Filter{{}, {VM: "a"}, {Peer: p}, {VM: "a", Peer: p}, {Since: t0}, {VM: "a", Since: t0, Port: 80}} {
		q, args := querySQL(f)
		rows, err := s.db.QueryContext(ctx, "EXPLAIN QUERY PLAN "+q, args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			rows.Scan(&id, &parent, &unused, &detail)
			plan = append(plan, detail)
		}
		rows.Close()
		t.Logf("%+v: %s", f, strings.Join(plan, "; "))
		for _, step := range plan {
			if strings.Contains(step, "flows") && !strings.Contains(step, "INDEX") {
				t.Errorf("%+v: step %q reads flows without an index", f, step)
			}
		}
	}
}

func TestRetentionByAge(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flows.db")
	now := t0.Add(time.Hour)
	s := open(t, path, Options{MaxAge: 30 * time.Minute, Now: func() time.Time { return now }})
	s.Add(rec(1, t0, "10.0.0.1", "10.0.0.2", 1, 2, "a", "b"))                     // 60 min old
	s.Add(rec(2, t0.Add(45*time.Minute), "10.0.0.1", "10.0.0.2", 1, 2, "a", "b")) // 15 min old
	waitWritten(t, s, 2)
	if err := s.Retain(context.Background()); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Query(context.Background(), Filter{})
	if fmt.Sprint(ids(got)) != "[2]" || s.Stats().Rows != 1 || s.Stats().Deleted != 1 {
		t.Fatalf("after retention: %v %+v", ids(got), s.Stats())
	}
	s.Close()
	// Retention also runs at Open.
	now = now.Add(time.Hour)
	s = open(t, path, Options{MaxAge: 30 * time.Minute, Now: func() time.Time { return now }})
	defer s.Close()
	if got, _ := s.Query(context.Background(), Filter{}); len(got) != 0 {
		t.Fatalf("Open did not apply retention: %v", ids(got))
	}
}

func TestRetentionBySize(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flows.db")
	const max = 256 << 10
	s := open(t, path, Options{MaxBytes: max, MaxAge: 365 * 24 * time.Hour})
	defer s.Close()
	const n = 3000 // about 1 MiB of rows and indexes
	for i := range n {
		r := rec(uint64(i+1), t0.Add(time.Duration(i)*time.Millisecond), "10.0.0.1", "10.0.0.2", uint16(i), 80, "a", "b")
		r.CommunityID = strings.Repeat("x", 200)
		for !s.Add(r) {
			time.Sleep(time.Millisecond)
		}
	}
	waitWritten(t, s, n)
	if before := fileSize(path) + fileSize(path+"-wal"); before <= max {
		t.Fatalf("test too small: %d bytes before retention", before)
	}
	if err := s.Retain(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := s.Stats()
	if st.Rows <= 0 || st.Rows >= n || st.Deleted == 0 {
		t.Fatalf("size retention kept %d of %d rows: %+v", st.Rows, n, st)
	}
	if size := fileSize(path) + fileSize(path+"-wal"); size > max*11/10 {
		t.Errorf("database and WAL are %d bytes, bound %d", size, max)
	}
	// Oldest went first: what is left is the newest suffix.
	got, err := s.Query(context.Background(), Filter{Limit: n})
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(got)) != st.Rows || got[0].FlowID != n || got[len(got)-1].FlowID != uint64(n-len(got)+1) {
		t.Errorf("kept %d rows, newest %d, oldest %d: not the newest suffix", len(got), got[0].FlowID, got[len(got)-1].FlowID)
	}
}

func TestQueueFullDrops(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	s := open(t, filepath.Join(t.TempDir(), "flows.db"), Options{QueueLen: 4, BatchLen: 1})
	// Stall the writer on its next batch, as a slow disk would.
	s.hold = func() {
		select {
		case entered <- struct{}{}:
		default:
		}
		<-release
	}
	s.Add(rec(100, t0, "10.0.0.1", "10.0.0.2", 1, 2, "a", "b"))
	<-entered // the writer holds record 100; the queue is empty again
	accepted := 0
	for i := range 10 {
		if s.Add(rec(uint64(i+1), t0, "10.0.0.1", "10.0.0.2", 1, 2, "a", "b")) {
			accepted++
		}
	}
	if accepted != 4 || s.Stats().Dropped != 6 {
		t.Fatalf("accepted %d, dropped %d; want 4 and 6 with a queue of 4", accepted, s.Stats().Dropped)
	}
	close(release)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Written != 5 {
		t.Fatalf("Close did not flush the queue: %+v", st)
	}
	if s.Add(rec(9, t0, "10.0.0.1", "10.0.0.2", 1, 2, "a", "b")) || s.Stats().Dropped != 7 {
		t.Fatal("Add after Close must refuse and count")
	}
}

func TestReopenPersists(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flows.db")
	s := open(t, path, Options{})
	for _, r := range sample() {
		s.Add(r)
	}
	if err := s.Close(); err != nil { // Close flushes: no wait needed
		t.Fatal(err)
	}
	s = open(t, path, Options{})
	defer s.Close()
	if s.Stats().Rows != 5 {
		t.Fatalf("rows after reopen: %d", s.Stats().Rows)
	}
	got, err := s.Query(context.Background(), Filter{VM: "db"})
	if err != nil || fmt.Sprint(ids(got)) != "[5 3 1]" {
		t.Fatalf("after reopen: %v %v", ids(got), err)
	}
}

func TestOpenBadPath(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "not-a-db")
	os.WriteFile(bad, []byte(strings.Repeat("garbage!", 1024)), 0o600)
	if _, err := Open(bad, Options{}); err == nil || !strings.Contains(err.Error(), bad) {
		t.Fatalf("opening a non-database: %v", err)
	}
}

func TestServices(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "flows.db"), Options{})
	defer s.Close()
	add := func(r Record) { s.Add(r) }
	// db answers on 5432 to two clients, three flows.
	add(rec(1, t0.Add(1*time.Second), "10.0.0.1", "10.0.0.2", 40000, 5432, "web", "db"))
	add(rec(2, t0.Add(2*time.Second), "10.0.0.1", "10.0.0.2", 40001, 5432, "web", "db"))
	add(rec(3, t0.Add(3*time.Second), "10.0.0.5", "10.0.0.2", 40002, 5432, "app", "db"))
	// A scan of db's port 23: no answer, not a service.
	r := rec(4, t0.Add(4*time.Second), "10.0.0.9", "10.0.0.2", 40003, 23, "", "db")
	r.PktsToClient, r.State = 0, "new"
	add(r)
	// A SYN to a closed port refused with a RST: one packet each way, the
	// flow ends closed; still not a service.
	r = rec(6, t0.Add(4*time.Second), "10.0.0.9", "10.0.0.2", 40004, 24, "", "db")
	r.PktsToServer, r.PktsToClient, r.State = 1, 1, "closed"
	add(r)
	// db resolves names through an outside server, as a client.
	r = rec(5, t0.Add(5*time.Second), "10.0.0.2", "192.0.2.53", 53000, 53, "db", "")
	r.Proto, r.AppProto = "UDP", "dns"
	add(r)
	waitWritten(t, s, 6)
	got, err := s.Services(context.Background(), "db")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("services: %+v", got)
	}
	sv, cl := got[0], got[1]
	if sv.Role != Server || sv.Port != 5432 || sv.Proto != "TCP" || sv.AppProto != "http" || sv.Peers != 2 || sv.Flows != 3 ||
		!sv.FirstSeen.Equal(t0) || !sv.LastSeen.Equal(t0.Add(3*time.Second)) || sv.BytesToServer != 900 {
		t.Errorf("server row: %+v", sv)
	}
	if cl.Role != Client || cl.Port != 53 || cl.Proto != "UDP" || cl.AppProto != "dns" || cl.Peer != netip.MustParseAddr("192.0.2.53") || cl.Flows != 1 {
		t.Errorf("client row: %+v", cl)
	}
	web, _ := s.Services(context.Background(), "web")
	if len(web) != 1 || web[0].Role != Client || web[0].PeerVM != "db" || web[0].Flows != 2 {
		t.Errorf("web: %+v", web)
	}
}

func TestAnswered(t *testing.T) {
	for _, c := range []struct {
		proto     string
		ts, tc    uint64
		state     string
		answered  bool
		situation string
	}{
		{"TCP", 3, 2, "closed", true, "accepted, then closed"},
		{"TCP", 2, 1, "established", true, "accepted, then reset by the client (connect scan of an open port)"},
		{"TCP", 1, 1, "closed", false, "refused with a RST (closed port)"},
		{"TCP", 2, 0, "new", false, "no answer"},
		{"TCP", 1, 1, "new", false, "a bare attempt"},
		{"UDP", 1, 1, "established", true, "a DNS answer"},
		{"UDP", 1, 0, "new", false, "no answer"},
	} {
		if got := Answered(c.proto, c.ts, c.tc, c.state); got != c.answered {
			t.Errorf("%s %s: Answered = %v", c.proto, c.situation, got)
		}
	}
}

func BenchmarkAdd(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "flows.db"), Options{QueueLen: 65536})
	if err != nil {
		b.Fatal(err)
	}
	r := rec(1, t0, "10.0.0.1", "10.0.0.2", 40000, 80, "web", "db")
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		r.FlowID = uint64(i)
		r.End = t0.Add(time.Duration(i))
		// Sustained: wait for the writer instead of counting drops.
		for !s.Add(r) {
			time.Sleep(50 * time.Microsecond)
		}
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "records/s")
	if st := s.Stats(); st.Written != uint64(b.N) {
		b.Fatalf("written %d of %d: %+v", st.Written, b.N, st)
	}
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// BenchmarkQueryVM is the "flows of one VM" lookup on a store of 100k flows
// across 50 VMs.
func BenchmarkQueryVM(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "flows.db"), Options{MaxAge: 365 * 24 * time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	batch := make([]Record, 0, 1000)
	for i := range 100000 {
		vm := fmt.Sprintf("vm%d", i%50)
		batch = append(batch, rec(uint64(i), t0.Add(time.Duration(i)*time.Millisecond), "10.0.0.1", fmt.Sprintf("10.0.1.%d", i%50), uint16(i), 443, vm, ""))
		if len(batch) == cap(batch) {
			if err := s.insert(batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	ctx := context.Background()
	b.ResetTimer()
	for i := range b.N {
		got, err := s.Query(ctx, Filter{VM: fmt.Sprintf("vm%d", i%50), Limit: 100})
		if err != nil || len(got) != 100 {
			b.Fatalf("%d %v", len(got), err)
		}
	}
}
