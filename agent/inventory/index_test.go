package inventory

import (
	"net"
	"net/netip"
	"testing"
)

func mustMAC(s string) net.HardwareAddr {
	m, err := net.ParseMAC(s)
	if err != nil {
		panic(err)
	}
	return m
}

func TestIndexLookups(t *testing.T) {
	web := VM{UUID: "u-web", Name: "web", State: StateRunning, NICs: []NIC{{MAC: mustMAC("52:54:00:00:00:01"), Target: "tap-web", Bridge: "br0"}}}
	db := VM{UUID: "u-db", Name: "db", State: StateShutoff, NICs: []NIC{{MAC: mustMAC("52:54:00:00:00:02"), Target: "tap-db"}}}
	x := NewIndex()
	x.Apply(&Snapshot{VMs: []VM{web, db}})

	if r, ok := x.ByMAC(mustMAC("52:54:00:00:00:01")); !ok || r.VM.Name != "web" || r.NIC.Target != "tap-web" {
		t.Fatalf("ByMAC(web) = %+v %v", r, ok)
	}
	if r, ok := x.ByTap("tap-web"); !ok || r.VM.Name != "web" {
		t.Fatalf("ByTap(tap-web) = %+v %v", r, ok)
	}
	if _, ok := x.ByTap("tap-db"); ok {
		t.Fatal("a shut-off VM's stale target name must not claim a tap")
	}
	if _, ok := x.ByMAC(mustMAC("52:54:00:00:00:02")); !ok {
		t.Fatal("a defined but shut-off VM's MAC is still known")
	}

	ip := netip.MustParseAddr("10.0.0.5")
	if x.LearnIP(mustMAC("52:54:00:de:ad:01"), ip) {
		t.Fatal("LearnIP accepted a MAC that belongs to no VM")
	}
	if !x.LearnIP(mustMAC("52:54:00:00:00:01"), ip) {
		t.Fatal("LearnIP refused web's MAC")
	}
	if r, ok := x.ByIP(ip); !ok || r.VM.Name != "web" {
		t.Fatalf("ByIP = %+v %v", r, ok)
	}

	// Mutating a returned VM must not change the index.
	r, _ := x.ByMAC(mustMAC("52:54:00:00:00:01"))
	r.VM.NICs[0].Target = "changed"
	if _, ok := x.ByTap("tap-web"); !ok {
		t.Fatal("index shares NIC slices with callers")
	}

	// db starts: its tap becomes known.
	db.State = StateRunning
	x.Apply(&Event{Kind: EventStarted, VM: db})
	if r, ok := x.ByTap("tap-db"); !ok || r.VM.Name != "db" {
		t.Fatalf("after start, ByTap(tap-db) = %+v %v", r, ok)
	}

	// web migrates away: it and its learned IP are gone.
	x.Apply(&Event{Kind: EventMigratedOut, VM: web})
	if _, ok := x.ByTap("tap-web"); ok {
		t.Fatal("a migrated-out VM still owns its tap")
	}
	if _, ok := x.ByIP(ip); ok {
		t.Fatal("a migrated-out VM still owns its learned IP")
	}
	if vms := x.VMs(); len(vms) != 1 || vms[0].Name != "db" {
		t.Fatalf("VMs = %+v", vms)
	}

	// A resync keeps learned IPs of NICs that still exist.
	x.LearnIP(mustMAC("52:54:00:00:00:02"), netip.MustParseAddr("10.0.0.6"))
	x.Apply(&Snapshot{VMs: []VM{db}})
	if ips := x.IPs("u-db"); len(ips) != 1 || ips[0] != netip.MustParseAddr("10.0.0.6") {
		t.Fatalf("IPs(db) after resync = %v", ips)
	}
}

// Undefining a running domain makes it transient, not gone: its tap stays attributed.
func TestIndexKeepsRunningUndefinedVM(t *testing.T) {
	vm := VM{UUID: "u1", Name: "t", State: StateRunning, NICs: []NIC{{MAC: mustMAC("52:54:00:00:00:09"), Target: "tap9"}}}
	x := NewIndex()
	x.Apply(&Snapshot{VMs: []VM{vm}})
	x.Apply(&Event{Kind: EventUndefined, VM: vm})
	if _, ok := x.ByTap("tap9"); !ok {
		t.Fatal("running VM undefined into a transient one lost its tap")
	}
	vm.State = StateShutoff
	x.Apply(&Event{Kind: EventUndefined, VM: vm})
	if _, ok := x.ByMAC(vm.NICs[0].MAC); ok {
		t.Fatal("undefined shut-off VM is still indexed")
	}
}
