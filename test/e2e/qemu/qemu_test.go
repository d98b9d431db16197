// Package qemu is tapwatch's end-to-end test against a real libvirtd and a real QEMU guest,
// including a live migration between two libvirt daemons on one host.
//
// It needs root, libvirt-daemon-system, qemu-system-x86, busybox-static and cpio (installed by
// deploy/scripts/install-deps.sh --all), and network access once to download Debian's cloud
// kernel (cached under /var/cache/tapwatch-test). Run it with
//
//	go test -run TestQEMU -v ./test/e2e/qemu/ -timeout 15m
//
// The guest (test/vm/build-guest.sh, test/vm/guestsend) sends two UDP datagrams with a marker
// payload every 0.5 s to a peer namespace behind an isolated bridge (test/vm/host.sh): one on a
// fixed flow, one from source port 20000+seq so an EVE alert names the sequence number it is for.
// Every 2 s it also sends the peer a DNS query for qemu-guest.tapwatch.test (udp/53, each from its
// own source port, never answered) and an HTTP/1.1 request with User-Agent tapwatch-guestsend/1
// (tcp/8080, answered by the test with Server: twq-peer/1; names_test.go). TestQEMU records
// packets (record.mode alerts) and checks the pcapng export of an alert holds its datagram byte
// for byte, the VM's profile lists its address; with the guest paused and tapwatchd still
// running, that the DNS name shows on the VM's udp/53 client row (API, `tapwatch vms show
// [--json]`, `tapwatch flows --json`: those flows end on the wall clock, 30 s after their
// packet); and, after tapwatchd stops, that the flow store holds the guest's flows to the peer
// attributed to the VM, one per DNS query and HTTP request the peer received with the names they
// carried, and the VM's services carry the DNS name on the udp/53 client row and the user agent,
// host and Server header on the tcp/8080 one.
//
// TestQEMUHook (hook_test.go) installs deploy/libvirt/hooks/qemu as /etc/libvirt/hooks/qemu with
// /etc/default/tapwatch before it starts libvirtd, and checks a start with the agent up, and with
// it down under fail-open and fail-closed; it restores both files. Both tests take one lock
// (/run/tapwatch-e2e-qemu.lock) and run one after the other; `-run 'TestQEMU$'` runs only the
// first.
//
// Environment: CI=true turns every skip into a failure; TWQ_KEEP=1 keeps the state directory
// (/tmp/twq-e2e-*: tapwatchd.log, eve.json, peer.log, console/, libvirtd logs);
// TWQ_ALLOW_KNOWN_GAPS=1 logs the agent's known migration gaps (double inspection, attribution
// on the destination tap) instead of failing on them; TWQ_HOOK_SCRIPT=path makes TestQEMUHook
// install that hook script instead of deploy/libvirt/hooks/qemu.
package qemu

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/tapwatch/tapwatch/test/testutil"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"gopkg.in/yaml.v3"

	"github.com/tapwatch/tapwatch/agent/api"
	"github.com/tapwatch/tapwatch/agent/config"
	"github.com/tapwatch/tapwatch/agent/flowstore"
	"github.com/tapwatch/tapwatch/agent/record"
	"github.com/tapwatch/tapwatch/rules/decode"
)

const (
	domName   = "twq-guest"
	domUUID   = "6f0c2a51-7a1e-4c55-9d3e-2f7e0b1a7701"
	guestMAC  = "52:54:00:77:51:01"
	guestIP   = "10.99.0.10/24"
	peerIP    = "10.99.0.1"
	peerPort  = 5599
	bridge    = "twqbr0"
	uplink    = "twqv0" // root end of the veth to the peer namespace
	srcTap    = "twq0"
	dstTap    = "twq1"
	markerSID = 9977001
	fixedPort = 40555 // guestsend -sport
	seqBase   = 20000 // guestsend -sport-base
	migPort   = 49152
)

