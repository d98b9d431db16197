package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"slices"
	"sync/atomic"

	"github.com/vishvananda/netlink"

	"github.com/tapwatch/tapwatch/agent/api"
	"github.com/tapwatch/tapwatch/agent/flowstore"
	"github.com/tapwatch/tapwatch/agent/inventory"
	"github.com/tapwatch/tapwatch/agent/record"
)

// backend serves the control socket from the daemon's state.
type backend struct{ d *Daemon }

func (b backend) VMs(ctx context.Context) ([]api.VM, error) {
	d := b.d
	var out []api.VM
	for _, vm := range d.inv.merged() {
		v := api.VM{Name: vm.Name, UUID: vm.UUID, State: string(vm.State)}
		if c, ok := d.alertsByVM.Load(vm.Name); ok {
			v.Alerts = c.(*atomic.Uint64).Load()
		}
		for _, n := range vm.NICs {
			nic := api.NIC{MAC: n.MAC.String(), Tap: n.Target, Bridge: n.Bridge}
			if l, err := netlink.LinkByName(n.Target); err == nil && n.Target != "" {
				nic.HookMode, nic.Attached, nic.Packets = d.rec.nicState(l.Attrs().Index)
				if m, err := netlink.LinkByIndex(l.Attrs().MasterIndex); err == nil {
					nic.Bridge = m.Attrs().Name
				}
			}
			v.NICs = append(v.NICs, nic)
		}
		out = append(out, v)
	}
	return out, nil
}

func (b backend) Status(ctx context.Context) (api.Status, error) {
	d := b.d
	st := api.Status{Host: d.cfg.Host, Version: Version, Started: d.started, LibvirtURI: d.cfg.Libvirt.URI,
		Libvirt: *d.libvirtState.Load(), Hooks: d.rec.hooks(), Alerts: d.alerts.Load(), Drops: map[string]uint64{}}
	d.rulesMu.Lock()
	st.RulesLoaded, st.RulesFailed = d.rulesLoaded, d.rulesFailed
	d.rulesMu.Unlock()
	ps := d.pipe.Stats()
	st.Packets = ps.Frames
	for _, h := range st.Hooks {
		st.Drops["ring_full"] += h.RingFull
	}
	for k, v := range ps.Decode {
		st.Drops["decode_"+k] += v
	}
	if n := d.hub.dropped.Load(); n > 0 {
		st.Drops["alert_follower_slow"] = n
	}
	return st, nil
}

func (b backend) Alerts(ctx context.Context, vm string, follow bool) ([][]byte, <-chan []byte, error) {
	recent, live := b.d.hub.snapshot(ctx, vm, follow)
	return recent, live, nil
}

// Hook learns a VM from libvirt's hook before libvirt's own event arrives,
// so its taps are expected (and attributed) from their first frame.
func (b backend) Hook(ctx context.Context, ev api.HookEvent) (api.HookReply, error) {
	d := b.d
	d.log.Info("libvirt hook", "domain", ev.Domain, "op", ev.Operation, "subop", ev.SubOp)
	switch ev.Operation {
	case "prepare", "start", "started", "migrate", "reconnect", "attach":
		vm, err := inventory.ParseDomainXML(ev.XML)
		if err != nil {
			// The VM still starts: libvirt's events will describe it.
			d.log.Warn("hook: cannot read domain XML", "domain", ev.Domain, "error", err)
			return api.HookReply{Allow: true, Message: fmt.Sprintf("domain XML unreadable: %v", err)}, nil
		}
		vm.State = inventory.StateRunning
		d.inv.get(hookSource).Put(vm)
		d.rec.poke()
	case "stopped", "release":
		// What the hook said is running no longer is; libvirt's own view stays.
		if vm, err := inventory.ParseDomainXML(ev.XML); err == nil {
			vm.State = inventory.StateShutoff
			d.inv.get(hookSource).Put(vm)
			d.rec.poke()
		}
	}
	return api.HookReply{Allow: true}, nil
}

var errNoFlowStore = errors.New("the flow store is off: set flows.store in tapwatch.yaml")

func (b backend) Flows(ctx context.Context, f flowstore.Filter) ([]flowstore.Record, error) {
	if b.d.flows == nil {
		return nil, errNoFlowStore
	}
	return b.d.flows.Query(ctx, f)
}

func (b backend) Profile(ctx context.Context, name string) (api.Profile, error) {
	vms, err := b.VMs(ctx)
	if err != nil {
		return api.Profile{}, err
	}
	var p api.Profile
	found := false
	for _, vm := range vms {
		if vm.Name == name {
			p.VM, found = vm, true
		}
	}
	if !found {
		return p, fmt.Errorf("no VM named %q (tapwatch vms lists them)", name)
	}
	addrs := map[string]bool{}
	for _, n := range p.VM.NICs {
		p.MACs = append(p.MACs, api.MACUse{MAC: n.MAC, Tap: n.Tap, Libvirt: true})
		if hw, err := net.ParseMAC(n.MAC); err == nil {
			var mac [6]byte
			copy(mac[:], hw)
			for _, a := range b.d.vms.Addresses(mac) {
				addrs[a.String()] = true
			}
		}
		for _, u := range b.d.vms.ForeignMACs(n.Tap) {
			p.MACs = append(p.MACs, api.MACUse{MAC: net.HardwareAddr(u.MAC[:]).String(), Tap: n.Tap,
				Frames: u.Frames, First: u.First, Last: u.Last})
		}
	}
	if b.d.flows != nil {
		if p.Services, err = b.d.flows.Services(ctx, name); err != nil {
			return p, err
		}
		used, err := b.d.flows.Addresses(ctx, name)
		if err != nil {
			return p, err
		}
		for _, u := range used {
			addrs[u.Addr.String()] = true
		}
	}
	p.Addresses = slices.Sorted(maps.Keys(addrs))
	return p, nil
}

func (b backend) Pcap(ctx context.Context, q record.Query, w io.Writer) (int, error) {
	if b.d.pcaps == nil {
		return 0, errors.New("packet recording is off: set record.dir in tapwatch.yaml")
	}
	return b.d.pcaps.Export(ctx, q, w)
}
