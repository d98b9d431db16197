package bpfprog

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/cilium/ebpf"
)

func (c Config) validate() error {
	if c.Snaplen < 1 || c.Snaplen > MaxSnaplen {
		return fmt.Errorf("bpfprog: snaplen %d: must be 1..%d", c.Snaplen, MaxSnaplen)
	}
	if c.Mode != ModeIDS && c.Mode != ModeIPS {
		return fmt.Errorf("bpfprog: mode %d: must be ModeIDS or ModeIPS", c.Mode)
	}
	if c.Capture != CaptureCopy && c.Capture != CaptureReserve {
		return fmt.Errorf("bpfprog: capture %d: must be CaptureCopy or CaptureReserve", c.Capture)
	}
	return nil
}

// SetConfig replaces the configuration the programs read on every packet.
// Zero fields take the defaults.
func (o *Objects) SetConfig(c Config) error {
	c = c.withDefaults()
	if err := c.validate(); err != nil {
		return err
	}
	v := twTwConfig{Snaplen: c.Snaplen, Mode: uint32(c.Mode), WakeupBytes: c.WakeupBytes, Flags: uint32(c.Capture)}
	if err := o.objs.Config.Put(uint32(0), &v); err != nil {
		return fmt.Errorf("bpfprog: write config map: %w", err)
	}
	return nil
}

// Config reads the configuration back from the map.
func (o *Objects) Config() (Config, error) {
	var v twTwConfig
	if err := o.objs.Config.Lookup(uint32(0), &v); err != nil {
		return Config{}, fmt.Errorf("bpfprog: read config map: %w", err)
	}
	return Config{Snaplen: v.Snaplen, Mode: Mode(v.Mode), WakeupBytes: v.WakeupBytes, Capture: Capture(v.Flags)}, nil
}

// Counters are per interface and hook, summed over CPUs. Every packet a
// program sees ends in exactly one of Sent, Skipped, Bypassed, Blocked or
// RingFull; TooBig counts sent packets that were cut to the snaplen.
type Counters struct {
	Seen, Sent, Skipped, Bypassed, Blocked, RingFull, TooBig uint64
}

// Add returns the field-wise sum.
func (c Counters) Add(d Counters) Counters {
	return Counters{c.Seen + d.Seen, c.Sent + d.Sent, c.Skipped + d.Skipped, c.Bypassed + d.Bypassed,
		c.Blocked + d.Blocked, c.RingFull + d.RingFull, c.TooBig + d.TooBig}
}

// CounterKey names one hook on one interface.
type CounterKey struct {
	Ifindex uint32
	Hook    Hook
}

func sumCounters(per []twTwCounters) Counters {
	var s Counters
	for _, v := range per {
		s = s.Add(Counters{v.Seen, v.Sent, v.Skipped, v.Bypassed, v.Blocked, v.RingFull, v.TooBig})
	}
	return s
}

// Counters returns the counters of one hook on one interface; zero when the
// program has not run there yet.
func (o *Objects) Counters(ifindex int, h Hook) (Counters, error) {
	var per []twTwCounters
	k := twTwCounterKey{Ifindex: uint32(ifindex), Hook: uint32(h)}
	err := o.objs.Counters.Lookup(&k, &per)
	if errors.Is(err, ebpf.ErrKeyNotExist) {
		return Counters{}, nil
	}
	if err != nil {
		return Counters{}, fmt.Errorf("bpfprog: read counters of ifindex %d %s: %w", ifindex, h, err)
	}
	return sumCounters(per), nil
}

// AllCounters returns every hook's counters.
func (o *Objects) AllCounters() (map[CounterKey]Counters, error) {
	out := make(map[CounterKey]Counters)
	var k twTwCounterKey
	var per []twTwCounters
	it := o.objs.Counters.Iterate()
	for it.Next(&k, &per) {
		out[CounterKey{k.Ifindex, Hook(k.Hook)}] = sumCounters(per)
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("bpfprog: iterate counters map: %w", err)
	}
	return out, nil
}

// DeleteCounters forgets the counters of an interface that is gone, so a
// reused ifindex starts from zero.
func (o *Objects) DeleteCounters(ifindex int) error {
	for _, h := range AllHooks() {
		k := twTwCounterKey{Ifindex: uint32(ifindex), Hook: uint32(h)}
		if err := o.objs.Counters.Delete(&k); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			return fmt.Errorf("bpfprog: delete counters of ifindex %d %s: %w", ifindex, h, err)
		}
	}
	return nil
}

