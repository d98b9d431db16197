package e2e

import (
	"bytes"
	"context"
	"github.com/tapwatch/tapwatch/test/testutil"
	"strings"
	"testing"
	"time"

	"github.com/tapwatch/tapwatch/agent/inventory"
	"github.com/tapwatch/tapwatch/agent/lab"
)

// upLab builds a lab with its own tag, so it coexists with a demo lab and other packages' tests.
func upLab(t *testing.T, tag string) *lab.Lab {
	t.Helper()
	testutil.RequireRoot(t)
	cfg, err := lab.NewConfig(tag)
	if err != nil {
		t.Fatal(err)
	}
	cfg.XMLPath = t.TempDir() + "/libvirt.xml"
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	l, err := lab.Up(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := lab.Down(cfg); err != nil {
			t.Errorf("lab down: %v", err)
		}
	})
	return l
}

// TestLabVMsAreDiscoveredThroughLibvirt checks the contract between the lab and the agent: the
// inventory, reading the lab's libvirt test-driver file, maps each lab tap and MAC to its VM.
func TestLabVMsAreDiscoveredThroughLibvirt(t *testing.T) {
	l := upLab(t, "te1")
	src, err := inventory.NewSource(inventory.SourceConfig{URI: l.URI()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out := make(chan inventory.Update, 8)
	go func() { _ = src.Run(ctx, out) }()
	var snap *inventory.Snapshot
	for snap == nil {
		select {
		case u := <-out:
			switch u := u.(type) {
			case *inventory.Snapshot:
				snap = u
			case *inventory.ConnState:
				if !u.Connected {
					t.Fatalf("inventory cannot open %s: %v", l.URI(), u.Err)
				}
			}
		case <-ctx.Done():
			t.Fatal("no inventory snapshot of the lab within 10s")
		}
	}
	if len(snap.Errors) != 0 {
		t.Fatalf("unreadable lab domains: %v", snap.Errors)
	}
	idx := inventory.NewIndex()
	idx.Apply(snap)
	for _, vm := range l.VMs {
		r, ok := idx.ByTap(vm.Tap())
		if !ok {
			t.Fatalf("inventory does not know tap %s", vm.Tap())
		}
		if r.VM.Name != vm.Name || r.VM.UUID != vm.UUID || r.NIC.MAC.String() != vm.MAC.String() ||
			r.NIC.Bridge != l.Bridge || r.VM.State != inventory.StateRunning {
			t.Errorf("tap %s: inventory says %s %s mac %s bridge %s state %s; lab built %s %s mac %s bridge %s",
				vm.Tap(), r.VM.Name, r.VM.UUID, r.NIC.MAC, r.NIC.Bridge, r.VM.State, vm.Name, vm.UUID, vm.MAC, l.Bridge)
		}
		if r.VM.Policy.Profile != "lab" {
			t.Errorf("%s policy %+v, want profile lab from the lab's <metadata>", vm.Name, r.VM.Policy)
		}
	}
	if r, ok := idx.ByMAC(l.VMs[2].MAC); !ok || r.VM.Name != "attacker" {
		t.Errorf("ByMAC(attacker's MAC) = %+v %v", r, ok)
	}
}

// TestLabTrafficRunsEveryStep drives the full demo traffic through a lab and checks each step
// reached its peer: the servers answered, the DNS name resolved, the scan found db's port, and the
// attacker's MAC is its own again afterwards.
func TestLabTrafficRunsEveryStep(t *testing.T) {
	l := upLab(t, "te2")
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
	defer cancel()
	var out bytes.Buffer
	if err := lab.Traffic(ctx, l, &out); err != nil {
		t.Fatalf("traffic: %v\n%s", err, out.String())
	}
	text := out.String()
	for _, want := range []string{
		"-> HTTP 200",
		"/../../etc/passwd",
		"() { :; }; /bin/cat /etc/passwd",
		"resolved " + lab.SuspiciousDomain,
		"resolved web.lab.example -> [10.77.0.10]",
		"open [5432], 99 closed",
		"TLS 1.2 with SNI " + lab.WebTLSName + ", certificate for [" + lab.WebTLSName + "]: HTTP/1.1 200 OK",
		`server says "` + lab.SSHServerBanner + `"`,
		"3 replies",
		"MAC restored",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("traffic output lacks %q:\n%s", want, text)
		}
	}
	h, err := l.Handle("attacker")
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	attacker, _ := l.VM("attacker")
	nic, err := h.LinkByName(attacker.IfName)
	if err != nil {
		t.Fatal(err)
	}
	if nic.Attrs().HardwareAddr.String() != attacker.MAC.String() {
		t.Errorf("attacker's MAC after traffic = %s, want it restored to %s", nic.Attrs().HardwareAddr, attacker.MAC)
	}
	db, _ := l.VM("db")
	web, _ := l.VM("web")
	if err := l.Ping(ctx, web.Name, db.IP, 3*time.Second); err != nil {
		t.Errorf("after the ARP spoof, web cannot reach db: the lab was not restored: %v", err)
	}
}

func TestLabCLI(t *testing.T) {
	testutil.RequireRoot(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	xml := t.TempDir() + "/libvirt.xml"
	var stdout, stderr bytes.Buffer
	run := func(args ...string) int {
		stdout.Reset()
		stderr.Reset()
		return lab.Main(ctx, append([]string{"-tag", "te3", "-xml", xml}, args...), &stdout, &stderr)
	}
	t.Cleanup(func() { run("down") })
	if rc := run("status"); rc != 1 {
		t.Fatalf("status before up: rc %d, want 1 (not up)\n%s%s", rc, stdout.String(), stderr.String())
	}
	if rc := run("up"); rc != 0 {
		t.Fatalf("up: rc %d\n%s", rc, stderr.String())
	}
	if !strings.Contains(stdout.String(), "te3tap-attacker") || !strings.Contains(stdout.String(), "test://"+xml) {
		t.Errorf("up output lacks the VM table or libvirt URI:\n%s", stdout.String())
	}
	if rc := run("status"); rc != 0 {
		t.Fatalf("status after up: rc %d\n%s", rc, stdout.String())
	}
	if rc := run("traffic", "nosuchstep"); rc != 1 || !strings.Contains(stderr.String(), "unknown traffic step") {
		t.Errorf("traffic nosuchstep: rc %d, stderr %q", rc, stderr.String())
	}
	if rc := run("down"); rc != 0 {
		t.Fatalf("down: rc %d\n%s", rc, stderr.String())
	}
	if rc := run("down"); rc != 0 {
		t.Fatalf("second down: rc %d\n%s", rc, stderr.String())
	}
	if rc := run("status"); rc != 1 {
		t.Errorf("status after down: rc %d, want 1", rc)
	}
}
