package lab

import (
	"context"
	"github.com/tapwatch/tapwatch/test/testutil"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
)

// testConfig uses its own tag so the test never touches a demo lab that may be up.
func testConfig(t *testing.T, tag string) Config {
	t.Helper()
	cfg, err := NewConfig(tag)
	if err != nil {
		t.Fatal(err)
	}
	cfg.XMLPath = t.TempDir() + "/libvirt.xml"
	return cfg
}

func TestUpBuildsTopologyAndDownRemovesIt(t *testing.T) {
	testutil.RequireRoot(t)
	cfg := testConfig(t, "tl1")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	l, err := Up(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = Down(cfg) })

	br, err := netlink.LinkByName(cfg.Bridge)
	if err != nil {
		t.Fatalf("bridge: %v", err)
	}
	if br.Type() != "bridge" {
		t.Fatalf("%s is a %s, want bridge", cfg.Bridge, br.Type())
	}
	if addrs, _ := netlink.AddrList(br, netlink.FAMILY_ALL); len(addrs) != 0 {
		t.Fatalf("bridge carries addresses %v; the root namespace must have none in the lab", addrs)
	}
	for _, n := range cfg.nodes() {
		port, err := netlink.LinkByName(n.Port)
		if err != nil {
			t.Fatalf("port %s: %v", n.Port, err)
		}
		if port.Attrs().MasterIndex != br.Attrs().Index {
			t.Errorf("%s master index %d, want %s (%d)", n.Port, port.Attrs().MasterIndex, cfg.Bridge, br.Attrs().Index)
		}
		if port.Attrs().HardwareAddr.String() != n.PortMA.String() {
			t.Errorf("%s mac %s, want %s", n.Port, port.Attrs().HardwareAddr, n.PortMA)
		}
		if addrs, _ := netlink.AddrList(port, netlink.FAMILY_ALL); len(addrs) != 0 {
			t.Errorf("%s carries addresses %v in the root namespace", n.Port, addrs)
		}
		h, err := l.Handle(n.Name)
		if err != nil {
			t.Fatal(err)
		}
		nic, err := h.LinkByName(n.IfName)
		if err != nil {
			t.Fatalf("%s in %s: %v", n.IfName, n.Netns, err)
		}
		if nic.Attrs().HardwareAddr.String() != n.MAC.String() {
			t.Errorf("%s in %s mac %s, want %s", n.IfName, n.Netns, nic.Attrs().HardwareAddr, n.MAC)
		}
		h.Close()
	}
	web, _ := cfg.VM("web")
	db, _ := cfg.VM("db")
	if err := l.Ping(ctx, web.Name, db.IP, 3*time.Second); err != nil {
		t.Fatalf("web cannot reach db inside the lab: %v", err)
	}
	if err := l.Ping(ctx, db.Name, cfg.Inet.IP, 3*time.Second); err != nil {
		t.Fatalf("db cannot reach its router: %v", err)
	}
	if missing := Inspect(cfg).Missing(); len(missing) != 0 {
		t.Fatalf("Inspect after Up reports missing %v", missing)
	}

	if err := Down(cfg); err != nil {
		t.Fatal(err)
	}
	st := Inspect(cfg)
	for _, p := range st.Parts {
		if p.Present {
			t.Errorf("after Down, %s %s still exists", p.Kind, p.Name)
		}
	}
	if _, err := netlink.LinkByName(cfg.Bridge); err == nil {
		t.Errorf("bridge %s survived Down", cfg.Bridge)
	}
	if err := Down(cfg); err != nil {
		t.Fatalf("second Down is not idempotent: %v", err)
	}
}

func TestDownCleansPartialUp(t *testing.T) {
	testutil.RequireRoot(t)
	cfg := testConfig(t, "tl2")
	// A partial lab: the bridge and one namespace exist, nothing else.
	if err := netlink.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: cfg.Bridge}}); err != nil {
		t.Fatal(err)
	}
	if err := newNamedNetns(cfg.VMs[0].Netns); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = Down(cfg) })
	if err := Down(cfg); err != nil {
		t.Fatal(err)
	}
	for _, p := range Inspect(cfg).Parts {
		if p.Present {
			t.Errorf("after Down of a partial lab, %s %s still exists", p.Kind, p.Name)
		}
	}
}