// run runs a command, logs it, and returns its combined output; it fails the test on error.
func run(t *testing.T, timeout time.Duration, name string, args ...string) string {
	t.Helper()
	out, err := runErr(timeout, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

func runErr(timeout time.Duration, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.WaitDelay = 5 * time.Second
	var b bytes.Buffer
	cmd.Stdout, cmd.Stderr = &b, &b
	err := cmd.Run()
	return b.String(), err
}

// eveAlert is the part of an EVE alert record the test reads.
type eveAlert struct {
	Timestamp string `json:"timestamp"`
	EventType string `json:"event_type"`
	SrcPort   int    `json:"src_port"`
	DestIP    string `json:"dest_ip"`
	InIface   string `json:"in_iface"`
	AlertID   string `json:"alert_id"`
	Alert     struct {
		SignatureID int `json:"signature_id"`
	} `json:"alert"`
	VM []struct {
		UUID   string `json:"uuid"`
		Name   string `json:"name"`
		MAC    string `json:"mac"`
		Tap    string `json:"tap"`
		Bridge string `json:"bridge"`
		Host   string `json:"host"`
		Role   string `json:"role"`
	} `json:"vm"`

	raw  string
	seen time.Time // when the test read it
}

func (a *eveAlert) vmNames() string {
	var n []string
	for _, v := range a.VM {
		n = append(n, fmt.Sprintf("%s(%s,tap=%s,%s)", v.Name, v.Role, v.Tap, v.Host))
	}
	if len(n) == 0 {
		return "-"
	}
	return strings.Join(n, " ")
}

func (a *eveAlert) namesVM(name, tap string) bool {
	for _, v := range a.VM {
		if v.Name == name && (tap == "" || v.Tap == tap) {
			return true
		}
	}
	return false
}

// eveTail follows an EVE file and keeps every marker alert.
type eveTail struct {
	mu     sync.Mutex
	alerts []*eveAlert
	other  int
	bad    int
}

func (e *eveTail) follow(ctx context.Context, path string) {
	var f *os.File
	for f == nil {
		var err error
		if f, err = os.Open(path); err != nil {
			select {
			case <-ctx.Done():
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	defer f.Close()
	r := bufio.NewReader(f)
	var partial []byte
	for {
		line, err := r.ReadBytes('\n')
		partial = append(partial, line...)
		if err == io.EOF {
			select {
			case <-ctx.Done():
				return
			case <-time.After(50 * time.Millisecond):
			}
			continue
		}
		if err != nil {
			return
		}
		rec := partial
		partial = nil
		var a eveAlert
		if json.Unmarshal(rec, &a) != nil {
			e.mu.Lock()
			e.bad++
			e.mu.Unlock()
			continue
		}
		a.raw = strings.TrimSpace(string(rec))
		a.seen = time.Now()
		e.mu.Lock()
		if a.EventType == "alert" && a.Alert.SignatureID == markerSID {
			e.alerts = append(e.alerts, &a)
		} else {
			e.other++
		}
		e.mu.Unlock()
	}
}

func (e *eveTail) snapshot() []*eveAlert {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]*eveAlert(nil), e.alerts...)
}

// waitFor polls cond every 100 ms until it is true or the timeout passes.
func waitFor(timeout time.Duration, cond func() bool) bool {
	end := time.Now().Add(timeout)
	for time.Now().Before(end) {
		if cond() {
			return true
		}
		time.Sleep(100 * time.Millisecond)
	}
	return cond()
}

// peerLine is one datagram the peer namespace received (test/vm/host.sh's listener).
type peerLine struct {
	at    time.Time
	sport int
	seq   int
	flow  string
	boot  string
}

// payload is the datagram guestsend sent (the peer log strips its trailing newline).
func (p peerLine) payload() string {
	return fmt.Sprintf("TWQMARK boot=%s seq=%d flow=%s\n", p.boot, p.seq, p.flow)
}

var peerRE = regexp.MustCompile(`^(\d+\.\d+) (\d+) TWQMARK boot=(\w+) seq=(\d+) flow=(\w+)$`)

func readPeer(t *testing.T, path string) []peerLine {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("peer log: %v", err)
	}
	var out []peerLine
	for _, l := range strings.Split(string(b), "\n") {
		m := peerRE.FindStringSubmatch(strings.TrimSpace(l))
		if m == nil {
			continue
		}
		sec, _ := strconv.ParseFloat(m[1], 64)
		sport, _ := strconv.Atoi(m[2])
		seq, _ := strconv.Atoi(m[4])
		out = append(out, peerLine{at: time.Unix(0, int64(sec*1e9)), sport: sport, seq: seq, flow: m[5], boot: m[3]})
	}
	return out
}

// linkOwners names who holds each bpf link: the bpffs pins (walking /sys/fs/bpf) and the
// processes with a link fd open (/proc/*/fdinfo "link_id:").
func linkOwners() map[link.ID][]string {
	own := map[link.ID][]string{}
	filepath.WalkDir("/sys/fs/bpf", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if l, err := link.LoadPinnedLink(path, nil); err == nil {
			if info, err := l.Info(); err == nil {
				own[info.ID] = append(own[info.ID], "pin "+path)
			}
			l.Close()
		}
		return nil
	})
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		if _, err := strconv.Atoi(p.Name()); err != nil {
			continue
		}
		comm, _ := os.ReadFile("/proc/" + p.Name() + "/comm")
		fds, _ := os.ReadDir("/proc/" + p.Name() + "/fdinfo")
		for _, fd := range fds {
			b, err := os.ReadFile("/proc/" + p.Name() + "/fdinfo/" + fd.Name())
			if err != nil || !bytes.Contains(b, []byte("link_id:")) {
				continue
			}
			for _, l := range strings.Split(string(b), "\n") {
				if v, ok := strings.CutPrefix(l, "link_id:"); ok {
					if id, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32); err == nil {
						own[link.ID(id)] = append(own[link.ID(id)], fmt.Sprintf("pid %s (%s) fd %s", p.Name(), strings.TrimSpace(string(comm)), fd.Name()))
					}
				}
			}
		}
	}
	return own
}

// tcxPrograms counts the tapwatch programs (tw_*) attached with TCX to ifname in one direction:
// ours (a link pinned under our bpffs directory or held open by our tapwatchd) and foreign
// (another tapwatch agent on this host, e.g. a concurrent test: an agent hooks every tap on every
// bridge), with who holds the foreign ones.
func tcxPrograms(ifname string, at ebpf.AttachType, bpffs string, pid int, owners map[link.ID][]string) (mine int, foreign []string, err error) {
	ifc, err := net.InterfaceByName(ifname)
	if err != nil {
		return 0, nil, err
	}
	res, err := link.QueryPrograms(link.QueryOptions{Target: ifc.Index, Attach: at})
	if err != nil {
		return 0, nil, err
	}
	for _, p := range res.Programs {
		prog, err := ebpf.NewProgramFromID(p.ID)
		if err != nil {
			continue
		}
		info, err := prog.Info()
		prog.Close()
		if err != nil || !strings.HasPrefix(info.Name, "tw_") {
			continue
		}
		id, _ := p.LinkID()
		ours := false
		for _, o := range owners[id] {
			if strings.HasPrefix(o, "pin "+bpffs+"/") || strings.HasPrefix(o, fmt.Sprintf("pid %d ", pid)) {
				ours = true
			}
		}
		if ours {
			mine++
		} else {
			foreign = append(foreign, fmt.Sprintf("link %d %v", id, owners[id]))
		}
	}
	return mine, foreign, nil
}

func domainXML(kernel, initrd, consoleLog string) string {
	return fmt.Sprintf(`<domain type='qemu'>
  <name>%s</name>
  <uuid>%s</uuid>
  <memory unit='MiB'>192</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>%s</kernel>
    <initrd>%s</initrd>
    <cmdline>console=ttyS0 quiet panic=-1 tw.ip=%s tw.peer=%s:%d</cmdline>
  </os>
  <features><acpi/></features>
  <on_reboot>destroy</on_reboot>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <interface type='bridge'>
      <source bridge='%s'/>
      <mac address='%s'/>
      <target dev='%s'/>
      <model type='virtio'/>
    </interface>
    <serial type='file'>
      <source path='%s' append='on'/>
      <target port='0'/>
    </serial>
    <memballoon model='none'/>
  </devices>
</domain>
`, domName, domUUID, kernel, initrd, guestIP, peerIP, peerPort, bridge, guestMAC, srcTap, consoleLog)
}

