package flowstore

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func changeLine(c Change) string {
	peer := "-"
	if c.Peer.IsValid() {
		peer = c.Peer.String()
	}
	return fmt.Sprintf("%s %s %s/%d %s peers=%d flows=%d answered=%v first=%s", c.VM, c.Kind, c.Proto, c.Port, peer,
		c.Peers, c.Flows, c.Answered, c.FirstSeen.Sub(t0))
}

func TestChanges(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "flows.db"), Options{})
	defer s.Close()
	ctx := context.Background()
	n := uint64(0)
	add := func(r Record) { n++; r.FlowID = n; s.Add(r) }
	// Before the cut (t0+10s): db serves 5432 to web; web uses db:5432.
	add(rec(0, t0.Add(1*time.Second), "10.0.0.1", "10.0.0.2", 40000, 5432, "web", "db"))
	// After the cut: more of the same (not new) ...
	add(rec(0, t0.Add(20*time.Second), "10.0.0.1", "10.0.0.2", 40001, 5432, "web", "db"))
	// ... db starts answering on 22 (new service), twice from two clients;
	add(rec(0, t0.Add(30*time.Second), "10.0.0.1", "10.0.0.2", 40002, 22, "web", "db"))
	add(rec(0, t0.Add(31*time.Second), "10.0.0.7", "10.0.0.2", 40003, 22, "", "db"))
	// a scan of db:23 is not a service, but is a new (unanswered) peer of web;
	r := rec(0, t0.Add(32*time.Second), "10.0.0.1", "10.0.0.2", 40004, 23, "web", "db")
	r.PktsToClient, r.State = 0, "new"
	add(r)
	// db talks to an outside server for the first time.
	r = rec(0, t0.Add(33*time.Second), "10.0.0.2", "192.0.2.53", 53000, 53, "db", "")
	r.Proto, r.AppProto = "UDP", "dns"
	add(r)
	// A flow that started before the cut but ended after it is not new.
	r = rec(0, t0.Add(40*time.Second), "10.0.0.2", "192.0.2.80", 53001, 80, "db", "")
	r.Start = t0.Add(5 * time.Second)
	add(r)
	waitWritten(t, s, n)

	cut := t0.Add(10 * time.Second)
	got, err := s.Changes(ctx, "", cut)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, c := range got {
		lines = append(lines, changeLine(c))
	}
	want := []string{
		"db new_service TCP/22 - peers=2 flows=2 answered=true first=29s",
		"db new_peer UDP/53 192.0.2.53 peers=1 flows=1 answered=true first=32s",
		"web new_peer TCP/22 10.0.0.2 peers=1 flows=1 answered=true first=29s",
		"web new_peer TCP/23 10.0.0.2 peers=1 flows=1 answered=false first=31s",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("changes since t0+10s:\n got %s\nwant %s", strings.Join(lines, "\n     "), strings.Join(want, "\n     "))
	}
	if got[2].PeerVM != "db" || got[1].AppProto != "dns" {
		t.Errorf("peer VM / app proto: %+v %+v", got[2], got[1])
	}
	// One VM only.
	db, err := s.Changes(ctx, "db", cut)
	if err != nil || len(db) != 2 || db[0].VM != "db" || db[1].VM != "db" {
		t.Errorf("db only: %v %+v", err, db)
	}
	// Since the beginning, everything is new; since after the last flow, nothing.
	all, _ := s.Changes(ctx, "", time.Time{})
	if len(all) != 7 { // db: 5432, 22, udp/53, tcp/80; web: 5432, 22, 23
		for _, c := range all {
			t.Log(changeLine(c))
		}
		t.Errorf("since zero: %d changes, want 7", len(all))
	}
	if none, _ := s.Changes(ctx, "", t0.Add(time.Hour)); len(none) != 0 {
		t.Errorf("since the future: %+v", none)
	}
	if old, err := s.Oldest(ctx); err != nil || !old.Equal(t0.Add(time.Second)) {
		t.Errorf("oldest: %v %v", old, err)
	}
	// The history keys seed a detector: 7 keys, oldest use first.
	var keys []Seen
	if err := s.SeenKeys(ctx, 0, func(k Seen) { keys = append(keys, k) }); err != nil || len(keys) != 7 {
		t.Fatalf("seen keys: %v %+v", err, keys)
	}
	if k := keys[len(keys)-1]; k.VM != "db" || k.Role != Client || k.Port != 80 || k.Peer != netip.MustParseAddr("192.0.2.80") {
		t.Errorf("newest key last: %+v", k)
	}
	keys = nil
	s.SeenKeys(ctx, 2, func(k Seen) { keys = append(keys, k) })
	if len(keys) != 2 || keys[1].Port != 80 {
		t.Errorf("limited seen keys keep the newest: %+v", keys)
	}
}

func TestChangesEmptyStore(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "flows.db"), Options{})
	defer s.Close()
	got, err := s.Changes(context.Background(), "x", t0)
	if err != nil || len(got) != 0 {
		t.Fatalf("%v %v", got, err)
	}
	if old, err := s.Oldest(context.Background()); err != nil || !old.IsZero() {
		t.Fatalf("oldest of empty store: %v %v", old, err)
	}
}

// BenchmarkChanges is `tapwatch vms diff` (one VM and all VMs) and the
// daemon's start-up seed on a store of 200k flows across 50 VMs, each VM
// using 200 server addresses on 4 ports.
func BenchmarkChanges(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "flows.db"), Options{MaxAge: 365 * 24 * time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const n = 200000
	batch := make([]Record, 0, 1000)
	for i := range n {
		vm, peer := fmt.Sprintf("vm%d", i%50), fmt.Sprintf("10.1.%d.%d", i%200, (i/200)%4)
		r := rec(uint64(i), t0.Add(time.Duration(i)*time.Millisecond), "10.0.0.1", peer, uint16(i), uint16(443+(i/7)%4), vm, fmt.Sprintf("vm%d", (i+1)%50))
		batch = append(batch, r)
		if len(batch) == cap(batch) {
			if err := s.insert(batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	ctx := context.Background()
	since := t0.Add(n * time.Millisecond * 9 / 10)
	b.Run("one-vm", func(b *testing.B) {
		for i := range b.N {
			if _, err := s.Changes(ctx, fmt.Sprintf("vm%d", i%50), since); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("all-vms", func(b *testing.B) {
		for range b.N {
			if _, err := s.Changes(ctx, "", since); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("seed", func(b *testing.B) {
		for range b.N {
			k := 0
			if err := s.SeenKeys(ctx, 1<<15, func(Seen) { k++ }); err != nil || k == 0 {
				b.Fatal(err, k)
			}
			b.ReportMetric(float64(k), "keys")
		}
	})
}
