package inventory

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"libvirt.org/go/libvirt"
)

func runSource(t *testing.T, uri string, minDelay time.Duration) <-chan Update {
	t.Helper()
	src, err := NewSource(SourceConfig{URI: uri, ReconnectMin: minDelay, ReconnectMax: 4 * minDelay})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan Update, 64)
	done := make(chan struct{})
	go func() { defer close(done); _ = src.Run(ctx, out) }()
	t.Cleanup(func() { cancel(); <-done })
	return out
}

func next(t *testing.T, ch <-chan Update) Update {
	t.Helper()
	select {
	case u := <-ch:
		return u
	case <-time.After(5 * time.Second):
		t.Fatal("no update from the source within 5s")
		return nil
	}
}

// nextEvent skips updates until an event of kind arrives for the VM called name.
func nextEvent(t *testing.T, ch <-chan Update, kind EventKind, name string) *Event {
	t.Helper()
	for {
		if e, ok := next(t, ch).(*Event); ok && e.Kind == kind && e.VM.Name == name {
			return e
		}
	}
}

func nextSnapshot(t *testing.T, ch <-chan Update) *Snapshot {
	t.Helper()
	for {
		switch u := next(t, ch).(type) {
		case *Snapshot:
			return u
		case *ConnState:
			if !u.Connected {
				t.Fatalf("source could not connect: %v", u.Err)
			}
		}
	}
}

func testDomainXML(name, uuid, mac, tap, meta string) string {
	return fmt.Sprintf(`<domain type='test'>
  <name>%s</name><uuid>%s</uuid>
  <metadata>%s</metadata>
  <memory unit='KiB'>65536</memory><vcpu>1</vcpu><os><type>hvm</type></os>
  <devices>
    <interface type='bridge'><mac address='%s'/><source bridge='twbr9'/><target dev='%s'/><model type='virtio'/></interface>
  </devices>
</domain>`, name, uuid, meta, mac, tap)
}

const goodMeta = `<tw:tapwatch xmlns:tw="https://tapwatch.dev/xmlns/1"><tw:profile>lab</tw:profile><tw:ips>off</tw:ips><tw:record>alerts</tw:record></tw:tapwatch>`

// TestSourceFollowsLifecycle drives test:///default, which every connection of the process
// shares, through define, start, hot-plug, destroy and undefine.
func TestSourceFollowsLifecycle(t *testing.T) {
	ch := runSource(t, "test:///default", 50*time.Millisecond)
	snap := nextSnapshot(t, ch)
	if len(snap.VMs) == 0 {
		t.Fatal("test:///default snapshot has no domains; it always holds one called test")
	}

	conn, err := libvirt.NewConnect("test:///default")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	name := "tw-inv-" + strings.ReplaceAll(t.Name(), "/", "-")
	dom, err := conn.DomainDefineXML(testDomainXML(name, "6b0f6a4e-0a7d-4d1b-9a55-1d0c2f9e0001", "52:54:00:11:22:33", "twtap-inv0", goodMeta))
	if err != nil {
		t.Fatal(err)
	}
	defer dom.Free()
	defer func() { _ = dom.Destroy(); _ = dom.Undefine() }()

	e := nextEvent(t, ch, EventDefined, name)
	if e.VM.State != StateShutoff || e.VM.Policy.Profile != "lab" || len(e.VM.NICs) != 1 || e.VM.NICs[0].MAC.String() != "52:54:00:11:22:33" {
		t.Fatalf("defined event VM = %+v", e.VM)
	}
	if err := dom.Create(); err != nil {
		t.Fatal(err)
	}
	e = nextEvent(t, ch, EventStarted, name)
	if e.VM.State != StateRunning || e.Detail != "booted" {
		t.Fatalf("started event = %+v", e)
	}
	if e.VM.NICs[0].Target != "twtap-inv0" {
		t.Fatalf("running VM's tap = %q, want the <target dev> kept", e.VM.NICs[0].Target)
	}

	if err := dom.Suspend(); err != nil {
		t.Fatal(err)
	}
	if e = nextEvent(t, ch, EventSuspended, name); e.VM.State != StatePaused {
		t.Fatalf("suspended event state = %s", e.VM.State)
	}
	if err := dom.Resume(); err != nil {
		t.Fatal(err)
	}
	nextEvent(t, ch, EventResumed, name)

	// NIC hot-plug: the test driver may not implement it; then the resync covers it.
	nic := `<interface type='bridge'><mac address='52:54:00:11:22:34'/><source bridge='twbr9'/><target dev='twtap-inv1'/></interface>`
	if err := dom.AttachDeviceFlags(nic, libvirt.DOMAIN_DEVICE_MODIFY_LIVE); err != nil {
		t.Logf("test driver does not hot-plug NICs (%v); device events untested here", err)
	} else {
		e = nextEvent(t, ch, EventDeviceAdded, name)
		if len(e.VM.NICs) != 2 {
			t.Fatalf("after hot-plug VM NICs = %+v", e.VM.NICs)
		}
	}

	if err := dom.Destroy(); err != nil {
		t.Fatal(err)
	}
	e = nextEvent(t, ch, EventStopped, name)
	if e.VM.State != StateShutoff || e.Detail != "destroyed" {
		t.Fatalf("stopped event = %+v", e)
	}
	if err := dom.Undefine(); err != nil {
		t.Fatal(err)
	}
	e = nextEvent(t, ch, EventUndefined, name)
	if e.VM.UUID != "6b0f6a4e-0a7d-4d1b-9a55-1d0c2f9e0001" || len(e.VM.NICs) == 0 {
		t.Fatalf("undefined event lost the VM's last view: %+v", e.VM)
	}
}