// qenv is what every test here shares: a built guest, a state directory and the binaries.
type qenv struct {
	root, vmDir    string
	kernel, initrd string
	state          string // /tmp/twq-e2e-*: logs, configs, sockets; removed unless TWQ_KEEP
	consoleDir     string // serial logs (QEMU runs as libvirt-qemu: mode 0777)
	binDir         string // tapwatch and tapwatchd built from this tree
	hostSh         string
}

// setupQEMU checks the machine, takes the lock every test of this package shares (they use the
// same bridge, namespace, domain names and the host's libvirtd), builds the guest and the
// binaries, and makes the state directory. Its cleanups run last: the lock is released after
// every other cleanup of the test.
func setupQEMU(t *testing.T) *qenv {
	t.Helper()
	if os.Geteuid() != 0 {
		testutil.SkipOrFail(t, "needs root: libvirtd, QEMU, bridges, network namespaces and eBPF")
	}
	testutil.SkipIfShort(t, "the QEMU/libvirt end-to-end test")
	e := &qenv{root: testutil.RepoRoot(t)}
	e.vmDir = filepath.Join(e.root, "test", "vm")
	e.hostSh = filepath.Join(e.vmDir, "host.sh")

	// Packages, guest, binaries.
	if out, err := runErr(10*time.Minute, "bash", filepath.Join(e.root, "deploy/scripts/install-deps.sh"), "--all"); err != nil {
		testutil.SkipOrFail(t, "install-deps.sh --all: %v\n%s", err, out)
	}
	for _, bin := range []string{"virsh", "libvirtd", "virtlogd", "qemu-system-x86_64", "unshare", "ip", "python3"} {
		if _, err := exec.LookPath(bin); err != nil {
			testutil.SkipOrFail(t, "%s not found after install-deps.sh --all", bin)
		}
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		testutil.SkipOrFail(t, "no /dev/net/tun: libvirt cannot create taps")
	}
	// Another run of a test of this package (this or another process) would share the bridge,
	// namespace, domain names and libvirtd.
	lock, err := os.OpenFile("/run/tapwatch-e2e-qemu.lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lock.Close() }) // registered first, so released after every other cleanup
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Log("another QEMU e2e test holds /run/tapwatch-e2e-qemu.lock; waiting")
		if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
			t.Fatal(err)
		}
	}

	phase := time.Now()
	out := run(t, 10*time.Minute, "bash", filepath.Join(e.vmDir, "build-guest.sh"))
	for _, l := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(l, "KERNEL="); ok {
			e.kernel = v
		}
		if v, ok := strings.CutPrefix(l, "INITRD="); ok {
			e.initrd = v
		}
	}
	if e.kernel == "" || e.initrd == "" {
		t.Fatalf("build-guest.sh printed no KERNEL=/INITRD=:\n%s", out)
	}
	t.Logf("guest: %s %s (%.1fs)", e.kernel, e.initrd, time.Since(phase).Seconds())

	if e.state, err = os.MkdirTemp("/tmp", "twq-e2e-"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if os.Getenv("TWQ_KEEP") != "" {
			t.Logf("TWQ_KEEP: state left in %s (tapwatchd.log, eve.json, peer.log, console/, libvirtd logs)", e.state)
			return
		}
		os.RemoveAll(e.state)
	})
	if err := os.Chmod(e.state, 0o755); err != nil {
		t.Fatal(err)
	}
	e.consoleDir = filepath.Join(e.state, "console")
	if err := os.Mkdir(e.consoleDir, 0o777); err != nil {
		t.Fatal(err)
	}
	os.Chmod(e.consoleDir, 0o777) // QEMU runs as libvirt-qemu

	phase = time.Now()
	e.binDir = filepath.Join(e.state, "bin")
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = "/usr/local/go/bin/go"
	}
	build := exec.Command(goBin, "build", "-o", e.binDir+"/", "./agent/cmd/tapwatch", "./agent/cmd/tapwatchd")
	build.Dir = e.root
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	t.Logf("built tapwatchd and tapwatch (%.1fs)", time.Since(phase).Seconds())
	return e
}

// hostUp runs host.sh up (libvirtd, bridge, peer namespace) and registers host.sh down.
func (e *qenv) hostUp(t *testing.T) {
	t.Helper()
	t.Cleanup(func() {
		if out, err := runErr(2*time.Minute, "bash", e.hostSh, "down", e.state); err != nil {
			t.Errorf("host.sh down: %v\n%s", err, out)
		}
	})
	run(t, time.Minute, "bash", e.hostSh, "up", e.state)
}

// writeRules writes the guest marker rule and returns its path.
func (e *qenv) writeRules(t *testing.T) string {
	t.Helper()
	rules := filepath.Join(e.state, "twq.rules")
	if err := os.WriteFile(rules, []byte(fmt.Sprintf(
		"alert udp any any -> any %d (msg:\"tapwatch e2e guest marker\"; content:\"TWQMARK\"; sid:%d; rev:1;)\n",
		peerPort, markerSID)), 0o644); err != nil {
		t.Fatal(err)
	}
	return rules
}

// agentProc is a tapwatchd the test started.
type agentProc struct {
	cmd     *exec.Cmd
	done    chan error
	logPath string
	logF    *os.File
	sock    string
	stopped bool // stopped on purpose by the test
}

