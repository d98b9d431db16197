package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/tapwatch/tapwatch/agent"
	"github.com/tapwatch/tapwatch/agent/api"
	"github.com/tapwatch/tapwatch/agent/config"
	"github.com/tapwatch/tapwatch/agent/flowstore"
	"github.com/tapwatch/tapwatch/agent/lab"
	"github.com/tapwatch/tapwatch/agent/record"
	"github.com/tapwatch/tapwatch/rules/decode"
	"github.com/tapwatch/tapwatch/test/testutil"
)

type eveAlert struct {
	EventType string `json:"event_type"`
	AlertID   string `json:"alert_id"`
	Alert     struct {
		SID int `json:"signature_id"`
	} `json:"alert"`
	VM []struct {
		Name string `json:"name"`
		Role string `json:"role"`
		Tap  string `json:"tap"`
		Host string `json:"host"`
	} `json:"vm"`
}

func readAlerts(t *testing.T, path string) []eveAlert {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var out []eveAlert
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var a eveAlert
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
			t.Fatalf("eve line is not JSON: %v: %s", err, sc.Bytes())
		}
		if a.EventType == "alert" {
			out = append(out, a)
		}
	}
	return out
}

// hasAlert reports whether an alert with sid names vm in role.
func hasAlert(as []eveAlert, sid int, vm, role string) bool {
	for _, a := range as {
		if a.Alert.SID != sid {
			continue
		}
		for _, v := range a.VM {
			if v.Name == vm && v.Role == role && v.Host == "e2e-host" {
				return true
			}
		}
	}
	return false
}

