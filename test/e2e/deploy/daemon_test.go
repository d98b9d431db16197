package deploy

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tapwatch/tapwatch/agent/lab"
	"github.com/tapwatch/tapwatch/test/testutil"
)

// Capability numbers (linux/capability.h).
var capNum = map[string]uint{
	"CAP_NET_ADMIN":    12,
	"CAP_SYS_ADMIN":    21,
	"CAP_SYS_RESOURCE": 24,
	"CAP_PERFMON":      38,
	"CAP_BPF":          39,
}

// unitCaps reads the AmbientCapabilities= of the shipped unit: the set
// tapwatchd runs with under systemd (User=root, the same bounding set).
func unitCaps(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testutil.RepoRoot(t), "deploy/systemd/tapwatchd.service"))
	if err != nil {
		t.Fatal(err)
	}
	var amb, bnd []string
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "AmbientCapabilities="); ok {
			amb = strings.Fields(v)
		}
		if v, ok := strings.CutPrefix(line, "CapabilityBoundingSet="); ok {
			bnd = strings.Fields(v)
		}
	}
	if len(amb) == 0 || strings.Join(amb, " ") != strings.Join(bnd, " ") {
		t.Fatalf("unit: AmbientCapabilities=%v and CapabilityBoundingSet=%v should be the same non-empty set", amb, bnd)
	}
	return amb
}

func capMask(caps []string) uint64 {
	var m uint64
	for _, c := range caps {
		n, ok := capNum[c]
		if !ok {
			panic("unknown capability " + c)
		}
		m |= 1 << n
	}
	return m
}

// procCaps returns a process's capability sets from /proc/PID/status.
func procCaps(pid int) (map[string]uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, err
	}
	out := map[string]uint64{}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.HasPrefix(k, "Cap") {
			out[k], _ = strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
	}
	return out, nil
}

// setprivArgs runs a command as root with exactly caps as its bounding,
// inheritable, ambient (and so permitted and effective) sets: what systemd
// does for User=root + CapabilityBoundingSet= + AmbientCapabilities=.
func setprivArgs(caps []string) []string {
	spec := "-all"
	for _, c := range caps {
		spec += ",+" + strings.ToLower(strings.TrimPrefix(c, "CAP_"))
	}
	return []string{"setpriv", "--bounding-set=" + spec, "--inh-caps=" + spec, "--ambient-caps=" + spec, "--"}
}

type daemon struct {
	cmd    *exec.Cmd
	log    *bytes.Buffer
	socket string
	eve    string
	done   chan error
}

type labEnv struct {
	lab    *lab.Lab
	dir    string
	bpffs  string
	bin    string
	config string
	socket string
	eve    string
}

func upLab(t *testing.T) *labEnv {
	t.Helper()
	testutil.RequireRoot(t)
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Fatalf("setpriv (util-linux) not found: %v", err)
	}
	bin := binaries(t)
	e := &labEnv{bin: bin, dir: t.TempDir(), bpffs: testutil.BPFFS(t)}
	cfg, err := lab.NewConfig("tc")
	if err != nil {
		t.Fatal(err)
	}
	cfg.XMLPath = filepath.Join(e.dir, "libvirt.xml")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e.lab, err = lab.Up(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lab.Down(cfg) })
	e.socket = filepath.Join(e.dir, "tw.sock")
	e.eve = filepath.Join(e.dir, "eve.json")
	e.config = filepath.Join(e.dir, "tapwatch.yaml")
	yaml := fmt.Sprintf(`host: caps-host
libvirt:
  uri: %s
rules:
  files:
    - %s
  address-groups:
    HOME_NET: "[10.77.0.0/24]"
capture:
  bpffs: %s
  hook-mode: tcx
  bridges: [%s]
workers: 2
outputs:
  eve:
    path: %s
flows:
  store: %s
record:
  dir: %s
control:
  socket: %s
  group: ""
`, e.lab.URI(), filepath.Join(testutil.RepoRoot(t), "deploy/rules/tapwatch.rules"), filepath.Join(e.bpffs, "tapwatch"),
		cfg.Bridge, e.eve, filepath.Join(e.dir, "flows.db"), filepath.Join(e.dir, "pcap"), e.socket)
	if err := os.WriteFile(e.config, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return e
}