// startTapwatchd starts tapwatchd with cfgPath, logging to logPath, and waits until its
// control socket answers with libvirt connected and rules loaded. Its cleanup stops it (a
// tapwatchd that exited on its own is an error) and, when the test failed, logs the tails of
// tapwatchd's and libvirtd's logs.
func (e *qenv) startTapwatchd(t *testing.T, cfgPath, sock, logPath, bpffs string) (*agentProc, api.Status) {
	t.Helper()
	logF, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	d := &agentProc{logPath: logPath, logF: logF, sock: sock, done: make(chan error, 1)}
	d.cmd = exec.Command(filepath.Join(e.binDir, "tapwatchd"), "--config", cfgPath, "--detach-on-exit")
	d.cmd.Stdout, d.cmd.Stderr = logF, logF
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.done <- d.cmd.Wait() }()
	t.Cleanup(func() {
		// Registered after host.sh down, so it runs before it: the agent goes first.
		if !d.stopped {
			select {
			case err := <-d.done:
				d.done <- err
				t.Errorf("tapwatchd exited during the test: %v", err)
			default:
			}
			d.stop(t)
		}
		logF.Close()
		os.RemoveAll(bpffs)
		if t.Failed() {
			if b, err := os.ReadFile(logPath); err == nil {
				t.Logf("tapwatchd log (last 6000 bytes):\n%s", tail(string(b), 6000))
			}
			for _, f := range []string{"libvirtd.log", "dst-libvirtd.log"} {
				if b, err := os.ReadFile(filepath.Join(e.state, f)); err == nil {
					t.Logf("%s (last 3000 bytes):\n%s", f, tail(string(b), 3000))
				}
			}
		}
	})
	cli := api.NewClient(sock)
	var st api.Status
	if !waitFor(60*time.Second, func() bool {
		select {
		case err := <-d.done:
			d.done <- err
			return true
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		var err error
		st, err = cli.Status(ctx)
		return err == nil && st.Libvirt == "connected"
	}) || st.Libvirt != "connected" {
		b, _ := os.ReadFile(logPath)
		t.Fatalf("tapwatchd not ready in 60s (libvirt %q):\n%s", st.Libvirt, tail(string(b), 4000))
	}
	if st.RulesLoaded < 1 {
		t.Fatalf("tapwatchd loaded %d rules (%d failed)", st.RulesLoaded, st.RulesFailed)
	}
	return d, st
}

// stop sends SIGTERM and waits up to 15 s, then kills. Safe to call twice.
func (d *agentProc) stop(t *testing.T) {
	t.Helper()
	d.stopped = true
	select {
	case err := <-d.done:
		d.done <- err
		return
	default:
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-d.done:
		d.done <- err
	case <-time.After(15 * time.Second):
		t.Errorf("tapwatchd did not stop on SIGTERM within 15s; killing")
		d.cmd.Process.Kill()
		d.done <- <-d.done
	}
}

