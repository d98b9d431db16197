package lab

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// Lab is a lab that is up: its topology and the kernel objects that back it.
type Lab struct {
	Config
}

// URI is the libvirt URI under which the agent's inventory finds the lab's VMs.
func (l *Lab) URI() string { return "test://" + l.XMLPath }

// Up builds the lab described by cfg. Leftovers of an earlier or partial lab with the same names
// are removed first, so Up is safe to repeat. On failure everything Up created is removed again.
func Up(ctx context.Context, cfg Config) (*Lab, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if os.Geteuid() != 0 {
		return nil, errors.New("lab up needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN to create network namespaces): run it with sudo")
	}
	if err := Down(cfg); err != nil {
		return nil, fmt.Errorf("remove leftovers of an earlier lab: %w", err)
	}
	if err := up(ctx, cfg); err != nil {
		return nil, errors.Join(err, Down(cfg))
	}
	return &Lab{Config: cfg}, nil
}

func up(ctx context.Context, cfg Config) error {
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: cfg.Bridge}}
	if err := netlink.LinkAdd(br); err != nil {
		return fmt.Errorf("create bridge %s: %w", cfg.Bridge, err)
	}
	// While a link is down it sends nothing, so IPv6 is turned off before it ever comes up.
	if err := disableIPv6(cfg.Bridge); err != nil {
		return err
	}
	if err := netlink.LinkSetUp(br); err != nil {
		return fmt.Errorf("set bridge %s up: %w", cfg.Bridge, err)
	}
	for _, n := range cfg.nodes() {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := addNode(cfg, br, n); err != nil {
			return err
		}
	}
	if err := writeEtcNetns(cfg); err != nil {
		return err
	}
	return WriteLibvirtXML(cfg)
}

// writeEtcNetns gives each namespace its own hosts and resolv.conf, which `ip netns exec`
// bind-mounts over /etc: the VMs resolve through the lab's router, and reverse lookups of lab
// addresses (python's http.server does one at start) answer at once instead of waiting for the
// host's resolver, which the lab cannot reach.
func writeEtcNetns(cfg Config) error {
	var hosts strings.Builder
	hosts.WriteString("127.0.0.1\tlocalhost\n")
	for _, n := range cfg.nodes() {
		fmt.Fprintf(&hosts, "%s\t%s.lab.example %s\n", n.IP, n.Name, n.Name)
	}
	for _, n := range cfg.nodes() {
		dir := filepath.Join("/etc/netns", n.Netns)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("create %s: %w", dir, err)
		}
		files := map[string]string{
			"hosts":       hosts.String(),
			"resolv.conf": fmt.Sprintf("nameserver %s\noptions timeout:1 attempts:1\n", cfg.Inet.IP),
		}
		for name, content := range files {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
				return fmt.Errorf("write %s/%s: %w", dir, name, err)
			}
		}
	}
	return nil
}