// start runs bin/tapwatchd under setpriv with exactly caps.
func (e *labEnv) start(t *testing.T, caps []string) *daemon {
	t.Helper()
	return e.startConfig(t, caps, e.config)
}

func (e *labEnv) startConfig(t *testing.T, caps []string, config string) *daemon {
	t.Helper()
	os.Remove(e.eve)
	argv := append(setprivArgs(caps), filepath.Join(e.bin, "tapwatchd"), "--config", config, "--detach-on-exit")
	d := &daemon{cmd: exec.Command(argv[0], argv[1:]...), log: &bytes.Buffer{}, socket: e.socket, eve: e.eve, done: make(chan error, 1)}
	d.cmd.Stdout, d.cmd.Stderr = d.log, d.log
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.done <- d.cmd.Wait() }()
	t.Cleanup(func() { d.stop(t) })
	return d
}

func (d *daemon) exited() bool { return d.cmd.ProcessState != nil }

func (d *daemon) stop(t *testing.T) {
	if d.exited() {
		return
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(10 * time.Second):
		d.cmd.Process.Kill()
		<-d.done
		t.Errorf("tapwatchd did not stop within 10s of SIGTERM")
	}
}

// waitHooks waits until `tapwatch status` lists n hooks, or the daemon exits
// (false), or limit passes (false).
func (d *daemon) waitHooks(t *testing.T, bin string, n int, limit time.Duration) (string, bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	var last string
	for time.Now().Before(deadline) {
		select {
		case <-d.done:
			d.done <- nil // let stop() see it ended
			return last, false
		default:
		}
		out, err := exec.Command(filepath.Join(bin, "tapwatch"), "--socket", d.socket, "status").CombinedOutput()
		last = string(out)
		if err == nil && strings.Count(last, "-ingress")+strings.Count(last, "-egress") >= n {
			return last, true
		}
		time.Sleep(100 * time.Millisecond)
	}
	return last, false
}

func (d *daemon) hasAlert(sid int) bool {
	f, err := os.Open(d.eve)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var ev struct {
			EventType string `json:"event_type"`
			Alert     struct {
				SID int `json:"signature_id"`
			} `json:"alert"`
		}
		if json.Unmarshal(sc.Bytes(), &ev) == nil && ev.EventType == "alert" && ev.Alert.SID == sid {
			return true
		}
	}
	return false
}

