package flowstore

import (
	"context"
	"net/netip"
	"path/filepath"
	"testing"
	"time"
)

// A VM's addresses come from both sides of its flows: the source of what it
// initiated, the destination of what it answered; other VMs' addresses and
// its peers' do not appear.
func TestAddressesOfVM(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "f.db"), Options{})
	defer s.Close()
	for _, r := range []Record{
		rec(1, t0, "10.0.0.5", "10.0.0.9", 40000, 80, "web", ""),
		rec(2, t0.Add(time.Minute), "10.0.0.5", "10.0.0.1", 40001, 53, "web", ""),
		rec(3, t0.Add(2*time.Minute), "10.0.0.7", "10.0.0.6", 40002, 22, "db", "web"), // web answered on .6
		rec(4, t0.Add(3*time.Minute), "fd00::5", "fd00::1", 40003, 443, "web", ""),
		rec(5, t0.Add(4*time.Minute), "10.0.0.7", "10.0.0.9", 40004, 80, "db", ""),
	} {
		s.Add(r)
	}
	waitWritten(t, s, 5)
	got, err := s.Addresses(context.Background(), "web")
	if err != nil {
		t.Fatal(err)
	}
	want := map[netip.Addr]int{netip.MustParseAddr("10.0.0.5"): 2, netip.MustParseAddr("10.0.0.6"): 1, netip.MustParseAddr("fd00::5"): 1}
	if len(got) != len(want) {
		t.Fatalf("addresses of web: %+v, want %v", got, want)
	}
	for _, u := range got {
		if n, ok := want[u.Addr]; !ok || n != u.Flows {
			t.Errorf("address %s in %d flows; want %v", u.Addr, u.Flows, want)
		}
		if u.LastSeen.Before(u.FirstSeen) || u.FirstSeen.IsZero() {
			t.Errorf("address %s: first %v last %v", u.Addr, u.FirstSeen, u.LastSeen)
		}
	}
	if _, err := s.Addresses(context.Background(), ""); err == nil {
		t.Error("no error without a VM name")
	}
}
