package agent

import (
	"context"
	"net"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/tapwatch/tapwatch/agent/api"
	"github.com/tapwatch/tapwatch/agent/inventory"
	"github.com/tapwatch/tapwatch/agent/vmctx"
	"github.com/tapwatch/tapwatch/bpfprog"
	"github.com/tapwatch/tapwatch/vswitch"
)

type hookKey struct {
	ifindex int
	hook    bpfprog.Hook
}

// ifaceInfo is what the reader needs to know about an interface.
type ifaceInfo struct {
	name string
	role string // tap or uplink
	vm   string
	zone uint32
}

// reconciler owns the desired state: which hooks on which interfaces, the
// zone of each and the monitored MACs. Only its goroutine changes them;
// readers see an immutable snapshot of the interface table.
type reconciler struct {
	d *Daemon

	mu       sync.Mutex         // guards attached for the API's reads
	attached map[hookKey]string // -> method
	macs     map[string]int     // MAC -> tap ifindex in the kernel map
	zones    map[int]uint32

	ifaces atomic.Pointer[map[uint32]ifaceInfo]
	kick   chan struct{}

	// appeared remembers when a link was first reported, to measure how
	// long an interface carried traffic before its hooks were attached.
	appeared    map[string]time.Time
	lastLatency atomic.Int64
	maxLatency  atomic.Int64

	// unattributed is set while a hooked tap has no known owner: the bridge
	// learns its MACs only from traffic, so reconcile passes come faster.
	unattributed bool
}

func newReconciler(d *Daemon) *reconciler {
	r := &reconciler{d: d, attached: map[hookKey]string{}, macs: map[string]int{}, zones: map[int]uint32{},
		kick: make(chan struct{}, 1), appeared: map[string]time.Time{}}
	empty := map[uint32]ifaceInfo{}
	r.ifaces.Store(&empty)
	return r
}

func (r *reconciler) iface(ifindex uint32) ifaceInfo { return (*r.ifaces.Load())[ifindex] }

// poke asks for a reconcile pass (from the hook handler).
func (r *reconciler) poke() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

func (r *reconciler) run(ctx context.Context, inv <-chan sourced, links <-chan vswitch.Event) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	idle := 0
	for {
		select {
		case <-ctx.Done():
			return
		case u := <-inv:
			r.inventoryUpdate(u)
		case ev, ok := <-links:
			if !ok {
				links = nil
				continue
			}
			if ev.Kind == vswitch.PortAppeared || ev.Kind == vswitch.PortMoved || ev.Kind == vswitch.PortUp {
				if _, seen := r.appeared[ev.Port.Name]; !seen {
					r.appeared[ev.Port.Name] = time.Now()
				}
			}
			if ev.Kind == vswitch.PortRemoved {
				delete(r.appeared, ev.Port.Name)
			}
		case <-r.kick:
		case <-tick.C:
			// A safety net every 30 s; every second while a tap is unattributed.
			if idle++; idle < 30 && !r.unattributed {
				continue
			}
		}
		idle = 0
		// Bursts (a VM start brings several events) collapse into one pass.
		drain(inv, links, r)
		r.reconcile()
	}
}

func drain(inv <-chan sourced, links <-chan vswitch.Event, r *reconciler) {
	for {
		select {
		case u := <-inv:
			r.inventoryUpdate(u)
		case ev, ok := <-links:
			if !ok {
				return
			}
			if _, seen := r.appeared[ev.Port.Name]; !seen && ev.Kind != vswitch.PortRemoved {
				r.appeared[ev.Port.Name] = time.Now()
			}
		default:
			return
		}
	}
}

