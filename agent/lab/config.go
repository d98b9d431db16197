package lab

import (
	"crypto/sha256"
	"fmt"
	"net"
	"net/netip"
)

// DefaultTag names the lab that `tapwatch lab up` builds; tests use other tags so they can run
// beside a demo lab, and beside each other, without touching its interfaces.
const DefaultTag = "tw"

// DefaultXMLPath is where the libvirt test-driver file of the default lab is written; the agent
// discovers the lab's VMs through "test://" + this path.
const DefaultXMLPath = "/run/tapwatch-lab/libvirt.xml"

// SuspiciousDomain is the name the traffic generator resolves as a "C2 beacon"; the default rules
// alert on DNS queries for it (and any name below it).
const SuspiciousDomain = "beacon.evil-c2.example"

// Config describes one lab. Build it with NewConfig and change fields before calling Up if needed.
type Config struct {
	Tag     string       // prefix of every interface and namespace name, at most 3 characters
	Bridge  string       // the Linux bridge playing the hypervisor's vswitch; carries no address
	Subnet  netip.Prefix // the VMs' subnet, only ever configured inside lab namespaces
	XMLPath string       // libvirt test-driver file describing the VMs
	Inet    Node         // the namespace playing "the internet" (the VMs' router, DNS server)
	VMs     []VM
}

// Node is one end host of the lab: a network namespace with one interface on the bridge.
type Node struct {
	Name   string           // VM name as libvirt reports it ("web"), or "inet" for the uplink
	UUID   string           // libvirt domain UUID (deterministic per tag and name)
	Netns  string           // named network namespace (/run/netns/NAME)
	Port   string           // host-side interface on the bridge: the VM's tap, or the uplink
	PortMA net.HardwareAddr // MAC of the host-side end (libvirt gives taps fe:54:00:…)
	IfName string           // interface name inside the namespace
	MAC    net.HardwareAddr // MAC inside the namespace: the VM NIC's MAC libvirt knows
	IP     netip.Addr       // address inside the namespace
}

// VM is a lab VM: a Node whose Port is its tap.
type VM = Node

// Tap returns the VM's tap name (the host end of its veth).
func (n Node) Tap() string { return n.Port }

// NewConfig returns the standard lab topology with every name prefixed by tag: VMs web, db and
// attacker on 10.77.0.0/24, router/DNS 10.77.0.1 in the uplink namespace.
func NewConfig(tag string) (Config, error) {
	if tag == "" || len(tag) > 3 {
		return Config{}, fmt.Errorf("lab tag %q: must be 1-3 characters so interface names stay within 15 bytes", tag)
	}
	xmlPath := DefaultXMLPath
	if tag != DefaultTag {
		xmlPath = "/run/tapwatch-lab/" + tag + "/libvirt.xml"
	}
	node := func(name string, idx byte, port string, ip string) Node {
		return Node{
			Name:   name,
			UUID:   uuidFor(tag, name),
			Netns:  tag + "-" + name,
			Port:   port,
			PortMA: net.HardwareAddr{0xfe, 0x54, 0x00, 0x77, 0x00, idx},
			IfName: "eth0",
			MAC:    net.HardwareAddr{0x52, 0x54, 0x00, 0x77, 0x00, idx},
			IP:     netip.MustParseAddr(ip),
		}
	}
	return Config{
		Tag:     tag,
		Bridge:  tag + "br0",
		Subnet:  netip.MustParsePrefix("10.77.0.0/24"),
		XMLPath: xmlPath,
		Inet:    node("inet", 0x01, tag+"up0", "10.77.0.1"),
		VMs: []VM{
			node("web", 0x10, tag+"tap-web", "10.77.0.10"),
			node("db", 0x20, tag+"tap-db", "10.77.0.20"),
			node("attacker", 0x66, tag+"tap-attacker", "10.77.0.66"),
		},
	}, nil
}

// DefaultConfig is the lab `tapwatch lab up` builds.
func DefaultConfig() Config {
	c, err := NewConfig(DefaultTag)
	if err != nil {
		panic(err) // DefaultTag is a valid constant
	}
	return c
}

// VM returns the VM called name.
func (c Config) VM(name string) (VM, bool) {
	for _, v := range c.VMs {
		if v.Name == name {
			return v, true
		}
	}
	return VM{}, false
}

// nodes lists the uplink first, then the VMs: the order Up creates them in.
func (c Config) nodes() []Node {
	return append([]Node{c.Inet}, c.VMs...)
}

// validate catches names the kernel would reject only halfway through Up.
func (c Config) validate() error {
	names := []string{c.Bridge}
	for _, n := range c.nodes() {
		names = append(names, n.Port, n.IfName)
		if !c.Subnet.Contains(n.IP) {
			return fmt.Errorf("lab node %s: address %s is outside the lab subnet %s", n.Name, n.IP, c.Subnet)
		}
	}
	for _, name := range names {
		if name == "" || len(name) > 15 {
			return fmt.Errorf("lab interface name %q: must be 1-15 bytes; use a shorter tag", name)
		}
	}
	return nil
}

// uuidFor derives a stable RFC 4122 (version 5 style) UUID so a lab rebuilt later is the same VM
// to the agent and to anything that recorded its UUID.
func uuidFor(tag, name string) string {
	h := sha256.Sum256([]byte("tapwatch-lab/" + tag + "/" + name))
	h[6] = (h[6] & 0x0f) | 0x50
	h[8] = (h[8] & 0x3f) | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}