// TestSourceReportsUnreadableDomain lists a custom driver file in which one domain carries a
// broken tapwatch policy: that one is reported, the others are delivered.
func TestSourceReportsUnreadableDomain(t *testing.T) {
	bad := strings.Replace(goodMeta, "<tw:ips>off</tw:ips>", "<tw:ips>sometimes</tw:ips>", 1)
	node := "<node>\n" +
		testDomainXML("web", "6b0f6a4e-0a7d-4d1b-9a55-1d0c2f9e0101", "52:54:00:00:01:01", "twtap-a", goodMeta) +
		testDomainXML("broken", "6b0f6a4e-0a7d-4d1b-9a55-1d0c2f9e0102", "52:54:00:00:01:02", "twtap-b", bad) +
		testDomainXML("db", "6b0f6a4e-0a7d-4d1b-9a55-1d0c2f9e0103", "52:54:00:00:01:03", "twtap-c", "") +
		"</node>\n"
	path := filepath.Join(t.TempDir(), "node.xml")
	if err := os.WriteFile(path, []byte(node), 0o644); err != nil {
		t.Fatal(err)
	}
	snap := nextSnapshot(t, runSource(t, "test://"+path, 50*time.Millisecond))
	var names []string
	for _, vm := range snap.VMs {
		names = append(names, vm.Name)
		if vm.State != StateRunning {
			t.Errorf("%s state %s, want running (test driver starts file domains)", vm.Name, vm.State)
		}
	}
	if len(snap.VMs) != 2 || !strings.Contains(strings.Join(names, ","), "web") || !strings.Contains(strings.Join(names, ","), "db") {
		t.Fatalf("snapshot VMs = %v, want web and db", names)
	}
	if len(snap.Errors) != 1 || snap.Errors[0].Name != "broken" || !strings.Contains(snap.Errors[0].Error(), "sometimes") {
		t.Fatalf("snapshot errors = %v, want one naming domain broken", snap.Errors)
	}
	x := NewIndex()
	x.Apply(snap)
	if r, ok := x.ByTap("twtap-c"); !ok || r.VM.Name != "db" {
		t.Fatalf("index ByTap(twtap-c) = %+v %v", r, ok)
	}
}

// TestSourceRetriesWithBackoff points at a driver file that does not exist yet: the source says
// it is down with growing delays, and connects once the file appears.
func TestSourceRetriesWithBackoff(t *testing.T) {
	path := filepath.Join(t.TempDir(), "later.xml")
	ch := runSource(t, "test://"+path, 20*time.Millisecond)
	var delays []time.Duration
	for len(delays) < 3 {
		cs, ok := next(t, ch).(*ConnState)
		if !ok || cs.Connected {
			t.Fatalf("want a down ConnState, got %#v", cs)
		}
		if cs.Err == nil || !strings.Contains(cs.Err.Error(), path) {
			t.Fatalf("down state error %v does not name the URI", cs.Err)
		}
		delays = append(delays, cs.Retry)
	}
	if !(delays[0] < delays[1] && delays[1] < delays[2]) {
		t.Fatalf("retry delays %v do not back off", delays)
	}
	node := "<node>" + testDomainXML("late", "6b0f6a4e-0a7d-4d1b-9a55-1d0c2f9e0201", "52:54:00:00:02:01", "twtap-l", "") + "</node>"
	if err := os.WriteFile(path, []byte(node), 0o644); err != nil {
		t.Fatal(err)
	}
	for {
		if snap, ok := next(t, ch).(*Snapshot); ok {
			if len(snap.VMs) != 1 || snap.VMs[0].Name != "late" {
				t.Fatalf("snapshot after reconnect = %+v", snap.VMs)
			}
			return
		}
	}
}