func (r *reconciler) inventoryUpdate(su sourced) {
	d := r.d
	switch u := su.u.(type) {
	case *inventory.ConnState:
		s := "connected"
		if !u.Connected {
			s = "retrying in " + u.Retry.String()
			if u.Err != nil {
				s += ": " + u.Err.Error()
			}
			d.log.Warn("libvirt unreachable, VM events may be missing until it is back", "uri", u.URI, "error", u.Err, "retry", u.Retry)
		} else {
			d.log.Info("libvirt connected", "uri", u.URI)
		}
		d.libvirtState.Store(&s)
	case *inventory.Snapshot:
		for _, e := range u.Errors {
			d.log.Warn("VM skipped: cannot read its definition", "error", e)
		}
		d.log.Info("inventory resync", "vms", len(u.VMs))
	case *inventory.Event:
		d.log.Info("vm event", "vm", u.VM.Name, "event", u.Kind, "detail", u.Detail)
	}
	d.inv.get(su.uri).Apply(su.u)
}

// reconcile computes the desired hooks from the inventory and the links that
// exist, and applies the difference. It is idempotent.
func (r *reconciler) reconcile() {
	d := r.d
	r.unattributed = false
	links, err := netlink.LinkList()
	if err != nil {
		d.log.Error("list links", "error", err)
		return
	}
	byName := map[string]netlink.Link{}
	allowed := map[int]bool{} // bridge ifindexes we may watch (nil map entry: all)
	for _, l := range links {
		byName[l.Attrs().Name] = l
	}
	for _, b := range d.cfg.Capture.Bridges {
		if l, ok := byName[b]; ok {
			allowed[l.Attrs().Index] = true
		}
	}
	onAllowed := func(a *netlink.LinkAttrs) bool {
		return len(d.cfg.Capture.Bridges) == 0 || allowed[a.MasterIndex]
	}
	want := map[hookKey]ifaceInfo{}
	macs := map[string]int{}
	var nics []vmctx.NIC
	vmBridges := map[int]bool{}
	tapOwner := map[string]bool{}
	for _, vm := range d.inv.all() {
		if !vm.State.Active() {
			continue
		}
		if d.pcaps != nil {
			d.pcaps.SetMode(vm.Name, d.recordMode(vm.Policy.Record))
		}
		for _, n := range vm.NICs {
			var mac [6]byte
			copy(mac[:], n.MAC)
			bridge := n.Bridge
			l, ok := byName[n.Target]
			if n.Target == "" || !ok {
				nics = append(nics, vmctx.NIC{VMName: vm.Name, VMUUID: vm.UUID, MAC: mac, Tap: n.Target, Bridge: bridge})
				continue
			}
			a := l.Attrs()
			if !onAllowed(a) {
				continue
			}
			if m, ok := linkName(links, a.MasterIndex); ok {
				bridge = m
				vmBridges[a.MasterIndex] = true
			}
			tapOwner[n.Target] = true
			info := ifaceInfo{name: a.Name, role: "tap", vm: vm.Name, zone: uint32(a.MasterIndex)}
			want[hookKey{a.Index, bpfprog.HookTapIngress}] = info
			want[hookKey{a.Index, bpfprog.HookTapEgress}] = info
			if n.MAC != nil {
				macs[n.MAC.String()] = a.Index
			}
			nics = append(nics, vmctx.NIC{VMName: vm.Name, VMUUID: vm.UUID, MAC: mac, Tap: n.Target, Bridge: bridge})
		}
	}
	// Taps libvirt has not told us about yet are hooked at once and
	// attributed once the inventory catches up: nothing runs unmonitored.
	for _, l := range links {
		a := l.Attrs()
		if vswitch.Classify(l) == vswitch.KindTap && a.MasterIndex > 0 && !tapOwner[a.Name] && onAllowed(a) {
			info := ifaceInfo{name: a.Name, role: "tap", zone: uint32(a.MasterIndex)}
			want[hookKey{a.Index, bpfprog.HookTapIngress}] = info
			want[hookKey{a.Index, bpfprog.HookTapEgress}] = info
			vmBridges[a.MasterIndex] = true
			tapOwner[a.Name] = true
			// Whoever sends through an unattributed tap is inspected there;
			// monitoring the MACs the bridge learned on it keeps the uplink
			// from inspecting the same frames again.
			for _, mac := range learnedMACs(a.Index) {
				if _, known := macs[mac]; !known {
					macs[mac] = a.Index
				}
			}
			r.unattributed = true
		}
	}
	// Every other port of a bridge that carries VMs is an uplink.
	for _, l := range links {
		a := l.Attrs()
		if vmBridges[a.MasterIndex] && !tapOwner[a.Name] && onAllowed(a) {
			info := ifaceInfo{name: a.Name, role: "uplink", zone: uint32(a.MasterIndex)}
			want[hookKey{a.Index, bpfprog.HookUplinkIngress}] = info
			want[hookKey{a.Index, bpfprog.HookUplinkEgress}] = info
		}
	}
	for _, name := range d.cfg.Capture.Interfaces {
		if l, ok := byName[name]; ok {
			a := l.Attrs()
			info := ifaceInfo{name: name, role: "uplink", zone: uint32(a.MasterIndex)}
			want[hookKey{a.Index, bpfprog.HookUplinkIngress}] = info
			want[hookKey{a.Index, bpfprog.HookUplinkEgress}] = info
		}
	}

	d.vms.Replace(nics)
	table := map[uint32]ifaceInfo{}
	for k, info := range want {
		table[uint32(k.ifindex)] = info
	}
	old := *r.ifaces.Load()
	for ifx, info := range table {
		if info.vm != "" && old[ifx].vm != info.vm {
			d.log.Info("interface attributed", "interface", info.name, "vm", info.vm, "role", info.role)
		}
	}
	r.ifaces.Store(&table)
	r.applyZones(table)
	r.applyMACs(macs)
	r.applyHooks(want)
}

