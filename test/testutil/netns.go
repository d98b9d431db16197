package testutil

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// Netns is a named network namespace a test created, with a netlink handle
// into it. Named (under /run/netns) so that a re-executed test binary can
// enter it too.
type Netns struct {
	Name   string
	Handle netns.NsHandle
	NL     *netlink.Handle
}

// NewNetns creates a namespace with loopback up and IPv6 autoconfiguration
// off (so no interface chatters on its own), removed at cleanup.
func NewNetns(tb testing.TB) *Netns {
	tb.Helper()
	RequireRoot(tb)
	name := fmt.Sprintf("tw-%d-%08x", os.Getpid(), rand.Uint32())
	var h netns.NsHandle
	err := onFreshThread(func() error {
		var err error
		h, err = netns.NewNamed(name)
		if err != nil {
			return err
		}
		for _, f := range []string{"/proc/sys/net/ipv6/conf/default/disable_ipv6", "/proc/sys/net/ipv6/conf/all/disable_ipv6"} {
			if err := os.WriteFile(f, []byte("1"), 0o644); err != nil && !os.IsNotExist(err) {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("create netns %s: %v", name, err)
	}
	n, err := OpenNetns(name)
	h.Close()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		n.Close()
		netns.DeleteNamed(name)
	})
	lo, err := n.NL.LinkByName("lo")
	if err == nil {
		err = n.NL.LinkSetUp(lo)
	}
	if err != nil {
		tb.Fatalf("netns %s: set lo up: %v", name, err)
	}
	return n
}

// OpenNetns opens an existing named namespace (e.g. in a re-executed child).
func OpenNetns(name string) (*Netns, error) {
	h, err := netns.GetFromName(name)
	if err != nil {
		return nil, fmt.Errorf("open netns %s: %w", name, err)
	}
	nl, err := netlink.NewHandleAt(h)
	if err != nil {
		h.Close()
		return nil, fmt.Errorf("netlink handle in netns %s: %w", name, err)
	}
	return &Netns{Name: name, Handle: h, NL: nl}, nil
}

// Close releases the handles (not the namespace).
func (n *Netns) Close() {
	n.NL.Close()
	n.Handle.Close()
}

// Do runs fn on an OS thread inside the namespace. The thread is discarded
// afterwards, so no other goroutine ever runs in the wrong namespace.
func (n *Netns) Do(fn func() error) error {
	h := n.Handle
	return onFreshThread(func() error {
		if err := netns.Set(h); err != nil {
			return fmt.Errorf("enter netns %s: %w", n.Name, err)
		}
		return fn()
	})
}

// Go starts fn on an OS thread locked inside the namespace (for senders and
// receivers that run alongside the test) and returns its error channel.
func (n *Netns) Go(fn func() error) <-chan error {
	errc := make(chan error, 1)
	h := n.Handle
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with us
		if err := netns.Set(h); err != nil {
			errc <- err
			return
		}
		errc <- fn()
	}()
	return errc
}

func onFreshThread(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with us
		errc <- fn()
	}()
	return <-errc
}

// AddBridge creates an address-less bridge, up (STP is off by default). Equivalent: `ip link add NAME type bridge; ip link set
// NAME up`.
func (n *Netns) AddBridge(tb testing.TB, name string) *netlink.Bridge {
	tb.Helper()
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: name}}
	if err := n.NL.LinkAdd(br); err != nil {
		tb.Fatalf("netns %s: add bridge %s: %v", n.Name, name, err)
	}
	l := n.MustLink(tb, name)
	if err := n.NL.LinkSetUp(l); err != nil {
		tb.Fatalf("set %s up: %v", name, err)
	}
	return l.(*netlink.Bridge)
}

// MustLink looks a link up by name.
func (n *Netns) MustLink(tb testing.TB, name string) netlink.Link {
	tb.Helper()
	l, err := n.NL.LinkByName(name)
	if err != nil {
		tb.Fatalf("netns %s: link %s: %v", n.Name, name, err)
	}
	return l
}

// SetMaster enslaves a link to a bridge (0: release it) and sets it up.
// Equivalent: `ip link set NAME master BR up`.
func (n *Netns) SetMaster(tb testing.TB, name string, master int) {
	tb.Helper()
	l := n.MustLink(tb, name)
	var err error
	if master == 0 {
		err = n.NL.LinkSetNoMaster(l)
	} else {
		err = n.NL.LinkSetMasterByIndex(l, master)
	}
	if err == nil {
		err = n.NL.LinkSetUp(l)
	}
	if err != nil {
		tb.Fatalf("netns %s: set %s master %d up: %v", n.Name, name, master, err)
	}
}

// AddVeth creates a veth pair, name here and peer in other (which may be
// n), both up. Returns the ifindexes in their namespaces.
// Equivalent: `ip link add NAME type veth peer PEER netns OTHER`.
func (n *Netns) AddVeth(tb testing.TB, name string, other *Netns, peer string) (int, int) {
	tb.Helper()
	v := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: name}, PeerName: peer,
		PeerNamespace: netlink.NsFd(other.Handle)}
	if err := n.NL.LinkAdd(v); err != nil {
		tb.Fatalf("add veth %s/%s: %v", name, peer, err)
	}
	a, b := n.MustLink(tb, name), other.MustLink(tb, peer)
	if err := n.NL.LinkSetUp(a); err != nil {
		tb.Fatal(err)
	}
	if err := other.NL.LinkSetUp(b); err != nil {
		tb.Fatal(err)
	}
	return a.Attrs().Index, b.Attrs().Index
}

// WaitOperUp waits until a link reports carrier (veth and bridges take a
// moment).
func (n *Netns) WaitOperUp(tb testing.TB, name string) {
	tb.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		l := n.MustLink(tb, name)
		if s := l.Attrs().OperState; s == netlink.OperUp || s == netlink.OperUnknown {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	tb.Fatalf("netns %s: %s not up after 5s", n.Name, name)
}