// TestAgentOnLab runs tapwatchd in process on a namespace lab discovered
// through libvirt's test driver, drives real attacks, and checks each alert
// names the VM that did it and the one it hit.
func TestAgentOnLab(t *testing.T) {
	testutil.RequireRoot(t)
	bpffs := testutil.BPFFS(t)
	labCfg, err := lab.NewConfig("te")
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	labCfg.XMLPath = filepath.Join(tmp, "libvirt.xml")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	l, err := lab.Up(ctx, labCfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lab.Down(labCfg) })

	cfg := config.Default()
	cfg.Host = "e2e-host"
	cfg.Libvirt.URI = l.URI()
	shipped, err := os.ReadFile(filepath.Join(testutil.RepoRoot(t), "deploy/rules/tapwatch.rules"))
	if err != nil {
		t.Fatal(err)
	}
	rulesPath := filepath.Join(tmp, "tapwatch.rules")
	if err := os.WriteFile(rulesPath, shipped, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg.Rules.Files = []string{rulesPath}
	cfg.Rules.AddressGroups = map[string]string{"HOME_NET": "[10.77.0.0/24]"}
	cfg.Capture.BPFFS = filepath.Join(bpffs, "tapwatch")
	cfg.Capture.Bridges = []string{labCfg.Bridge} // not other tests' bridges
	cfg.Outputs.EVE.Path = filepath.Join(tmp, "eve.json")
	cfg.Control.Socket = filepath.Join(tmp, "tw.sock")
	cfg.Control.Group = ""
	cfg.Workers = 2
	cfg.Metrics.Listen = freeLoopbackPort(t)
	cfg.Flows.Store = filepath.Join(tmp, "flows.db")
	cfg.Record.Dir = filepath.Join(tmp, "pcap")
	cfg.Record.Mode = "all"
	log := slog.New(slog.NewTextHandler(testWriter{t}, nil))
	d, err := agent.New(cfg, agent.Options{DetachOnExit: true}, log)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- d.Run(runCtx) }()
	stopped := false
	stopDaemon := func() {
		if !stopped {
			stopped = true
			stop()
			if err := <-done; err != nil {
				t.Errorf("daemon: %v", err)
			}
		}
	}
	defer stopDaemon()

	client := api.NewClient(cfg.Control.Socket)
	waitFor(t, ctx, "3 VM taps and the uplink hooked", func() bool {
		st, err := client.Status(ctx)
		return err == nil && len(st.Hooks) == 8
	})
	vms, err := client.VMs(ctx)
	if err != nil || len(vms) != 3 {
		t.Fatalf("vms = %+v, %v", vms, err)
	}
	for _, vm := range vms {
		if len(vm.NICs) != 1 || !vm.NICs[0].Attached || vm.NICs[0].HookMode != "tcx" {
			t.Errorf("VM %s not hooked: %+v", vm.Name, vm.NICs)
		}
	}

	// A tap that appears on a VM bridge is hooked at once, before anyone
	// says whose it is.
	tap := &netlink.Tuntap{LinkAttrs: netlink.LinkAttrs{Name: "te-late0"}, Mode: netlink.TUNTAP_MODE_TAP}
	created := time.Now()
	if err := netlink.LinkAdd(tap); err != nil {
		t.Fatal(err)
	}
	defer netlink.LinkDel(tap)
	br, err := netlink.LinkByName(labCfg.Bridge)
	if err != nil {
		t.Fatal(err)
	}
	if err := netlink.LinkSetMaster(tap, br); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "late tap hooked", func() bool {
		st, _ := client.Status(ctx)
		for _, h := range st.Hooks {
			if strings.HasPrefix(h.Interface, "te-late0/") {
				return true
			}
		}
		return false
	})
	t.Logf("tap creation to hook attached: %v (polled; see the daemon log for the exact figure)", time.Since(created))

	if err := lab.Traffic(ctx, l, testWriter{t}, "traversal", "portscan", "macspoof", "arpspoof"); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		sid      int
		vm, role string
	}{
		{9900010, "attacker", "src"}, {9900010, "web", "dst"},
		{9900001, "attacker", "src"},
		{9901001, "attacker", "src"},
		{9901002, "attacker", "src"},
	}
	waitFor(t, ctx, "every attack alerted with its VMs", func() bool {
		as := readAlerts(t, cfg.Outputs.EVE.Path)
		for _, w := range want {
			if !hasAlert(as, w.sid, w.vm, w.role) {
				return false
			}
		}
		return true
	})
	for _, a := range readAlerts(t, cfg.Outputs.EVE.Path) {
		for _, v := range a.VM {
			if v.Name == "web" && a.Alert.SID == 9901001 {
				t.Errorf("MAC spoofing attributed to web: %+v", a)
			}
		}
	}
	// Prometheus sees the same per-VM and per-hook counters.
	resp, err := http.Get("http://" + cfg.Metrics.Listen + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`tapwatch_vm_alerts_total{host="e2e-host",vm="attacker"}`,
		`tapwatch_hook_packets_total{hook="tap-ingress",host="e2e-host",interface="tetap-web",outcome="seen",vm="web"}`,
		`tapwatch_detect_seconds_total`, `tapwatch_rules_loaded{host="e2e-host"}`} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("metrics lack %s in:\n%s", want, body)
		}
	}

	// The traversal alert's packets come back from the recorder, request
	// bytes included, as a pcapng our own reader opens.
	var traversalID string
	for _, a := range readAlerts(t, cfg.Outputs.EVE.Path) {
		if a.Alert.SID == 9900010 {
			traversalID = a.AlertID
		}
	}
	if traversalID == "" {
		t.Fatal("alert 9900010 carries no alert_id")
	}
	pcapPath := filepath.Join(tmp, "alert.pcapng")
	pf, err := os.Create(pcapPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.Pcap(ctx, record.Query{AlertID: traversalID}, pf); err != nil {
		t.Fatalf("pcap --alert %s: %v", traversalID, err)
	}
	pf.Close()
	pr, err := decode.OpenPcap(pcapPath)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for {
		data, _, err := pr.Next()
		if err != nil {
			break
		}
		found = found || bytes.Contains(data, []byte("GET /../../etc/passwd"))
	}
	pr.Close()
	if !found {
		t.Error("the exported pcapng lacks the traversal request")
	}

	// SIGHUP's reload swaps in a new engine without touching the hooks; a
	// broken rule is reported and the rest load.
	before, _ := client.Status(ctx)
	extra := "alert udp any any -> any 9 (msg:\"e2e reload\"; content:\"x\"; sid:9999001;)\nalert udp any any -> (sid:9999002;)\n"
	if err := os.WriteFile(rulesPath, append(shipped, extra...), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := d.Reload(); err != nil {
		t.Fatal(err)
	}
	after, _ := client.Status(ctx)
	if after.RulesLoaded != before.RulesLoaded+1 || after.RulesFailed != before.RulesFailed+1 || len(after.Hooks) != len(before.Hooks) {
		t.Errorf("reload: rules %d/%d -> %d/%d, hooks %d -> %d", before.RulesLoaded, before.RulesFailed,
			after.RulesLoaded, after.RulesFailed, len(before.Hooks), len(after.Hooks))
	}

	var follow []string
	fctx, fcancel := context.WithTimeout(ctx, 2*time.Second)
	defer fcancel()
	_ = client.Alerts(fctx, "attacker", false, func(l []byte) { follow = append(follow, string(l)) })
	if len(follow) == 0 {
		t.Error("tapwatch alerts --vm attacker returned nothing")
	}

	// Flows end at shutdown at the latest; each is in the store with its VMs.
	stopDaemon()
	fs, err := flowstore.Open(cfg.Flows.Store, flowstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	recs, err := fs.Query(ctx, flowstore.Filter{VM: "web", Port: 80})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) == 0 {
		t.Fatal("no flow of web on port 80 in the store")
	}
	for _, r := range recs {
		if r.DstVM != "web" || r.SrcVM == "" || r.PktsToServer == 0 {
			t.Errorf("flow record lacks its VMs or counters: %+v", r)
		}
	}
	// web answering HTTP for the first time is a change worth an event.
	eveData, _ := os.ReadFile(cfg.Outputs.EVE.Path)
	if !bytes.Contains(eveData, []byte(`"event_type":"tapwatch_change","kind":"new_service"`)) ||
		!bytes.Contains(eveData, []byte(`"name":"web","role":"dst"`)) {
		t.Error("no tapwatch_change new_service event for web")
	}
}

func freeLoopbackPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitFor(t *testing.T, ctx context.Context, what string, ok func() bool) {
	t.Helper()
	for !ok() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for: %s", what)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

var _ io.Writer = testWriter{}