// learnedMACs lists the MACs the bridge learned behind a port (not its own).
// Equivalent: `bridge fdb show brport IF dynamic`.
func learnedMACs(ifindex int) []string {
	neighs, err := netlink.NeighList(ifindex, unix.AF_BRIDGE)
	if err != nil {
		return nil
	}
	var out []string
	for _, n := range neighs {
		if n.State&netlink.NUD_PERMANENT != 0 || n.HardwareAddr == nil || n.HardwareAddr[0]&1 != 0 {
			continue
		}
		out = append(out, n.HardwareAddr.String())
	}
	return out
}

func linkName(links []netlink.Link, ifindex int) (string, bool) {
	if ifindex == 0 {
		return "", false
	}
	for _, l := range links {
		if l.Attrs().Index == ifindex {
			return l.Attrs().Name, true
		}
	}
	return "", false
}

func (r *reconciler) applyZones(table map[uint32]ifaceInfo) {
	for ifx, info := range table {
		if z, ok := r.zones[int(ifx)]; ok && z == info.zone {
			continue
		}
		if err := r.d.objs.SetZone(int(ifx), info.zone); err != nil {
			r.d.log.Warn("set zone", "interface", info.name, "error", err)
			continue
		}
		r.zones[int(ifx)] = info.zone
	}
	for ifx := range r.zones {
		if _, ok := table[uint32(ifx)]; !ok {
			_ = r.d.objs.DeleteZone(ifx)
			delete(r.zones, ifx)
		}
	}
}

func (r *reconciler) applyMACs(want map[string]int) {
	set := r.d.objs.MonitoredMACs()
	for mac, ifx := range want {
		if r.macs[mac] == ifx {
			continue
		}
		hw, _ := net.ParseMAC(mac)
		if err := set.Add(hw, ifx); err != nil {
			r.d.log.Warn("monitor MAC", "mac", mac, "error", err)
			continue
		}
		r.macs[mac] = ifx
	}
	for mac := range r.macs {
		if _, ok := want[mac]; !ok {
			hw, _ := net.ParseMAC(mac)
			_ = set.Delete(hw)
			delete(r.macs, mac)
		}
	}
}

