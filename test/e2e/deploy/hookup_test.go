package deploy

import (
	"fmt"
	"github.com/tapwatch/tapwatch/test/testutil"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
)

const twNS = "https://tapwatch.dev/xmlns/1"

// domainXML is what libvirt hands the hook on stdin from `prepare` on: the
// <target dev> is filled in. policy, when set, goes in tapwatch's metadata.
func domainXML(name, tap, bridge, mac, policy string) string {
	meta := ""
	if policy != "" {
		meta = fmt.Sprintf(`<metadata><tw:tapwatch xmlns:tw=%q><tw:hook-policy>%s</tw:hook-policy></tw:tapwatch></metadata>`, twNS, policy)
	}
	return fmt.Sprintf(`<domain type='kvm' id='7'>
  <name>%s</name>
  <uuid>6c3e1a0e-8d8b-4b7a-9d6e-0f4f4f4f4f01</uuid>
  %s
  <memory unit='KiB'>131072</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <interface type='bridge'>
      <mac address='%s'/>
      <source bridge='%s'/>
      <target dev='%s'/>
      <model type='virtio'/>
    </interface>
  </devices>
</domain>
`, name, meta, mac, bridge, tap)
}

// hookScript runs deploy/libvirt/hooks/qemu as libvirtd does: `qemu DOMAIN OP
// SUBOP -` with the domain XML on stdin.
func hookScript(t *testing.T, limit time.Duration, env []string, xml, domain, op, subop string) result {
	t.Helper()
	script := filepath.Join(testutil.RepoRoot(t), "deploy/libvirt/hooks/qemu")
	return run(t, limit, env, xml, script, domain, op, subop, "-")
}

// testHookAgentUp: with tapwatchd running, the hook exits 0, prints nothing
// on stdout, and the agent learns the domain from the XML at `prepare`.
func testHookAgentUp(t *testing.T, e *labEnv, d *daemon) {
	const tapName, vmName, mac = "tchook0", "hookvm", "52:54:00:77:00:99"
	tap := &netlink.Tuntap{LinkAttrs: netlink.LinkAttrs{Name: tapName}, Mode: netlink.TUNTAP_MODE_TAP}
	if err := netlink.LinkAdd(tap); err != nil {
		t.Fatalf("create tap %s: %v", tapName, err)
	}
	t.Cleanup(func() { netlink.LinkDel(tap) })
	br, err := netlink.LinkByName(e.lab.Bridge)
	if err != nil {
		t.Fatal(err)
	}
	if err := netlink.LinkSetMaster(tap, br); err != nil {
		t.Fatal(err)
	}
	if err := netlink.LinkSetUp(tap); err != nil {
		t.Fatal(err)
	}

	env := []string{"TAPWATCH=" + filepath.Join(e.bin, "tapwatch"), "TAPWATCH_SOCKET=" + d.socket,
		"TAPWATCH_CONFIG=" + e.config}
	xml := domainXML(vmName, tapName, e.lab.Bridge, mac, "")
	for _, op := range [][2]string{{"prepare", "begin"}, {"start", "begin"}, {"started", "begin"}} {
		r := hookScript(t, 10*time.Second, env, xml, vmName, op[0], op[1])
		if r.code != 0 || r.stdout != "" {
			t.Errorf("hook %s %s with the agent up: exit %d, stdout %q, stderr %q", vmName, op[0], r.code, r.stdout, r.stderr)
		}
		if r.took > 2*time.Second {
			t.Errorf("hook %s took %v with the agent up", op[0], r.took)
		}
	}
	// The CLI entry point itself writes nothing on stdout either.
	r := run(t, 10*time.Second, env, xml, filepath.Join(e.bin, "tapwatch"), "hook", "qemu", vmName, "prepare", "begin", "-")
	if r.code != 0 || r.stdout != "" || r.stderr != "" {
		t.Errorf("tapwatch hook with the agent up: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}

	var vms string
	deadline := time.Now().Add(5 * time.Second)
	for {
		out, err := exec.Command(filepath.Join(e.bin, "tapwatch"), "--socket", d.socket, "vms").CombinedOutput()
		vms = string(out)
		if err == nil && strings.Contains(vms, vmName) && strings.Contains(vms, tapName) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("tapwatch vms does not show %s on %s after the hook's prepare:\n%s\ndaemon log:\n%s", vmName, tapName, vms, d.log)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("tapwatch vms after the hook:\n%s", vms)
	if !strings.Contains(d.log.String(), `msg="libvirt hook" domain=`+vmName+` op=prepare`) {
		t.Errorf("daemon log has no 'libvirt hook' line for %s prepare:\n%s", vmName, d.log)
	}
	for _, op := range [][2]string{{"stopped", "end"}, {"release", "end"}} {
		r := hookScript(t, 10*time.Second, env, xml, vmName, op[0], op[1])
		if r.code != 0 || r.stdout != "" {
			t.Errorf("hook %s %s with the agent up: exit %d, stdout %q, stderr %q", vmName, op[0], r.code, r.stdout, r.stderr)
		}
	}
}