func addNode(cfg Config, br *netlink.Bridge, n Node) error {
	if err := newNamedNetns(n.Netns); err != nil {
		return err
	}
	ns, err := netns.GetFromName(n.Netns)
	if err != nil {
		return fmt.Errorf("open network namespace %s: %w", n.Netns, err)
	}
	defer ns.Close()
	veth := &netlink.Veth{
		LinkAttrs: netlink.LinkAttrs{
			Name:         n.Port,
			HardwareAddr: n.PortMA,
			MasterIndex:  br.Index,
		},
		PeerName:         n.IfName,
		PeerHardwareAddr: n.MAC,
		PeerNamespace:    netlink.NsFd(int(ns)),
	}
	if err := netlink.LinkAdd(veth); err != nil {
		return fmt.Errorf("create veth %s (%s's NIC) on %s: %w", n.Port, n.Name, cfg.Bridge, err)
	}
	if err := disableIPv6(n.Port); err != nil {
		return err
	}
	if err := netlink.LinkSetUp(veth); err != nil {
		return fmt.Errorf("set %s up: %w", n.Port, err)
	}

	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return fmt.Errorf("open netlink in namespace %s: %w", n.Netns, err)
	}
	defer h.Close()
	lo, err := h.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("find lo in %s: %w", n.Netns, err)
	}
	if err := h.LinkSetUp(lo); err != nil {
		return fmt.Errorf("set lo up in %s: %w", n.Netns, err)
	}
	nic, err := h.LinkByName(n.IfName)
	if err != nil {
		return fmt.Errorf("find %s in %s: %w", n.IfName, n.Netns, err)
	}
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: n.IP.AsSlice(), Mask: net.CIDRMask(cfg.Subnet.Bits(), 32)}}
	if err := h.AddrAdd(nic, addr); err != nil {
		return fmt.Errorf("add %s to %s in %s: %w", addr, n.IfName, n.Netns, err)
	}
	if err := h.LinkSetUp(nic); err != nil {
		return fmt.Errorf("set %s up in %s: %w", n.IfName, n.Netns, err)
	}
	if n.Name == cfg.Inet.Name {
		// The "internet" answers for the subnet's router address but has no route out: the
		// lab's traffic ends here.
		return nil
	}
	gw := &netlink.Route{LinkIndex: nic.Attrs().Index, Gw: cfg.Inet.IP.AsSlice()}
	if err := h.RouteAdd(gw); err != nil {
		return fmt.Errorf("add default route via %s in %s: %w", cfg.Inet.IP, n.Netns, err)
	}
	return nil
}

func disableIPv6(ifname string) error {
	return writeSysctl("net/ipv6/conf/"+ifname+"/disable_ipv6", "1")
}

// Down removes every interface, namespace, process and file a lab with cfg's names may have left,
// whether Up finished or not. Removing what is already gone is not an error.
func Down(cfg Config) error {
	var errs error
	for _, n := range cfg.nodes() {
		if namedNetnsExists(n.Netns) {
			// A process left in a namespace would keep it (and its veth peer) alive after the
			// name is gone.
			errs = errors.Join(errs, killNetnsProcesses(n.Netns))
		}
		errs = errors.Join(errs, deleteLink(n.Port))
		if err := os.RemoveAll(filepath.Join("/etc/netns", n.Netns)); err != nil {
			errs = errors.Join(errs, fmt.Errorf("remove /etc/netns/%s: %w", n.Netns, err))
		}
		if namedNetnsExists(n.Netns) {
			if err := netns.DeleteNamed(n.Netns); err != nil {
				errs = errors.Join(errs, fmt.Errorf("delete network namespace %s: %w", n.Netns, err))
			}
		}
	}
	errs = errors.Join(errs, deleteLink(cfg.Bridge))
	_ = os.Remove("/etc/netns") // only when empty: other tools keep files there too
	if err := os.Remove(cfg.XMLPath); err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = errors.Join(errs, fmt.Errorf("remove %s: %w", cfg.XMLPath, err))
	}
	// The directory is the lab's own; a non-empty one belongs to someone else and stays.
	_ = os.Remove(filepath.Dir(cfg.XMLPath))
	return errs
}

func deleteLink(name string) error {
	link, err := netlink.LinkByName(name)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) {
			return nil
		}
		return fmt.Errorf("look up %s: %w", name, err)
	}
	if err := netlink.LinkDel(link); err != nil {
		return fmt.Errorf("delete %s: %w", name, err)
	}
	return nil
}

// killNetnsProcesses ends the processes whose network namespace is the lab's namespace name
// (what `ip netns pids` lists): the lab's clients and servers, started by Traffic.
func killNetnsProcesses(name string) error {
	var want syscall.Stat_t
	if err := syscall.Stat(filepath.Join("/run/netns", name), &want); err != nil {
		return nil
	}
	pids := netnsPids(want)
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGTERM)
	}
	deadline := time.Now().Add(2 * time.Second)
	for len(pids) > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		pids = netnsPids(want)
	}
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	return nil
}

