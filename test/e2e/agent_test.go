package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/vishvananda/netlink"

	"github.com/tapwatch/tapwatch/agent/api"
	"github.com/tapwatch/tapwatch/agent/cli"
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
	l := upLab(t, "te")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cfg := labAgentConfig(t, l)
	tmp := filepath.Dir(cfg.Outputs.EVE.Path)
	shipped, err := os.ReadFile(filepath.Join(testutil.RepoRoot(t), "deploy/rules/tapwatch.rules"))
	if err != nil {
		t.Fatal(err)
	}
	rulesPath := filepath.Join(tmp, "tapwatch.rules")
	if err := os.WriteFile(rulesPath, shipped, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg.Rules.Files = []string{rulesPath}
	cfg.Metrics.Listen = freeLoopbackPort(t)
	cfg.Record.Dir = filepath.Join(tmp, "pcap")
	cfg.Record.Mode = "all"
	d, stopDaemon := startDaemon(t, ctx, cfg)
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
	br, err := netlink.LinkByName(l.Bridge)
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
	// The attacker's profile puts the MAC it spoofed beside the one libvirt
	// gave it, and web's lists only libvirt's.
	for _, tc := range []struct {
		vm      string
		foreign string
	}{{"attacker", "52:54:00:de:ad:01"}, {"web", ""}} {
		prof, err := client.Profile(ctx, tc.vm)
		if err != nil {
			t.Fatalf("profile of %s: %v", tc.vm, err)
		}
		var libvirt, foreign []string
		for _, m := range prof.MACs {
			if m.Libvirt {
				libvirt = append(libvirt, m.MAC)
			} else if m.Frames > 0 && !m.Last.IsZero() {
				foreign = append(foreign, m.MAC)
			}
		}
		if len(libvirt) != 1 || (tc.foreign == "") != (len(foreign) == 0) || (tc.foreign != "" && !slices.Contains(foreign, tc.foreign)) {
			t.Errorf("profile of %s: libvirt MACs %v, other MACs %v; want one libvirt MAC and other MACs %q", tc.vm, libvirt, foreign, tc.foreign)
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
		`tapwatch_detect_seconds_total`, `tapwatch_rules_loaded{host="e2e-host"}`,
		`tapwatch_detect_state_dropped_total{host="e2e-host",table="xbits"} 0`} {
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
	checkPcapFilter(t, ctx, client, cfg.Control.Socket, tmp)

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

// checkPcapFilter runs `tapwatch pcap --vm web --filter ...` through the
// CLI against the running daemon and checks each filtered export is exactly
// the matching part of the unfiltered one, judged by gopacket's decoder
// rather than libpcap.
func checkPcapFilter(t *testing.T, ctx context.Context, client *api.Client, socket, dir string) {
	t.Helper()
	until := time.Now().UTC().Format(time.RFC3339Nano)
	export := func(name string, extra ...string) (frames [][]byte, code int, stderr string) {
		var errBuf bytes.Buffer
		path := filepath.Join(dir, name+".pcapng")
		args := append([]string{"pcap", "--vm", "web", "--until", until, "-w", path}, extra...)
		code = cli.Default().Main(ctx, &cli.Env{Stdout: io.Discard, Stderr: &errBuf, Socket: socket}, args)
		if code != 0 {
			return nil, code, errBuf.String()
		}
		pr, err := decode.OpenPcap(path)
		if err != nil {
			t.Fatalf("tapwatch %s: %v", strings.Join(args, " "), err)
		}
		defer pr.Close()
		for {
			data, _, err := pr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("tapwatch %s wrote a broken pcapng: %v", strings.Join(args, " "), err)
			}
			frames = append(frames, bytes.Clone(data))
		}
		return frames, 0, errBuf.String()
	}
	mustExport := func(name string, extra ...string) [][]byte {
		frames, code, stderr := export(name, extra...)
		if code != 0 {
			t.Fatalf("tapwatch pcap --vm web %s: exit %d: %s", strings.Join(extra, " "), code, stderr)
		}
		return frames
	}
	// Packets before until reach the disk within the recorder's flush
	// interval (1 s); the exports are compared once the window is settled.
	var all [][]byte
	for i := 0; ; i++ {
		next := mustExport("web-all")
		if i > 0 && slices.EqualFunc(all, next, bytes.Equal) {
			break
		}
		if i == 10 {
			t.Fatalf("web's recording up to %s still changes after %d exports", until, i+1)
		}
		all = next
		time.Sleep(1500 * time.Millisecond)
	}
	var port80, notPort80, udp [][]byte
	for _, f := range all {
		pkt := gopacket.NewPacket(f, layers.LayerTypeEthernet, gopacket.NoCopy)
		tcp, _ := pkt.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if tcp != nil && pkt.Layer(layers.LayerTypeDot1Q) == nil && (tcp.SrcPort == 80 || tcp.DstPort == 80) {
			port80 = append(port80, f)
		} else {
			notPort80 = append(notPort80, f)
		}
		if pkt.Layer(layers.LayerTypeUDP) != nil && pkt.Layer(layers.LayerTypeDot1Q) == nil {
			udp = append(udp, f)
		}
	}
	if len(port80) == 0 {
		t.Fatalf("web's recording (%d packets) holds no TCP port 80 packet to filter for", len(all))
	}
	for _, c := range []struct {
		filter string
		want   [][]byte
	}{{"tcp port 80", port80}, {"not tcp port 80", notPort80}, {"udp", udp}} {
		got := mustExport("web-filtered", "--filter", c.filter)
		if !slices.EqualFunc(got, c.want, bytes.Equal) {
			t.Errorf("--filter %q: %d packets, want exactly the %d of web's %d that match", c.filter, len(got), len(c.want), len(all))
		}
	}
	t.Logf("web up to %s: %d packets, %d TCP port 80, %d UDP", until, len(all), len(port80), len(udp))

	// A typo is refused by the CLI before the daemon is asked, and by the
	// daemon for any other client; neither leaves a file.
	if _, code, stderr := export("web-bad", "--filter", "tcp prot 80"); code != 2 ||
		!strings.Contains(stderr, `--filter "tcp prot 80": `) || !strings.Contains(stderr, "pcap-filter(7)") {
		t.Errorf("--filter 'tcp prot 80': exit %d, stderr %q; want 2 and the expression named", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "web-bad.pcapng")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused export left a file: %v", err)
	}
	var buf bytes.Buffer
	_, err := client.Pcap(ctx, record.Query{VM: "web", Filter: "tcp prot 80"}, &buf)
	if err == nil || !strings.Contains(err.Error(), "400 Bad Request") || !strings.Contains(err.Error(), `filter "tcp prot 80": `) {
		t.Errorf("tapwatchd took a bad filter: %v", err)
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

// labAgentConfig is the tapwatchd config the lab tests share: the lab's
// libvirt file, tapwatch's shipped rules, only the lab's bridge hooked
// (not other tests'), every file in the test's own directory, and the flow
// store on.
func labAgentConfig(t *testing.T, l *lab.Lab) config.Config {
	t.Helper()
	tmp := t.TempDir()
	cfg := config.Default()
	cfg.Host = "e2e-host"
	cfg.Libvirt.URI = l.URI()
	cfg.Rules.Files = []string{filepath.Join(testutil.RepoRoot(t), "deploy/rules/tapwatch.rules")}
	cfg.Rules.AddressGroups = map[string]string{"HOME_NET": "[10.77.0.0/24]"}
	cfg.Capture.BPFFS = filepath.Join(testutil.BPFFS(t), "tapwatch")
	cfg.Capture.Bridges = []string{l.Bridge}
	cfg.Outputs.EVE.Path = filepath.Join(tmp, "eve.json")
	cfg.Control.Socket = filepath.Join(tmp, "tw.sock")
	cfg.Control.Group = ""
	cfg.Workers = 2
	cfg.Flows.Store = filepath.Join(tmp, "flows.db")
	cfg.Record.Dir = ""
	return cfg
}
