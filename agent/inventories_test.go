package agent

import (
	"net"
	"testing"

	"github.com/tapwatch/tapwatch/agent/inventory"
)

func TestInventoriesMergeMigratingVM(t *testing.T) {
	mac, _ := net.ParseMAC("52:54:00:00:00:01")
	vm := func(state inventory.State, tap string) inventory.VM {
		return inventory.VM{UUID: "u1", Name: "guest", State: state, NICs: []inventory.NIC{{MAC: mac, Target: tap}}}
	}
	s := newInventories()
	s.get("qemu:///system").Apply(&inventory.Snapshot{VMs: []inventory.VM{vm(inventory.StatePaused, "twq0")}})
	s.get("qemu+unix:///dst").Apply(&inventory.Snapshot{VMs: []inventory.VM{vm(inventory.StateRunning, "twq1")}})
	s.get(hookSource).Put(vm(inventory.StateRunning, "twq1"))

	if n := len(s.all()); n != 3 {
		t.Fatalf("all() = %d VMs, want one per source (3)", n)
	}
	m := s.merged()
	if len(m) != 1 {
		t.Fatalf("merged() = %d VMs, want 1", len(m))
	}
	taps := map[string]bool{}
	for _, n := range m[0].NICs {
		taps[n.Target] = true
	}
	if len(m[0].NICs) != 2 || !taps["twq0"] || !taps["twq1"] {
		t.Fatalf("merged NICs = %+v, want twq0 and twq1 once each", m[0].NICs)
	}
	// A snapshot of one source never forgets another's VMs.
	s.get("qemu:///system").Apply(&inventory.Snapshot{})
	if m := s.merged(); len(m) != 1 || m[0].State != inventory.StateRunning {
		t.Fatalf("after source resync: %+v", m)
	}
}