// FlowKey is a 5-tuple in a zone. The programs match it in either direction.
// Fragments are keyed with zero ports; so are protocols without ports.
type FlowKey struct {
	Zone    uint32
	VLAN    uint16
	Proto   uint8
	Src     netip.Addr
	Dst     netip.Addr
	SrcPort uint16
	DstPort uint16
}

func (f FlowKey) String() string {
	return fmt.Sprintf("zone %d vlan %d proto %d %s -> %s",
		f.Zone, f.VLAN, f.Proto, netip.AddrPortFrom(f.Src, f.SrcPort), netip.AddrPortFrom(f.Dst, f.DstPort))
}

func (f FlowKey) raw() (twTwFlow, error) {
	k := twTwFlow{Zone: f.Zone, Vlan: f.VLAN, Proto: f.Proto, Sport: f.SrcPort, Dport: f.DstPort}
	src, dst := f.Src.Unmap(), f.Dst.Unmap()
	switch {
	case src.Is4() && dst.Is4():
		k.Family = 4
		a, b := src.As4(), dst.As4()
		copy(k.Src[:], a[:])
		copy(k.Dst[:], b[:])
	case src.Is6() && dst.Is6():
		k.Family = 6
		k.Src, k.Dst = src.As16(), dst.As16()
	default:
		return k, fmt.Errorf("bpfprog: flow %s: addresses must both be IPv4 or both IPv6", f)
	}
	return k, nil
}

// FlowStats count what a bypassed or blocked flow still carried.
type FlowStats struct {
	Packets, Bytes uint64
}

// FlowTable is a map of flows: the bypass table (LRU; the kernel evicts the
// least recently used flow when full) or the blocked flows.
type FlowTable struct {
	m    *ebpf.Map
	name string
}

// Bypass returns the flow bypass table: packets of these flows are counted
// (per flow and as Bypassed) but not sent to user space.
func (o *Objects) Bypass() *FlowTable { return &FlowTable{o.objs.Bypass, "bypass"} }

// BlockedFlows returns the flows dropped in ModeIPS.
func (o *Objects) BlockedFlows() *FlowTable { return &FlowTable{o.objs.BlockFlows, "block_flows"} }

// Add inserts a flow (or keeps its stats if present).
func (t *FlowTable) Add(f FlowKey) error {
	k, err := f.raw()
	if err != nil {
		return err
	}
	err = t.m.Update(&k, &twTwFlowStats{}, ebpf.UpdateNoExist)
	if err != nil && !errors.Is(err, ebpf.ErrKeyExist) {
		return fmt.Errorf("bpfprog: add %s to %s map: %w", f, t.name, err)
	}
	return nil
}

// Delete removes a flow; a flow that is not there is not an error.
func (t *FlowTable) Delete(f FlowKey) error {
	k, err := f.raw()
	if err != nil {
		return err
	}
	if err := t.m.Delete(&k); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
		return fmt.Errorf("bpfprog: delete %s from %s map: %w", f, t.name, err)
	}
	return nil
}

// Lookup returns the flow's stats and whether it is in the table.
func (t *FlowTable) Lookup(f FlowKey) (FlowStats, bool, error) {
	k, err := f.raw()
	if err != nil {
		return FlowStats{}, false, err
	}
	return lookupStats(t.m, &k, fmt.Sprintf("%s in %s map", f, t.name))
}

// HostTable holds addresses whose traffic (either side) is dropped in ModeIPS.
type HostTable struct{ m *ebpf.Map }

// BlockedHosts returns the blocked hosts table.
func (o *Objects) BlockedHosts() *HostTable { return &HostTable{o.objs.BlockHosts} }

func hostKey(zone uint32, a netip.Addr) (twTwHost, error) {
	k := twTwHost{Zone: zone}
	a = a.Unmap()
	switch {
	case a.Is4():
		k.Family = 4
		b := a.As4()
		copy(k.Addr[:], b[:])
	case a.Is6():
		k.Family = 6
		k.Addr = a.As16()
	default:
		return k, fmt.Errorf("bpfprog: host %v: not an IP address", a)
	}
	return k, nil
}