func TestQEMU(t *testing.T) {
	testStart := time.Now()
	e := setupQEMU(t)
	state, consoleDir, binDir := e.state, e.consoleDir, e.binDir
	kernel, initrd := e.kernel, e.initrd

	// 2. Host: libvirt daemons, bridge, peer namespace. Teardown first, so a half setup goes too.
	phase := time.Now()
	e.hostUp(t)
	out := run(t, time.Minute, "bash", e.hostSh, "dst-up", state)
	var dstURI string
	for _, l := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(l, "DST_URI="); ok {
			dstURI = v
		}
	}
	if dstURI == "" {
		t.Fatalf("host.sh dst-up printed no DST_URI=:\n%s", out)
	}
	// Both daemons probe QEMU on first use (~4 s idle): do it now, outside every timing.
	run(t, 2*time.Minute, "virsh", "-q", "-c", "qemu:///system", "domcapabilities", "--virttype", "qemu")
	run(t, 2*time.Minute, "virsh", "-q", "-c", dstURI, "domcapabilities", "--virttype", "qemu")
	t.Logf("libvirtd (qemu:///system) and second libvirtd (%s) up, bridge %s, peer %s:%d (%.1fs)",
		dstURI, bridge, peerIP, peerPort, time.Since(phase).Seconds())
	// The peer's DNS (udp/53, never answers) and HTTP (tcp/8080) side, for the names
	// guestsend's queries and requests carry (names_test.go).
	apps := startAppPeer(t)

	// 3. tapwatchd against qemu:///system.
	rules := e.writeRules(t)
	sock := filepath.Join(state, "tapwatch.sock")
	evePath := filepath.Join(state, "eve.json")
	bpffs := fmt.Sprintf("/sys/fs/bpf/tapwatch-e2e-qemu-%d", os.Getpid())
	cfg := daemonConfig("twq-host-a", state, rules, bpffs, bridge, sock)
	// On one host the migration target is a second libvirtd: follow both, as
	// two hosts' agents each follow their own.
	cfg.Libvirt.ExtraURIs = []string{dstURI}
	cfg.Record.Mode = "alerts"
	cfgPath := filepath.Join(state, "tapwatch.yaml")
	writeAtomic(t, cfgPath, marshalConfig(t, cfg), 0o644)
	logPath := filepath.Join(state, "tapwatchd.log")
	daemon, st := e.startTapwatchd(t, cfgPath, sock, logPath, bpffs)
	cli := api.NewClient(sock)
	ctx, stopTail := context.WithCancel(context.Background())
	defer stopTail()
	eve := &eveTail{}
	go eve.follow(ctx, evePath)
	// The bridge has no tap yet, so it is not a VM bridge and its uplink is not hooked yet.
	t.Logf("tapwatchd up: libvirt %s, %d rules", st.Libvirt, st.RulesLoaded)

	// 4. Define and start the guest; time virsh start -> first alert naming it.
	xmlPath := filepath.Join(state, "domain.xml")
	if err := os.WriteFile(xmlPath, []byte(domainXML(kernel, initrd, filepath.Join(consoleDir, "src.log"))), 0o644); err != nil {
		t.Fatal(err)
	}
	// host.sh down removes the definition by hand if libvirtd cannot undefine it.
	if err := os.WriteFile(filepath.Join(state, "defined"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, 2*time.Minute, "virsh", "-q", "-c", "qemu:///system", "define", xmlPath)
	tStart := time.Now()
	noIPv6For(t, func() { run(t, 2*time.Minute, "virsh", "-q", "-c", "qemu:///system", "start", domName) })
	startCmd := time.Since(tStart)
	var first *eveAlert
	if !waitFor(150*time.Second, func() bool {
		for _, a := range eve.snapshot() {
			if a.namesVM(domName, srcTap) {
				first = a
				return true
			}
		}
		return false
	}) {
		peer := readPeer(t, filepath.Join(state, "peer.log"))
		console, _ := os.ReadFile(filepath.Join(consoleDir, "src.log"))
		all := eve.snapshot()
		var ex string
		if len(all) > 0 {
			ex = all[0].raw
		}
		t.Fatalf("no marker alert naming %s on %s within 150s of virsh start: %d marker alerts (first: %s), peer got %d datagrams; console:\n%s",
			domName, srcTap, len(all), ex, len(peer), tail(string(console), 2000))
	}
	firstAlert := first.seen.Sub(tStart)
	peer := readPeer(t, filepath.Join(state, "peer.log"))
	var firstPeer time.Duration
	if len(peer) > 0 {
		firstPeer = peer[0].at.Sub(tStart)
	}
	t.Logf("MEASURE virsh start -> first alert naming %s: %.2fs (virsh start returned after %.2fs; first datagram at the peer after %.2fs)",
		domName, firstAlert.Seconds(), startCmd.Seconds(), firstPeer.Seconds())
	t.Logf("first alert: %s", first.raw)
	if len(first.VM) == 0 || first.VM[0].UUID != domUUID || first.VM[0].MAC != guestMAC || first.VM[0].Bridge != bridge ||
		first.VM[0].Role != "src" || first.InIface != srcTap {
		t.Errorf("first alert's VM context: vm=%s uuid=%v in_iface=%s; want %s uuid %s mac %s bridge %s role src on %s",
			first.vmNames(), first.VM, first.InIface, domName, domUUID, guestMAC, bridge, srcTap)
	}
	logCLI(t, binDir, sock, "vms")
	if out, _ := runErr(5*time.Second, "ip", "-6", "addr", "show", "dev", srcTap); strings.Contains(out, "inet6") {
		t.Errorf("%s has an IPv6 address: %s", srcTap, out)
	}
	checkAlertPcap(t, cli, eve, state)
	checkProfile(t, cli)

	// Let it run a little on the source.
	waitFor(30*time.Second, func() bool { return countOn(eve.snapshot(), srcTap) >= 6 })

	// 5. Live migration to the second libvirtd, tap renamed.
	xml := run(t, time.Minute, "virsh", "-q", "-c", "qemu:///system", "dumpxml", "--migratable", domName)
	dstXML := strings.ReplaceAll(xml, "<target dev='"+srcTap+"'/>", "<target dev='"+dstTap+"'/>")
	dstXML = strings.ReplaceAll(dstXML, filepath.Join(consoleDir, "src.log"), filepath.Join(consoleDir, "dst.log"))
	if dstXML == xml || !strings.Contains(dstXML, "dev='"+dstTap+"'") {
		t.Fatalf("cannot rename the tap in the migratable XML:\n%s", xml)
	}
	dstXMLPath := filepath.Join(state, "domain-dst.xml")
	if err := os.WriteFile(dstXMLPath, []byte(dstXML), 0o644); err != nil {
		t.Fatal(err)
	}
	tMig := time.Now()
	noIPv6For(t, func() {
		run(t, 3*time.Minute, "virsh", "-q", "-c", "qemu:///system", "migrate", "--live", domName, dstURI,
			"--migrateuri", fmt.Sprintf("tcp://127.0.0.1:%d", migPort), "--listen-address", "127.0.0.1", "--xml", dstXMLPath)
	})
	migDur := time.Since(tMig)
	tMigDone := time.Now()
	if out, _ := runErr(30*time.Second, "virsh", "-q", "-c", dstURI, "domstate", domName); !strings.Contains(out, "running") {
		t.Fatalf("after migration the domain on %s is %q, want running", dstURI, strings.TrimSpace(out))
	}
	srcState, _ := runErr(30*time.Second, "virsh", "-q", "-c", "qemu:///system", "domstate", domName, "--reason")
	t.Logf("MEASURE virsh migrate --live: %.2fs; source libvirtd now says %s", migDur.Seconds(), strings.TrimSpace(srcState))
	// Traffic must keep being detected once the source QEMU is gone and the source libvirtd has
	// reported the migration (STOPPED_MIGRATED): 12 more ticks (6 s) of datagrams at the peer.
	peerAfter := func() int {
		n := 0
		for _, p := range readPeer(t, filepath.Join(state, "peer.log")) {
			if p.flow == "seq" && p.at.After(tMigDone) {
				n++
			}
		}
		return n
	}
	if !waitFor(60*time.Second, func() bool { return peerAfter() >= 12 }) {
		t.Errorf("the guest's datagrams stopped after migration: %d at the peer since virsh migrate returned", peerAfter())
	}
	time.Sleep(time.Second) // let the agent catch up with the last datagram
	var firstDst *eveAlert
	after := 0
	for _, a := range eve.snapshot() {
		if a.InIface == dstTap && firstDst == nil {
			firstDst = a
		}
		if a.InIface == dstTap && a.seen.After(tMigDone) {
			after++
		}
	}
	if firstDst == nil || after < 12 {
		t.Errorf("%d marker alerts from %s after virsh migrate returned, want >= 12 (one per datagram)", after, dstTap)
	}
	if firstDst != nil {
		t.Logf("MEASURE migrate start -> first alert from %s: %.2fs; its VM context: %s", dstTap, firstDst.seen.Sub(tMig).Seconds(), firstDst.vmNames())
		t.Logf("first alert after migration: %s", firstDst.raw)
	}
	logCLI(t, binDir, sock, "vms")
	logCLI(t, binDir, sock, "status")

	// 6. Hooks: each tap hooked once per direction, in the agent and in the kernel.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	st, err := cli.Status(ctx2)
	cancel2()
	if err != nil {
		t.Fatal(err)
	}
	checkHooks(t, st, logPath, bpffs, daemon.cmd.Process.Pid)

	checkProfile(t, cli)

	// 7. Pause the guest (no more datagrams), let the agent drain, then account for every
	// datagram. The guest stays defined and paused until tapwatchd has stopped: the agent names
	// a flow's VMs when the flow ends, and the flows still open end at its shutdown.
	run(t, time.Minute, "virsh", "-q", "-c", dstURI, "suspend", domName)
	time.Sleep(3 * time.Second)
	account(t, eve.snapshot(), readPeer(t, filepath.Join(state, "peer.log")), tMigDone)
	// The running daemon's view of the VM's names: its DNS flows end on the wall clock.
	checkLiveNames(t, cli, binDir, sock, apps)

	// 8. Stop tapwatchd (its flows end and are stored at shutdown), then read the flow store.
	daemon.stop(t)
	if err := <-daemon.done; err != nil {
		t.Errorf("tapwatchd exit after SIGTERM: %v", err)
	}
	run(t, time.Minute, "virsh", "-q", "-c", dstURI, "destroy", domName)
	checkFlowStore(t, filepath.Join(state, "flows.db"), readPeer(t, filepath.Join(state, "peer.log")))
	checkFlowNames(t, filepath.Join(state, "flows.db"), apps)

	t.Logf("MEASURE TestQEMU body: %.1fs", time.Since(testStart).Seconds())
}