func netnsPids(want syscall.Stat_t) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	self := os.Getpid()
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		var st syscall.Stat_t
		if syscall.Stat(filepath.Join("/proc", e.Name(), "ns/net"), &st) != nil {
			continue
		}
		if st.Dev == want.Dev && st.Ino == want.Ino {
			pids = append(pids, pid)
		}
	}
	return pids
}

// Open returns the lab described by cfg if it is up, or an error naming what is missing.
func Open(cfg Config) (*Lab, error) {
	st := Inspect(cfg)
	if missing := st.Missing(); len(missing) > 0 {
		return nil, fmt.Errorf("lab %s is not (fully) up, missing %s: run `tapwatch lab up`", cfg.Tag, strings.Join(missing, ", "))
	}
	return &Lab{Config: cfg}, nil
}

// Status says which of a lab's parts exist.
type Status struct {
	Parts []Part
}

// Part is one kernel object or file of the lab.
type Part struct {
	Kind    string // "bridge", "port", "netns", "file"
	Name    string
	Present bool
	Detail  string // e.g. the port's master, or why it is wrong
}

// Missing lists the parts that are absent or wrong.
func (s Status) Missing() []string {
	var out []string
	for _, p := range s.Parts {
		if !p.Present {
			out = append(out, p.Kind+" "+p.Name)
		}
	}
	return out
}

// Inspect looks at what of the lab exists now; it changes nothing.
func Inspect(cfg Config) Status {
	var st Status
	brIndex := -1
	if br, err := netlink.LinkByName(cfg.Bridge); err == nil {
		brIndex = br.Attrs().Index
		st.Parts = append(st.Parts, Part{Kind: "bridge", Name: cfg.Bridge, Present: br.Type() == "bridge", Detail: br.Attrs().OperState.String()})
	} else {
		st.Parts = append(st.Parts, Part{Kind: "bridge", Name: cfg.Bridge})
	}
	for _, n := range cfg.nodes() {
		p := Part{Kind: "port", Name: n.Port}
		if link, err := netlink.LinkByName(n.Port); err == nil {
			p.Present = link.Attrs().MasterIndex == brIndex && brIndex > 0
			p.Detail = fmt.Sprintf("%s mac %s", n.Name, link.Attrs().HardwareAddr)
			if !p.Present {
				p.Detail = "not a port of " + cfg.Bridge
			}
		}
		st.Parts = append(st.Parts, p)
		st.Parts = append(st.Parts, Part{Kind: "netns", Name: n.Netns, Present: namedNetnsExists(n.Netns), Detail: n.IP.String()})
	}
	for _, n := range cfg.nodes() {
		p := filepath.Join("/etc/netns", n.Netns)
		_, err := os.Stat(p)
		st.Parts = append(st.Parts, Part{Kind: "file", Name: p, Present: err == nil})
	}
	_, err := os.Stat(cfg.XMLPath)
	st.Parts = append(st.Parts, Part{Kind: "file", Name: cfg.XMLPath, Present: err == nil})
	return st
}

// Handle opens a netlink handle inside node's namespace; the caller closes it.
func (l *Lab) Handle(node string) (*netlink.Handle, error) {
	n, ok := l.node(node)
	if !ok {
		return nil, fmt.Errorf("lab has no node %q: use one of web, db, attacker, inet", node)
	}
	ns, err := netns.GetFromName(n.Netns)
	if err != nil {
		return nil, fmt.Errorf("open network namespace %s: %w", n.Netns, err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return nil, fmt.Errorf("open netlink in %s: %w", n.Netns, err)
	}
	return h, nil
}

// Do runs fn with the calling goroutine's thread inside node's namespace.
func (l *Lab) Do(node string, fn func() error) error {
	n, ok := l.node(node)
	if !ok {
		return fmt.Errorf("lab has no node %q: use one of web, db, attacker, inet", node)
	}
	return inNetns(n.Netns, fn)
}

func (l *Lab) node(name string) (Node, bool) {
	if name == l.Inet.Name {
		return l.Inet, true
	}
	return l.VM(name)
}