// Add blocks a host in a zone.
func (t *HostTable) Add(zone uint32, a netip.Addr) error {
	k, err := hostKey(zone, a)
	if err != nil {
		return err
	}
	err = t.m.Update(&k, &twTwFlowStats{}, ebpf.UpdateNoExist)
	if err != nil && !errors.Is(err, ebpf.ErrKeyExist) {
		return fmt.Errorf("bpfprog: block host %s zone %d: %w", a, zone, err)
	}
	return nil
}

// Delete unblocks a host.
func (t *HostTable) Delete(zone uint32, a netip.Addr) error {
	k, err := hostKey(zone, a)
	if err != nil {
		return err
	}
	if err := t.m.Delete(&k); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
		return fmt.Errorf("bpfprog: unblock host %s zone %d: %w", a, zone, err)
	}
	return nil
}

// Lookup returns the drop stats of a blocked host.
func (t *HostTable) Lookup(zone uint32, a netip.Addr) (FlowStats, bool, error) {
	k, err := hostKey(zone, a)
	if err != nil {
		return FlowStats{}, false, err
	}
	return lookupStats(t.m, &k, fmt.Sprintf("host %s zone %d", a, zone))
}

// MACSet is the set of monitored VM MACs that drives inspect-once. Add a
// VM's MAC only once both hooks of its tap are attached: a monitored MAC
// makes other hooks skip its frames.
type MACSet struct{ m *ebpf.Map }

// MonitoredMACs returns the set.
func (o *Objects) MonitoredMACs() *MACSet { return &MACSet{o.objs.MonitoredMacs} }

func macKey(mac net.HardwareAddr) (twTwMac, error) {
	var k twTwMac
	if len(mac) != 6 {
		return k, fmt.Errorf("bpfprog: MAC %q: want 6 bytes", mac)
	}
	copy(k.Addr[:], mac)
	return k, nil
}

// Add marks mac as a monitored VM NIC on the tap with the given ifindex.
func (s *MACSet) Add(mac net.HardwareAddr, tapIfindex int) error {
	k, err := macKey(mac)
	if err != nil {
		return err
	}
	if err := s.m.Put(&k, uint32(tapIfindex)); err != nil {
		return fmt.Errorf("bpfprog: add monitored MAC %s: %w", mac, err)
	}
	return nil
}

// Delete unmarks mac.
func (s *MACSet) Delete(mac net.HardwareAddr) error {
	k, err := macKey(mac)
	if err != nil {
		return err
	}
	if err := s.m.Delete(&k); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
		return fmt.Errorf("bpfprog: delete monitored MAC %s: %w", mac, err)
	}
	return nil
}

// Contains reports whether mac is monitored.
func (s *MACSet) Contains(mac net.HardwareAddr) (bool, error) {
	k, err := macKey(mac)
	if err != nil {
		return false, err
	}
	var v uint32
	err = s.m.Lookup(&k, &v)
	if errors.Is(err, ebpf.ErrKeyNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("bpfprog: look up MAC %s: %w", mac, err)
	}
	return true, nil
}

// SetZone sets the zone (e.g. the bridge's ifindex) that flows seen on an
// interface belong to, so tenants with overlapping addresses never share a
// flow. Interfaces without a zone are zone 0.
func (o *Objects) SetZone(ifindex int, zone uint32) error {
	if err := o.objs.Zones.Put(uint32(ifindex), zone); err != nil {
		return fmt.Errorf("bpfprog: set zone of ifindex %d: %w", ifindex, err)
	}
	return nil
}

// DeleteZone forgets an interface's zone.
func (o *Objects) DeleteZone(ifindex int) error {
	if err := o.objs.Zones.Delete(uint32(ifindex)); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
		return fmt.Errorf("bpfprog: delete zone of ifindex %d: %w", ifindex, err)
	}
	return nil
}

// lookupStats reads the packet and byte counts stored under key in m;
// what names the entry in an error.
func lookupStats(m *ebpf.Map, key any, what string) (FlowStats, bool, error) {
	var v twTwFlowStats
	err := m.Lookup(key, &v)
	if errors.Is(err, ebpf.ErrKeyNotExist) {
		return FlowStats{}, false, nil
	}
	if err != nil {
		return FlowStats{}, false, fmt.Errorf("bpfprog: look up %s: %w", what, err)
	}
	return FlowStats{v.Packets, v.Bytes}, true, nil
}