// noIPv6For runs fn with net.ipv6.conf.default.disable_ipv6=1 in the root namespace, so the taps
// libvirt creates meanwhile (twq0, twq1) get no IPv6 link-local address and the host sends no
// router solicitation or DAD on them. New network namespaces are not affected
// (net.core.devconf_inherit_init_net=0 resets IPv6 settings in new namespaces).
func noIPv6For(t *testing.T, fn func()) {
	t.Helper()
	const knob = "/proc/sys/net/ipv6/conf/default/disable_ipv6"
	old, err := os.ReadFile(knob)
	if err != nil {
		fn() // no IPv6 at all
		return
	}
	if err := os.WriteFile(knob, []byte("1"), 0o644); err != nil {
		t.Fatalf("disable IPv6 for new interfaces: %v", err)
	}
	defer func() {
		if err := os.WriteFile(knob, old, 0o644); err != nil {
			t.Errorf("restore %s to %s: %v", knob, strings.TrimSpace(string(old)), err)
		}
	}()
	fn()
}

func hasHook(st api.Status, ifname, hook string) bool {
	for _, h := range st.Hooks {
		if h.Interface == ifname+"/"+hook {
			return true
		}
	}
	return false
}

func countOn(alerts []*eveAlert, iface string) int {
	n := 0
	for _, a := range alerts {
		if a.InIface == iface {
			n++
		}
	}
	return n
}

func logCLI(t *testing.T, binDir, sock string, args ...string) {
	t.Helper()
	out, err := runErr(15*time.Second, filepath.Join(binDir, "tapwatch"), append([]string{"--socket", sock}, args...)...)
	if err != nil {
		t.Errorf("tapwatch %s: %v\n%s", strings.Join(args, " "), err, out)
		return
	}
	t.Logf("tapwatch %s:\n%s", strings.Join(args, " "), out)
}

