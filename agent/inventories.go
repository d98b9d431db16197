package agent

import (
	"sync"

	"github.com/tapwatch/tapwatch/agent/inventory"
)

// hookSource names VMs learned from the libvirt hook rather than a connection.
const hookSource = "hook"

// inventories keeps one index per libvirt connection (plus the hook's), so a
// resync of one connection never forgets the VMs another reported. A host
// normally follows one libvirtd; several matter when VMs live under more than
// one (qemu:///system and a second daemon, as during a migration on one host).
type inventories struct {
	mu  sync.Mutex
	idx map[string]*inventory.Index
}

func newInventories() *inventories { return &inventories{idx: map[string]*inventory.Index{}} }

func (s *inventories) get(source string) *inventory.Index {
	s.mu.Lock()
	defer s.mu.Unlock()
	x, ok := s.idx[source]
	if !ok {
		x = inventory.NewIndex()
		s.idx[source] = x
	}
	return x
}

// all returns every VM of every source; a VM known to several (mid-migration)
// appears once per source, so each of its taps gets its hooks.
func (s *inventories) all() []inventory.VM {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []inventory.VM
	for _, x := range s.idx {
		out = append(out, x.VMs()...)
	}
	return out
}

// merged returns each VM once (by UUID), preferring the source where it is
// active, with the NICs of every source where it is, for the inventory view.
func (s *inventories) merged() []inventory.VM {
	byUUID := map[string]int{}
	var out []inventory.VM
	for _, vm := range s.all() {
		i, seen := byUUID[vm.UUID]
		if !seen {
			byUUID[vm.UUID] = len(out)
			out = append(out, vm)
			continue
		}
		cur := &out[i]
		if vm.State.Active() && !cur.State.Active() {
			vm.NICs = append(vm.NICs, activeNICs(*cur)...)
			*cur = vm
		} else if vm.State.Active() {
			cur.NICs = append(cur.NICs, vm.NICs...)
		}
	}
	for i := range out {
		out[i].NICs = uniqueNICs(out[i].NICs)
	}
	return out
}

// uniqueNICs drops a NIC seen twice (the hook and libvirt describe the same one).
func uniqueNICs(nics []inventory.NIC) []inventory.NIC {
	seen := map[string]bool{}
	out := nics[:0:0]
	for _, n := range nics {
		k := n.MAC.String() + "/" + n.Target
		if !seen[k] {
			seen[k] = true
			out = append(out, n)
		}
	}
	return out
}

func activeNICs(vm inventory.VM) []inventory.NIC {
	if vm.State.Active() {
		return vm.NICs
	}
	return nil
}