// ourBoundingSet is what this test process may hand on at all.
func ourBoundingSet(t *testing.T) uint64 {
	c, err := procCaps(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	return c["CapBnd"]
}

// TestDaemonCapabilities runs bin/tapwatchd with exactly the unit's
// capability set on a namespace lab: it must attach every hook, alert on lab
// traffic and answer the libvirt hook; then with each of the unit's
// capabilities removed in turn it must fail with an error naming the missing
// one (so the unit grants nothing it does not need).
func TestDaemonCapabilities(t *testing.T) {
	e := upLab(t)
	caps := unitCaps(t)
	bnd := ourBoundingSet(t)
	var usable []string
	for _, c := range caps {
		if bnd&(1<<capNum[c]) == 0 {
			t.Logf("%s is not in this test's bounding set (a container or sandbox took it): running without it", c)
			continue
		}
		usable = append(usable, c)
	}
	const hooks = 8 // 3 VM taps and the uplink, ingress and egress

	t.Run("unit-set", func(t *testing.T) {
		d := e.start(t, usable)
		status, ok := d.waitHooks(t, e.bin, hooks, 15*time.Second)
		if !ok {
			t.Fatalf("tapwatchd with %v did not hook the lab: status:\n%s\nlog:\n%s", usable, status, d.log)
		}
		pc, err := procCaps(d.cmd.Process.Pid)
		if err != nil {
			t.Fatal(err)
		}
		want := capMask(usable)
		for _, k := range []string{"CapEff", "CapPrm", "CapBnd"} {
			if pc[k] != want {
				t.Errorf("tapwatchd %s = %#x, want exactly %#x (%v)", k, pc[k], want, usable)
			}
		}
		t.Logf("tapwatchd runs with CapEff=%#x (%v); status:\n%s", pc["CapEff"], usable, status)

		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := lab.Traffic(ctx, e.lab, &logWriter{t}, "traversal"); err != nil {
			t.Fatal(err)
		}
		for !d.hasAlert(9900010) {
			if ctx.Err() != nil {
				t.Fatalf("no path-traversal alert (sid 9900010) in %s; log:\n%s", d.eve, d.log)
			}
			time.Sleep(100 * time.Millisecond)
		}

		t.Run("hook-agent-up", func(t *testing.T) { testHookAgentUp(t, e, d) })
	})

	// Each capability of the unit removed in turn: every one must be needed,
	// and tapwatchd must stop with an error that names the missing one.
	for _, drop := range usable {
		t.Run("without-"+drop, func(t *testing.T) {
			var rest []string
			for _, c := range usable {
				if c != drop {
					rest = append(rest, c)
				}
			}
			d := e.start(t, rest)
			if _, ok := d.waitHooks(t, e.bin, hooks, 8*time.Second); ok {
				t.Errorf("tapwatchd hooked the lab without %s: the unit need not grant it", drop)
				return
			}
			if !d.exited() {
				t.Errorf("tapwatchd without %s neither hooked the lab nor exited within 8s; log:\n%s", drop, d.log)
				return
			}
			if d.cmd.ProcessState.ExitCode() == 0 {
				t.Errorf("tapwatchd without %s exited 0", drop)
			}
			msg := d.log.String()
			if len(msg) > 2000 {
				msg = msg[:2000] + "…"
			}
			if !strings.Contains(d.log.String(), drop) {
				t.Errorf("tapwatchd without %s fails, but its error does not name %s:\n%s", drop, drop, msg)
				return
			}
			t.Logf("without %s tapwatchd exits %d: %s", drop, d.cmd.ProcessState.ExitCode(), strings.TrimSpace(msg))
		})
	}

	// With no bpffs at the parent of capture.bpffs the daemon would mount one,
	// which needs CAP_SYS_ADMIN: the unit's set must then say so, not hang.
	t.Run("no-bpffs-mounted", func(t *testing.T) {
		cfg := e.config + ".nobpffs"
		b, _ := os.ReadFile(e.config)
		nobpf := filepath.Join(e.dir, "not-bpffs", "tapwatch")
		b = bytes.Replace(b, []byte("bpffs: "+filepath.Join(e.bpffs, "tapwatch")), []byte("bpffs: "+nobpf), 1)
		if err := os.WriteFile(cfg, b, 0o600); err != nil {
			t.Fatal(err)
		}
		d := e.startConfig(t, usable, cfg)
		select {
		case <-d.done:
			d.done <- nil
		case <-time.After(8 * time.Second):
			t.Fatalf("tapwatchd without a bpffs and without CAP_SYS_ADMIN did not exit; log:\n%s", d.log)
		}
		if d.cmd.ProcessState.ExitCode() == 0 || !strings.Contains(d.log.String(), "CAP_SYS_ADMIN") {
			t.Errorf("want a non-zero exit naming CAP_SYS_ADMIN, got exit %d:\n%s", d.cmd.ProcessState.ExitCode(), d.log)
		}
		t.Logf("without a mounted bpffs: %s", strings.TrimSpace(d.log.String()))
	})
}

type logWriter struct{ t *testing.T }

func (w *logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