// checkHooks asserts that every interface of the test is hooked once per direction: once in the
// agent's status, once in its log ("hook attached"), and once in the kernel (TCX).
func checkHooks(t *testing.T, st api.Status, logPath, bpffs string, pid int) {
	t.Helper()
	seen := map[string]int{}
	for _, h := range st.Hooks {
		seen[fmt.Sprintf("%d:%s", h.Ifindex, h.Interface)]++
	}
	for k, n := range seen {
		if n > 1 {
			t.Errorf("status lists hook %s %d times", k, n)
		}
	}
	for _, want := range []string{dstTap + "/tap-ingress", dstTap + "/tap-egress", uplink + "/uplink-ingress", uplink + "/uplink-egress"} {
		if !hasHook(st, strings.SplitN(want, "/", 2)[0], strings.SplitN(want, "/", 2)[1]) {
			t.Errorf("status has no hook %s after migration", want)
		}
	}
	if hasHook(st, srcTap, "tap-ingress") {
		t.Errorf("status still lists a hook on %s, which left with the source QEMU", srcTap)
	}
	b, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	attached := map[string]int{}
	re := regexp.MustCompile(`hook attached.*interface=(\S+) hook=(\S+)`)
	for _, l := range strings.Split(string(b), "\n") {
		if m := re.FindStringSubmatch(l); m != nil {
			attached[m[1]+"/"+m[2]]++
		}
	}
	var keys []string
	for k := range attached {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var summary []string
	for _, k := range keys {
		summary = append(summary, fmt.Sprintf("%s x%d", k, attached[k]))
		if attached[k] > 1 && strings.HasPrefix(k, "twq") {
			t.Errorf("tapwatchd log says hook %s was attached %d times", k, attached[k])
		}
	}
	t.Logf("hook attached (tapwatchd log): %s", strings.Join(summary, ", "))
	for _, ifn := range []string{srcTap, dstTap} {
		if attached[ifn+"/tap-ingress"] != 1 || attached[ifn+"/tap-egress"] != 1 {
			t.Errorf("%s: tap hooks attached %d/%d times (ingress/egress), want 1/1", ifn, attached[ifn+"/tap-ingress"], attached[ifn+"/tap-egress"])
		}
	}
	owners := linkOwners()
	for _, ifn := range []string{dstTap, uplink} {
		for _, at := range []ebpf.AttachType{ebpf.AttachTCXIngress, ebpf.AttachTCXEgress} {
			mine, foreign, err := tcxPrograms(ifn, at, bpffs, pid, owners)
			if err != nil {
				t.Errorf("query TCX programs on %s: %v", ifn, err)
				continue
			}
			t.Logf("kernel: %s %s: %d tapwatch program(s) of our tapwatchd; other agents' %v", ifn, at, mine, foreign)
			if mine != 1 {
				t.Errorf("%s %s: %d tapwatch TCX programs attached by our tapwatchd, want exactly 1", ifn, at, mine)
			}
		}
	}
}

// account compares what reached the peer with the marker alerts: every per-seq datagram the peer
// got must have exactly one alert, and the fixed flow as many alerts as datagrams.
func account(t *testing.T, alerts []*eveAlert, peer []peerLine, tMigDone time.Time) {
	t.Helper()
	perSeq := map[int]int{} // seq -> alerts
	var fixedAlerts, strangers, unattributedAfter, attributedAfter int
	names := map[string]int{}
	for _, a := range alerts {
		switch {
		case a.SrcPort == fixedPort:
			fixedAlerts++
		case a.SrcPort > seqBase && a.SrcPort < 60000:
			perSeq[a.SrcPort-seqBase]++
		default:
			strangers++
		}
		if a.InIface == dstTap && a.seen.After(tMigDone.Add(2*time.Second)) {
			if a.namesVM(domName, dstTap) {
				attributedAfter++
			} else {
				unattributedAfter++
			}
		}
		names[a.InIface+" "+a.vmNames()]++
	}
	var fixedPeer, seqPeer int
	gotSeq := map[int]bool{}
	var lost, dup []int
	maxGap, gapAt := time.Duration(0), 0
	var prev time.Time
	for _, p := range peer {
		if p.flow == "fixed" {
			fixedPeer++
			if !prev.IsZero() && p.at.Sub(prev) > maxGap {
				maxGap, gapAt = p.at.Sub(prev), p.seq
			}
			prev = p.at
			continue
		}
		seqPeer++
		gotSeq[p.seq] = true
		switch perSeq[p.seq] {
		case 0:
			lost = append(lost, p.seq)
		case 1:
		default:
			dup = append(dup, p.seq)
		}
	}
	var phantom []int
	for s := range perSeq {
		if !gotSeq[s] {
			phantom = append(phantom, s)
		}
	}
	sort.Ints(phantom)
	var nk []string
	for k, n := range names {
		nk = append(nk, fmt.Sprintf("%s: %d", k, n))
	}
	sort.Strings(nk)
	t.Logf("alerts by interface and VM context:\n  %s", strings.Join(nk, "\n  "))
	t.Logf("MEASURE accounting: peer received %d per-seq + %d fixed-flow datagrams; EVE has %d marker alerts (%d per-seq distinct, %d fixed-flow, %d other ports); lost %d, duplicated %d, alerts without a datagram %d",
		seqPeer, fixedPeer, len(alerts), len(perSeq), fixedAlerts, strangers, len(lost), len(dup), len(phantom))
	t.Logf("MEASURE largest gap between datagrams at the peer (guest pause during migration): %.2fs before seq %d", maxGap.Seconds(), gapAt)
	t.Logf("settled after migration (>2 s after virsh migrate returned): %d alerts from %s naming %s on %s, %d without it", attributedAfter, dstTap, domName, dstTap, unattributedAfter)
	if seqPeer < 10 {
		t.Errorf("peer received only %d per-seq datagrams", seqPeer)
	}
	if len(lost) > 0 {
		t.Errorf("%d datagrams reached the peer without an alert: seqs %v", len(lost), clip(lost))
	}
	if len(dup) > 0 {
		gap(t, "%d datagrams raised more than one alert (inspected twice?): seqs %v", len(dup), clip(dup))
	}
	if len(phantom) > 0 {
		t.Errorf("%d alerts for datagrams the peer never received: seqs %v", len(phantom), clip(phantom))
	}
	if fixedAlerts != fixedPeer {
		gap(t, "fixed flow: %d datagrams at the peer, %d alerts", fixedPeer, fixedAlerts)
	}
	if strangers > 0 {
		t.Errorf("%d marker alerts from unexpected source ports", strangers)
	}
	// Attribution after migration needs the agent to follow the destination libvirtd too (one
	// host, two daemons, tapwatchd follows one URI).
	if unattributedAfter > 0 {
		gap(t, "%d alerts from %s after migration do not name %s on %s", unattributedAfter, dstTap, domName, dstTap)
	}
}

// gap reports a failure of a design property the agent is known not to meet yet: an error by
// default, a log line when TWQ_ALLOW_KNOWN_GAPS=1. Known so far:
//   - after a live migration the guest's frames are inspected twice (its new tap's ingress and
//     the uplink's egress): the VM's MAC leaves the kernel's monitored_macs map when the tap
//     libvirt named (twq0) disappears, and the new tap (twq1) is attached unattributed;
//   - alerts from the new tap are not attributed to the VM, because tapwatchd follows one
//     libvirt URI and the destination is a second libvirtd.
func gap(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("TWQ_ALLOW_KNOWN_GAPS") == "1" {
		t.Logf("KNOWN GAP (TWQ_ALLOW_KNOWN_GAPS=1): "+format, args...)
		return
	}
	t.Errorf("agent gap (TWQ_ALLOW_KNOWN_GAPS=1 logs it instead): "+format, args...)
}

func clip(s []int) []int {
	if len(s) > 20 {
		return s[:20]
	}
	return s
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// checkAlertPcap exports the packets of the first per-seq marker alert naming the VM by its
// alert_id and checks the recording holds that datagram with the exact payload the guest sent.
func checkAlertPcap(t *testing.T, cli *api.Client, eve *eveTail, state string) {
	t.Helper()
	var a *eveAlert
	if !waitFor(20*time.Second, func() bool {
		for _, x := range eve.snapshot() {
			if x.namesVM(domName, srcTap) && x.SrcPort != fixedPort && x.SrcPort > seqBase && x.SrcPort < 60000 {
				a = x
				return true
			}
		}
		return false
	}) {
		t.Errorf("no per-seq marker alert naming %s on %s", domName, srcTap)
		return
	}
	if a.AlertID == "" {
		t.Errorf("alert has no alert_id: %s", a.raw)
		return
	}
	seq := a.SrcPort - seqBase
	var sent *peerLine
	waitFor(10*time.Second, func() bool {
		for _, p := range readPeer(t, filepath.Join(state, "peer.log")) {
			if p.flow == "seq" && p.seq == seq {
				sent = &p
				return true
			}
		}
		return false
	})
	if sent == nil {
		t.Errorf("alert %s (seq %d): the peer never received the datagram", a.AlertID, seq)
		return
	}
	want := []byte(sent.payload())
	path := filepath.Join(state, "alert-"+a.AlertID+".pcapng")
	var got []string
	var n int
	var lastErr error
	// The recorder's writer runs behind the alert; retry briefly until the datagram is in.
	ok := waitFor(10*time.Second, func() bool {
		got, n, lastErr = nil, 0, nil
		f, err := os.Create(path)
		if err != nil {
			lastErr = err
			return false
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err = cli.Pcap(ctx, record.Query{AlertID: a.AlertID}, f)
		cancel()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			lastErr = err
			return false
		}
		r, err := decode.OpenPcap(path)
		if err != nil {
			lastErr = err
			return false
		}
		defer r.Close()
		dec := decode.NewDecoder(decode.Config{})
		found := false
		for {
			data, ci, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				lastErr = err
				return false
			}
			n++
			var p decode.Packet
			p.Timestamp = ci.Timestamp
			if !dec.Decode(r.LinkType(), data, &p) || !p.IsUDP() {
				continue
			}
			if p.SrcPort == uint16(a.SrcPort) && p.DstPort == peerPort {
				got = append(got, fmt.Sprintf("%s:%d -> %s:%d %q", p.SrcIP, p.SrcPort, p.DstIP, p.DstPort, p.Payload))
				if bytes.Equal(p.Payload, want) && p.SrcIP == netip.MustParseAddr(strings.Split(guestIP, "/")[0]) &&
					p.DstIP == netip.MustParseAddr(peerIP) {
					found = true
				}
			}
		}
		return found
	})
	if !ok {
		t.Errorf("pcap of alert %s (seq %d, src_port %d): no packet from the guest to %s:%d with payload %q among %d packets (matching port: %v; last error: %v)",
			a.AlertID, seq, a.SrcPort, peerIP, peerPort, want, n, got, lastErr)
		return
	}
	t.Logf("pcap of alert %s: %d packets; seq %d datagram carries %q byte for byte", a.AlertID, n, seq, want)
}

// checkProfile asserts the VM's profile lists the guest's address.
func checkProfile(t *testing.T, cli *api.Client) {
	t.Helper()
	ip := strings.Split(guestIP, "/")[0]
	var prof api.Profile
	var err error
	if !waitFor(10*time.Second, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if prof, err = cli.Profile(ctx, domName); err != nil {
			return false
		}
		for _, a := range prof.Addresses {
			if a == ip {
				return true
			}
		}
		return false
	}) {
		t.Errorf("profile of %s: addresses %v, want %s (error: %v)", domName, prof.Addresses, ip, err)
		return
	}
	t.Logf("profile of %s: addresses %v, %d services", domName, prof.Addresses, len(prof.Services))
}

