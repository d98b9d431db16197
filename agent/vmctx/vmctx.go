package vmctx

import (
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
)

// NIC is one VM network interface as the inventory describes it.
type NIC struct {
	VMName string
	VMUUID string
	MAC    [6]byte
	Tap    string
	Bridge string
}

// Ref is a NIC plus the host, as logged in EVE's "vm" object.
type Ref struct {
	NIC
	Host string
}

// Side says which end of a packet a VM is on.
type Side string

// Sides as EVE's vm.role spells them.
const (
	Src Side = "src"
	Dst Side = "dst"
)

type index struct {
	byMAC map[[6]byte]*Ref
	byTap map[string]*Ref
}

// Index is the lookup structure shared by all pipeline workers.
type Index struct {
	host string
	cur  atomic.Pointer[index]

	mu      sync.RWMutex
	learned map[netip.Addr][6]byte // address -> MAC that first used it
	// gone remembers NICs of VMs that left the inventory, so flows that
	// outlive their VM (destroyed, migrated away) still name it when they
	// end; goneSeq orders the departures, so the oldest go first once
	// maxGone are kept.
	gone    map[[6]byte]goneRef
	goneSeq uint64

	// foreign records the source MACs other than libvirt's that each tap's
	// VM sent from (spoof.go), for its profile.
	fmu     sync.Mutex
	foreign map[string][]MACUse
}

type goneRef struct {
	ref *Ref
	seq uint64
}

// maxGone bounds the departed NICs kept. Without it a host with VM churn
// (CI runners, autoscaled pools) would keep every NIC it ever saw; a flow
// whose VM left more than maxGone departures ago ends without a name.
const maxGone = 4096

// New returns an empty index for host.
func New(host string) *Index {
	x := &Index{host: host, learned: map[netip.Addr][6]byte{}, gone: map[[6]byte]goneRef{}, foreign: map[string][]MACUse{}}
	x.cur.Store(&index{byMAC: map[[6]byte]*Ref{}, byTap: map[string]*Ref{}})
	return x
}

// Replace installs the NICs of the current inventory.
func (x *Index) Replace(nics []NIC) {
	ix := &index{byMAC: make(map[[6]byte]*Ref, len(nics)), byTap: make(map[string]*Ref, len(nics))}
	for _, n := range nics {
		r := &Ref{NIC: n, Host: x.host}
		ix.byMAC[n.MAC] = r
		if n.Tap != "" {
			ix.byTap[n.Tap] = r
		}
	}
	x.mu.Lock()
	for mac, r := range x.cur.Load().byMAC {
		if _, still := ix.byMAC[mac]; !still {
			x.goneSeq++
			x.gone[mac] = goneRef{r, x.goneSeq}
		}
	}
	for mac := range ix.byMAC {
		delete(x.gone, mac)
	}
	x.pruneGone()
	x.mu.Unlock()
	// A tap name is reused (libvirt's vnetN counter restarts, a fixed
	// <target dev>): what an earlier VM sent on it is not the new one's.
	old := x.cur.Load().byTap
	x.fmu.Lock()
	for tap := range x.foreign {
		now, was := ix.byTap[tap], old[tap]
		if now == nil || was == nil || now.VMUUID != was.VMUUID {
			delete(x.foreign, tap)
		}
	}
	x.fmu.Unlock()
	x.cur.Store(ix)
}

// ByMAC returns the NIC that owns mac.
func (x *Index) ByMAC(mac [6]byte) (*Ref, bool) {
	r, ok := x.cur.Load().byMAC[mac]
	return r, ok
}

// ByTap returns the NIC behind tap.
func (x *Index) ByTap(tap string) (*Ref, bool) {
	r, ok := x.cur.Load().byTap[tap]
	return r, ok
}

// Sides returns the VMs at each end of a frame from src to dst MAC. When a
// frame was captured at a VM's tap, the tap's owner is the authoritative
// side even if the frame carries a spoofed MAC.
func (x *Index) Sides(src, dst [6]byte, tap string, fromVM bool) (srcRef, dstRef *Ref) {
	ix := x.cur.Load()
	srcRef, dstRef = ix.byMAC[src], ix.byMAC[dst]
	if t, ok := ix.byTap[tap]; ok && tap != "" {
		if fromVM {
			srcRef = t
		} else if dstRef == nil {
			dstRef = t
		}
	}
	return srcRef, dstRef
}

// Learn records that mac sent from addr and reports the MAC that used addr
// before when it differs (an address taken over by another machine).
func (x *Index) Learn(addr netip.Addr, mac [6]byte) (prev [6]byte, conflict bool) {
	if !addr.IsValid() || addr.IsUnspecified() {
		return prev, false
	}
	// Nearly every frame repeats what is known: a shared lock suffices.
	x.mu.RLock()
	old, seen := x.learned[addr]
	x.mu.RUnlock()
	if seen {
		return old, old != mac
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if old, seen := x.learned[addr]; seen {
		return old, old != mac
	}
	// A VM sending from random addresses must not grow the table without
	// bound; past the cap, new addresses are simply not learned.
	if len(x.learned) < maxLearned {
		x.learned[addr] = mac
	}
	return prev, false
}

// maxLearned caps the addresses learned from traffic.
const maxLearned = 1 << 16

// ByAddr returns the NIC that was seen sending from addr.
func (x *Index) ByAddr(addr netip.Addr) (*Ref, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	mac, ok := x.learned[addr.Unmap()]
	if !ok {
		return nil, false
	}
	if r, ok := x.ByMAC(mac); ok {
		return r, true
	}
	g, ok := x.gone[mac]
	return g.ref, ok
}

// pruneGone drops the oldest departures beyond maxGone. x.mu is held.
func (x *Index) pruneGone() {
	if len(x.gone) <= maxGone {
		return
	}
	seqs := make([]uint64, 0, len(x.gone))
	for _, g := range x.gone {
		seqs = append(seqs, g.seq)
	}
	slices.Sort(seqs)
	cut := seqs[len(seqs)-maxGone] // the oldest kept
	for mac, g := range x.gone {
		if g.seq < cut {
			delete(x.gone, mac)
		}
	}
}

// Addresses lists the addresses mac was seen using.
func (x *Index) Addresses(mac [6]byte) []netip.Addr {
	x.mu.RLock()
	defer x.mu.RUnlock()
	var out []netip.Addr
	for a, m := range x.learned {
		if m == mac {
			out = append(out, a)
		}
	}
	return out
}