func (r *reconciler) applyHooks(want map[hookKey]ifaceInfo) {
	d := r.d
	keys := make([]hookKey, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].ifindex != keys[j].ifindex {
			return keys[i].ifindex < keys[j].ifindex
		}
		return keys[i].hook < keys[j].hook
	})
	for _, k := range keys {
		r.mu.Lock()
		_, done := r.attached[k]
		r.mu.Unlock()
		if done {
			continue
		}
		info := want[k]
		m, err := d.att.Attach(k.ifindex, k.hook)
		if err != nil {
			d.log.Error("attach failed: interface unmonitored", "interface", info.name, "hook", k.hook, "error", err)
			continue
		}
		r.mu.Lock()
		r.attached[k] = m.String()
		r.mu.Unlock()
		lat := time.Duration(0)
		if t, ok := r.appeared[info.name]; ok {
			lat = time.Since(t)
			r.lastLatency.Store(int64(lat))
			if int64(lat) > r.maxLatency.Load() {
				r.maxLatency.Store(int64(lat))
			}
		}
		d.log.Info("hook attached", "interface", info.name, "hook", k.hook, "role", info.role, "vm", info.vm,
			"mode", m.String(), "since_link_seen", lat)
	}
	r.mu.Lock()
	var stale []hookKey
	for k := range r.attached {
		if _, ok := want[k]; !ok {
			stale = append(stale, k)
		}
	}
	r.mu.Unlock()
	for _, k := range stale {
		// A vanished interface takes its hooks with it; Detach only tidies pins.
		if err := d.att.Detach(k.ifindex, k.hook); err != nil {
			d.log.Debug("detach", "ifindex", k.ifindex, "hook", k.hook, "error", err)
		}
		r.mu.Lock()
		delete(r.attached, k)
		r.mu.Unlock()
		d.log.Info("hook detached", "ifindex", k.ifindex, "hook", k.hook)
	}
}

func (r *reconciler) detachAll() {
	r.mu.Lock()
	keys := make([]hookKey, 0, len(r.attached))
	for k := range r.attached {
		keys = append(keys, k)
	}
	r.mu.Unlock()
	for _, k := range keys {
		if err := r.d.att.Detach(k.ifindex, k.hook); err != nil {
			r.d.log.Warn("detach", "ifindex", k.ifindex, "hook", k.hook, "error", err)
		}
	}
	r.mu.Lock()
	r.attached = map[hookKey]string{}
	r.mu.Unlock()
}

// hooks lists the attachments with their counters, for status.
func (r *reconciler) hooks() []api.Hook {
	table := *r.ifaces.Load()
	r.mu.Lock()
	keys := make([]hookKey, 0, len(r.attached))
	modes := map[hookKey]string{}
	for k, m := range r.attached {
		keys = append(keys, k)
		modes[k] = m
	}
	r.mu.Unlock()
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].ifindex != keys[j].ifindex {
			return keys[i].ifindex < keys[j].ifindex
		}
		return keys[i].hook < keys[j].hook
	})
	var out []api.Hook
	for _, k := range keys {
		info := table[uint32(k.ifindex)]
		h := api.Hook{Interface: info.name + "/" + k.hook.String(), Ifindex: k.ifindex, Role: info.role, Mode: modes[k], VM: info.vm}
		if c, err := r.d.objs.Counters(k.ifindex, k.hook); err == nil {
			h.Seen, h.Sent, h.RingFull = c.Seen, c.Sent, c.RingFull
		}
		out = append(out, h)
	}
	return out
}

// nicState returns whether a tap is hooked, how, and the packets seen on it.
func (r *reconciler) nicState(ifindex int) (mode string, attached bool, packets uint64) {
	r.mu.Lock()
	mode, attached = r.attached[hookKey{ifindex, bpfprog.HookTapIngress}]
	r.mu.Unlock()
	for _, h := range []bpfprog.Hook{bpfprog.HookTapIngress, bpfprog.HookTapEgress} {
		if c, err := r.d.objs.Counters(ifindex, h); err == nil {
			packets += c.Seen
		}
	}
	return mode, attached, packets
}