// checkFlowStore opens the stopped agent's flow store and asserts it holds the guest's flows to
// the peer (one per per-seq datagram the peer received, and the fixed flow), attributed to the
// VM, and that the VM's services list it as the peer's client.
func checkFlowStore(t *testing.T, path string, peerLog []peerLine) {
	t.Helper()
	st, err := flowstore.Open(path, flowstore.Options{})
	if err != nil {
		t.Errorf("open flow store: %v", err)
		return
	}
	defer func() {
		if err := st.Close(); err != nil {
			t.Errorf("close flow store: %v", err)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	peer := netip.MustParseAddr(peerIP)
	guest := netip.MustParseAddr(strings.Split(guestIP, "/")[0])
	recs, err := st.Query(ctx, flowstore.Filter{VM: domName, Peer: peer, Port: peerPort, Limit: 100000})
	if err != nil {
		t.Errorf("flow store query: %v", err)
		return
	}
	var fixed, seq, other int
	stored := map[uint16]bool{}
	for _, r := range recs {
		if r.SrcVM != domName || r.SrcVMUUID != domUUID || r.SrcIP != guest || r.DstIP != peer || r.DstPort != peerPort || !strings.EqualFold(r.Proto, "UDP") {
			other++
			if other <= 5 {
				t.Logf("flow record not from %s to %s:%d: %+v", domName, peerIP, peerPort, r)
			}
			continue
		}
		switch {
		case r.SrcPort == fixedPort:
			fixed++
		case r.SrcPort > seqBase && r.SrcPort < 60000:
			seq++
			stored[r.SrcPort] = true
		}
	}
	var missing []int
	for _, p := range peerLog {
		if p.flow == "seq" && !stored[uint16(seqBase+p.seq)] {
			missing = append(missing, p.seq)
		}
	}
	if len(missing) > 0 {
		t.Errorf("flow store: no record with SrcVM %s for %d per-seq datagrams the peer received: seqs %v", domName, len(missing), clip(missing))
	}
	t.Logf("MEASURE flow store: %d records for %s with %s:%d (%d fixed-flow, %d per-seq, %d other)", len(recs), domName, peerIP, peerPort, fixed, seq, other)
	if fixed < 1 || seq < 10 {
		t.Errorf("flow store: %d fixed-flow and %d per-seq records with SrcVM %s -> %s:%d, want >= 1 and >= 10", fixed, seq, domName, peerIP, peerPort)
	}
	svcs, err := st.Services(ctx, domName)
	if err != nil {
		t.Errorf("flow store services: %v", err)
		return
	}
	// One client row per (proto, peer, port, app proto): the fixed flow, which carried several
	// datagrams, may have another app proto than the one-datagram flows.
	clientFlows := 0
	for _, s := range svcs {
		t.Logf("service of %s: %s %s/%d app %q peer %s flows %d", domName, s.Role, s.Proto, s.Port, s.AppProto, s.Peer, s.Flows)
		if s.Role == flowstore.Client && s.Peer == peer && s.Port == peerPort && strings.EqualFold(s.Proto, "UDP") {
			clientFlows += s.Flows
		}
	}
	if clientFlows == 0 || clientFlows < fixed+seq {
		t.Errorf("flow store services of %s: client rows for udp %s:%d count %d flows, want >= %d: %+v", domName, peerIP, peerPort, clientFlows, fixed+seq, svcs)
	}
}

// daemonConfig is the tapwatchd config the QEMU tests share, built from the
// real config type so it cannot drift from the schema; every path lives in
// the test's state directory and only the test's bridge is hooked.
func daemonConfig(host, state, rules, bpffs, bridge, sock string) config.Config {
	cfg := config.Default()
	cfg.Host = host
	cfg.Rules.Files = []string{rules}
	cfg.Rules.AddressGroups = map[string]string{"HOME_NET": "[10.99.0.0/24]", "EXTERNAL_NET": "!$HOME_NET"}
	cfg.Capture.BPFFS, cfg.Capture.Bridges = bpffs, []string{bridge}
	cfg.Outputs.EVE.Path = filepath.Join(state, "eve.json")
	cfg.Flows.Store = filepath.Join(state, "flows.db")
	cfg.Record.Dir = filepath.Join(state, "pcap")
	cfg.Control.Socket, cfg.Control.Group = sock, ""
	return cfg
}

func marshalConfig(t *testing.T, cfg config.Config) []byte {
	t.Helper()
	b, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
