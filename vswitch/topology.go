package vswitch

import (
	"fmt"
	"net"

	"github.com/vishvananda/netlink"
)

// PortKind says what sits behind a bridge port.
type PortKind int

const (
	// KindOther is a link that is neither a VM tap nor an uplink (a TUN
	// device, a bridge itself, loopback).
	KindOther PortKind = iota
	// KindTap is a tun/tap device in TAP mode: a VM NIC.
	KindTap
	// KindUplink carries traffic between the bridge and the rest of the
	// network: a physical NIC, bond, VLAN, VXLAN, or veth towards another
	// namespace.
	KindUplink
)

func (k PortKind) String() string {
	switch k {
	case KindTap:
		return "tap"
	case KindUplink:
		return "uplink"
	}
	return "other"
}

// Port is one link, as far as tapwatch cares.
type Port struct {
	Name     string
	Index    int
	MAC      net.HardwareAddr
	Kind     PortKind
	LinkType string // netlink kind: tuntap, veth, bond, vlan, device, ...
	Master   int    // ifindex of the bridge (0: none)
	Up       bool   // administratively up and with carrier
}

// Bridge is a Linux bridge and its ports.
type Bridge struct {
	Name  string
	Index int
	Ports []Port
}

// Classify tells taps from uplinks.
func Classify(l netlink.Link) PortKind {
	switch t := l.(type) {
	case *netlink.Tuntap:
		if t.Mode == netlink.TUNTAP_MODE_TAP {
			return KindTap
		}
		return KindOther
	case *netlink.Bridge:
		return KindOther
	}
	switch l.Type() {
	case "veth", "bond", "vlan", "device", "vxlan", "geneve", "macvlan", "ipvlan", "team":
		if l.Attrs().Flags&net.FlagLoopback != 0 {
			return KindOther
		}
		return KindUplink
	}
	return KindOther
}

// PortOf describes a link.
func PortOf(l netlink.Link) Port {
	a := l.Attrs()
	return Port{
		Name:     a.Name,
		Index:    a.Index,
		MAC:      a.HardwareAddr,
		Kind:     Classify(l),
		LinkType: l.Type(),
		Master:   a.MasterIndex,
		Up:       a.Flags&net.FlagUp != 0 && a.OperState != netlink.OperDown,
	}
}

// ListBridges returns every bridge with its ports.
// Equivalent: `ip -d link show type bridge` and `ip link show master BR`.
func ListBridges(h *netlink.Handle) ([]Bridge, error) {
	links, err := h.LinkList()
	if err != nil {
		return nil, fmt.Errorf("list links (ip link show): %w: need CAP_NET_ADMIN in the namespace", err)
	}
	var out []Bridge
	byIndex := map[int]int{}
	for _, l := range links {
		if _, ok := l.(*netlink.Bridge); ok {
			byIndex[l.Attrs().Index] = len(out)
			out = append(out, Bridge{Name: l.Attrs().Name, Index: l.Attrs().Index})
		}
	}
	for _, l := range links {
		if i, ok := byIndex[l.Attrs().MasterIndex]; ok {
			out[i].Ports = append(out[i].Ports, PortOf(l))
		}
	}
	return out, nil
}

// ListTaps returns every TAP device, on a bridge or not (libvirt creates a
// tap before it enslaves it).
// Equivalent: `ip -d link show type tun`.
func ListTaps(h *netlink.Handle) ([]Port, error) {
	links, err := h.LinkList()
	if err != nil {
		return nil, fmt.Errorf("list links (ip link show): %w: need CAP_NET_ADMIN in the namespace", err)
	}
	var out []Port
	for _, l := range links {
		if Classify(l) == KindTap {
			out = append(out, PortOf(l))
		}
	}
	return out, nil
}
