package inventory

import (
	"net"
	"net/netip"
	"sort"
	"sync"
)

// Ref points at one NIC of one VM: what a lookup by MAC, tap or IP answers.
type Ref struct {
	VM  VM
	NIC NIC
}

// Index answers "whose is this?" for MACs, taps and IPs. It is safe for concurrent use: one
// goroutine applies updates while packet workers look up.
type Index struct {
	mu    sync.RWMutex
	vms   map[string]VM          // by UUID
	byMAC map[string]string      // MAC -> UUID, every defined VM
	byTap map[string]string      // tap -> UUID, active VMs only: tap names are reused
	byIP  map[netip.Addr]ipEntry // learned from traffic (ARP, DHCP)
}

type ipEntry struct {
	uuid string
	mac  string
}

// NewIndex returns an empty index.
func NewIndex() *Index {
	return &Index{vms: map[string]VM{}, byMAC: map[string]string{}, byTap: map[string]string{}, byIP: map[netip.Addr]ipEntry{}}
}

// Apply folds an update from a Source into the index. A Snapshot replaces every VM but keeps the
// learned IPs of MACs that still exist.
func (x *Index) Apply(u Update) {
	x.mu.Lock()
	defer x.mu.Unlock()
	switch u := u.(type) {
	case *Snapshot:
		x.vms = map[string]VM{}
		for _, vm := range u.VMs {
			x.vms[vm.UUID] = vm.Clone()
		}
	case *Event:
		switch {
		case u.Kind == EventMigratedOut, u.Kind == EventUndefined && !u.VM.State.Active():
			delete(x.vms, u.VM.UUID)
		case u.Err != nil && u.VM.UUID == "":
			return
		default:
			x.vms[u.VM.UUID] = u.VM.Clone()
		}
	default:
		return
	}
	x.rebuild()
}

// Put adds or replaces one VM, e.g. from a libvirt hook's XML before libvirt's event arrives.
func (x *Index) Put(vm VM) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.vms[vm.UUID] = vm.Clone()
	x.rebuild()
}

// rebuild recomputes the derived maps; VMs per host are few, so this is cheaper to get right
// than incremental bookkeeping.
func (x *Index) rebuild() {
	x.byMAC = map[string]string{}
	x.byTap = map[string]string{}
	for uuid, vm := range x.vms {
		for _, n := range vm.NICs {
			if n.MAC != nil {
				x.byMAC[n.MAC.String()] = uuid
			}
			if n.Target != "" && vm.State.Active() {
				x.byTap[n.Target] = uuid
			}
		}
	}
	for ip, e := range x.byIP {
		if x.byMAC[e.mac] != e.uuid {
			delete(x.byIP, ip)
		}
	}
}

// LearnIP records that the VM NIC with mac uses ip (seen in its ARP or DHCP traffic). It reports
// false when mac is no VM's: the caller decides whether that is spoofing.
func (x *Index) LearnIP(mac net.HardwareAddr, ip netip.Addr) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	uuid, ok := x.byMAC[mac.String()]
	if !ok {
		return false
	}
	x.byIP[ip.Unmap()] = ipEntry{uuid: uuid, mac: mac.String()}
	return true
}

// ByMAC finds the VM NIC with mac.
func (x *Index) ByMAC(mac net.HardwareAddr) (Ref, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.ref(x.byMAC[mac.String()], func(n NIC) bool { return n.MAC.String() == mac.String() })
}

// ByTap finds the VM NIC whose tap on this host is name.
func (x *Index) ByTap(name string) (Ref, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.ref(x.byTap[name], func(n NIC) bool { return n.Target == name })
}

// ByIP finds the VM NIC that was seen using ip.
func (x *Index) ByIP(ip netip.Addr) (Ref, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	e, ok := x.byIP[ip.Unmap()]
	if !ok {
		return Ref{}, false
	}
	return x.ref(e.uuid, func(n NIC) bool { return n.MAC.String() == e.mac })
}

// ByUUID returns the VM with uuid.
func (x *Index) ByUUID(uuid string) (VM, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	vm, ok := x.vms[uuid]
	return vm.Clone(), ok
}

func (x *Index) ref(uuid string, match func(NIC) bool) (Ref, bool) {
	vm, ok := x.vms[uuid]
	if !ok {
		return Ref{}, false
	}
	vm = vm.Clone()
	for _, n := range vm.NICs {
		if match(n) {
			return Ref{VM: vm, NIC: n}, true
		}
	}
	return Ref{}, false
}

// VMs lists every known VM sorted by name.
func (x *Index) VMs() []VM {
	x.mu.RLock()
	defer x.mu.RUnlock()
	out := make([]VM, 0, len(x.vms))
	for _, vm := range x.vms {
		out = append(out, vm.Clone())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// IPs lists the addresses learned for the VM with uuid.
func (x *Index) IPs(uuid string) []netip.Addr {
	x.mu.RLock()
	defer x.mu.RUnlock()
	var out []netip.Addr
	for ip, e := range x.byIP {
		if e.uuid == uuid {
			out = append(out, ip)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Less(out[j]) })
	return out
}
