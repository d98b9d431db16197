package inventory

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"libvirt.org/go/libvirtxml"
)

// MetadataNS is the XML namespace of tapwatch's element in a domain's <metadata>.
const MetadataNS = "https://tapwatch.dev/xmlns/1"

// State is a domain's run state, named as virsh names them.
type State string

const (
	StateNoState     State = "nostate"
	StateRunning     State = "running"
	StateBlocked     State = "blocked"
	StatePaused      State = "paused"
	StateShutdown    State = "shutdown" // shutting down
	StateShutoff     State = "shutoff"
	StateCrashed     State = "crashed"
	StatePMSuspended State = "pmsuspended"
)

// Active reports whether the VM has its taps on this host (running or paused, incl. mid-migration).
func (s State) Active() bool {
	switch s {
	case StateRunning, StateBlocked, StatePaused, StateShutdown, StatePMSuspended:
		return true
	}
	return false
}

// VM is one libvirt domain as tapwatch sees it.
type VM struct {
	UUID   string
	Name   string
	State  State
	NICs   []NIC
	Policy Policy
}

// NIC is one <interface> of a domain.
type NIC struct {
	MAC    net.HardwareAddr
	Target string // the tap on this host (<target dev>); empty while the VM is not running
	Bridge string // the bridge the tap is a port of, when libvirt says so
	Type   string // interface type: bridge, network, direct, ethernet, user, ...
	Model  string // virtio, e1000, ...
	Alias  string // libvirt's device alias (net0), which device events name
	VLANs  []uint
}

// Policy is the per-VM policy from tapwatch's <metadata> element; empty fields mean "use the
// config file's default".
type Policy struct {
	Profile string
	IPS     string // on | off
	Record  string // off | alerts | all
}

// ParseDomainXML reads a domain's XML (as GetXMLDesc returns it, or as a libvirt hook receives it
// on stdin) into a VM. State is left empty: the XML does not carry it.
func ParseDomainXML(s string) (VM, error) {
	var dom libvirtxml.Domain
	if err := dom.Unmarshal(s); err != nil {
		return VM{}, fmt.Errorf("parse domain XML: %w", err)
	}
	vm := VM{UUID: dom.UUID, Name: dom.Name}
	if dom.Devices != nil {
		for _, ifc := range dom.Devices.Interfaces {
			nic, err := nicFromXML(ifc)
			if err != nil {
				return VM{}, fmt.Errorf("domain %s: %w", dom.Name, err)
			}
			vm.NICs = append(vm.NICs, nic)
		}
	}
	if dom.Metadata != nil {
		p, err := parsePolicy(dom.Metadata.XML)
		if err != nil {
			return VM{}, fmt.Errorf("domain %s: tapwatch <metadata>: %w (fix it with `virsh metadata %s %s`)", dom.Name, err, dom.Name, MetadataNS)
		}
		vm.Policy = p
	}
	return vm, nil
}

func nicFromXML(ifc libvirtxml.DomainInterface) (NIC, error) {
	var nic NIC
	if ifc.MAC != nil && ifc.MAC.Address != "" {
		mac, err := net.ParseMAC(ifc.MAC.Address)
		if err != nil {
			return NIC{}, fmt.Errorf("interface MAC %q: %w", ifc.MAC.Address, err)
		}
		nic.MAC = mac
	}
	if ifc.Target != nil {
		nic.Target = ifc.Target.Dev
	}
	if ifc.Model != nil {
		nic.Model = ifc.Model.Type
	}
	if ifc.Alias != nil {
		nic.Alias = ifc.Alias.Name
	}
	if ifc.VLan != nil {
		for _, t := range ifc.VLan.Tags {
			nic.VLANs = append(nic.VLANs, t.ID)
		}
	}
	if src := ifc.Source; src != nil {
		switch {
		case src.Bridge != nil:
			nic.Type, nic.Bridge = "bridge", src.Bridge.Bridge
		case src.Network != nil:
			nic.Type, nic.Bridge = "network", src.Network.Bridge
		case src.Direct != nil:
			nic.Type = "direct"
		case src.Ethernet != nil:
			nic.Type = "ethernet"
		case src.User != nil:
			nic.Type = "user"
		case src.VHostUser != nil:
			nic.Type = "vhostuser"
		default:
			nic.Type = "other"
		}
	}
	return nic, nil
}

// parsePolicy finds tapwatch's element among the <metadata> children (other tools keep theirs
// there too) and ignores the rest.
func parsePolicy(inner string) (Policy, error) {
	dec := xml.NewDecoder(strings.NewReader("<metadata>" + inner + "</metadata>"))
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return Policy{}, nil
		}
		if err != nil {
			return Policy{}, err
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Space != MetadataNS || se.Name.Local != "tapwatch" {
			continue
		}
		var m struct {
			Profile string `xml:"https://tapwatch.dev/xmlns/1 profile"`
			IPS     string `xml:"https://tapwatch.dev/xmlns/1 ips"`
			Record  string `xml:"https://tapwatch.dev/xmlns/1 record"`
		}
		if err := dec.DecodeElement(&m, &se); err != nil {
			return Policy{}, err
		}
		p := Policy{Profile: strings.TrimSpace(m.Profile), IPS: strings.TrimSpace(m.IPS), Record: strings.TrimSpace(m.Record)}
		return p, p.validate()
	}
}

func (p Policy) validate() error {
	switch p.IPS {
	case "", "on", "off":
	default:
		return fmt.Errorf("ips %q: want on or off", p.IPS)
	}
	switch p.Record {
	case "", "off", "alerts", "all":
	default:
		return fmt.Errorf("record %q: want off, alerts or all", p.Record)
	}
	return nil
}

// NIC returns the VM's NIC with the given MAC.
func (vm VM) NIC(mac net.HardwareAddr) (NIC, bool) {
	for _, n := range vm.NICs {
		if bytes.Equal(n.MAC, mac) {
			return n, true
		}
	}
	return NIC{}, false
}

// Clone returns a deep copy, so a VM handed to another goroutine shares no slices.
func (vm VM) Clone() VM {
	out := vm
	out.NICs = make([]NIC, len(vm.NICs))
	for i, n := range vm.NICs {
		n.MAC = append(net.HardwareAddr(nil), n.MAC...)
		n.VLANs = append([]uint(nil), n.VLANs...)
		out.NICs[i] = n
	}
	return out
}
