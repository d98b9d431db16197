package qemu

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tapwatch/tapwatch/test/testutil"
)

// hookMarker is in every file TestQEMUHook writes to /etc, so a later run recognises what a
// killed run left behind.
const hookMarker = "twq-e2e-hook: written by test/e2e/qemu TestQEMUHook"

// hookBackupDir keeps the host's own files while the test has replaced them, on disk, so a
// killed run's successor can still put them back.
const hookBackupDir = "/var/cache/tapwatch-test/hook-backup"

// etcFile is a host file the test replaces and restores.
type etcFile struct {
	path    string
	backup  string // under hookBackupDir
	existed bool
	mode    os.FileMode
	madeDir string // a directory the test created for it (removed if empty)
}

// replaceEtc backs up path (if present), writes content in its place, and registers the
// restore. A file carrying hookMarker is a killed run's leftover: its backup, if any, is the
// host's original.
func replaceEtc(t *testing.T, path string, content []byte, mode os.FileMode) {
	t.Helper()
	f := &etcFile{path: path, backup: filepath.Join(hookBackupDir, strings.ReplaceAll(strings.TrimPrefix(path, "/"), "/", "_"))}
	if err := os.MkdirAll(hookBackupDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if cur, err := os.ReadFile(path); err == nil && bytes.Contains(cur, []byte(hookMarker)) {
		if _, err := os.Stat(f.backup); err == nil {
			t.Logf("%s is a leftover of a killed TestQEMUHook; restoring the host's file from %s", path, f.backup)
			if err := copyFile(f.backup, path); err != nil {
				t.Fatal(err)
			}
		} else {
			t.Logf("%s is a leftover of a killed TestQEMUHook; removing it", path)
			os.Remove(path)
		}
	}
	if fi, err := os.Stat(path); err == nil {
		f.existed, f.mode = true, fi.Mode().Perm()
		if err := copyFile(path, f.backup); err != nil {
			t.Fatal(err)
		}
	} else {
		os.Remove(f.backup)
		if dir := filepath.Dir(path); !exists(dir) {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			f.madeDir = dir
		}
	}
	t.Cleanup(func() {
		if f.existed {
			if err := copyFile(f.backup, f.path); err != nil {
				t.Errorf("restore %s from %s: %v", f.path, f.backup, err)
				return
			}
			os.Chmod(f.path, f.mode)
			os.Remove(f.backup)
			return
		}
		if err := os.Remove(f.path); err != nil && !os.IsNotExist(err) {
			t.Errorf("remove %s: %v", f.path, err)
		}
		if f.madeDir != "" {
			os.Remove(f.madeDir) // only if empty
		}
	})
	writeAtomic(t, path, content, mode)
}

// writeAtomic writes beside path and renames, so libvirtd running the hook meanwhile never reads
// half a file.
func writeAtomic(t *testing.T, path string, content []byte, mode os.FileMode) {
	t.Helper()
	tmp := path + ".twq-tmp"
	if err := os.WriteFile(tmp, content, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(tmp, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		t.Fatal(err)
	}
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	fi, err := os.Stat(from)
	if err != nil {
		return err
	}
	tmp := to + ".twq-tmp"
	if err := os.WriteFile(tmp, b, fi.Mode().Perm()); err != nil {
		return err
	}
	os.Chmod(tmp, fi.Mode().Perm())
	return os.Rename(tmp, to)
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// TestQEMUHook installs deploy/libvirt/hooks/qemu as /etc/libvirt/hooks/qemu before libvirtd
// starts, configured through /etc/default/tapwatch as an operator would (TAPWATCH,
// TAPWATCH_SOCKET, TAPWATCH_CONFIG), and checks against a real libvirtd that
//  1. with tapwatchd up (host policy fail-closed), virsh start succeeds, tapwatchd logs the
//     hook's prepare for the domain, and an alert names the VM;
//  2. with tapwatchd stopped and hook.policy fail-open, virsh start succeeds;
//  3. with hook.policy fail-closed, virsh start fails with tapwatch's message in its error and
//     the domain stays shut off.
//
// TWQ_HOOK_SCRIPT=path installs another hook script instead of deploy/libvirt/hooks/qemu.
func TestQEMUHook(t *testing.T) {
	testStart := time.Now()
	e := setupQEMU(t)
	state := e.state

	// libvirtd notices a new hook file only when it starts: it must be ours to start.
	if out, err := runErr(10*time.Second, "virsh", "-q", "-c", "qemu:///system", "uri"); err == nil {
		testutil.SkipOrFail(t, "a libvirtd not started by this test already serves qemu:///system (%s); it would not notice a new hook: stop it first", strings.TrimSpace(out))
	}

	// 1. The hook and its settings, before libvirtd starts. Cleanups run in reverse: host.sh down
	// (registered later) stops libvirtd before the host's files come back.
	hookSrc := filepath.Join(e.root, "deploy", "libvirt", "hooks", "qemu")
	if p := os.Getenv("TWQ_HOOK_SCRIPT"); p != "" {
		hookSrc = p
		t.Logf("TWQ_HOOK_SCRIPT: installing %s", p)
	}
	script, err := os.ReadFile(hookSrc)
	if err != nil {
		t.Fatal(err)
	}
	script = append(script, []byte("# "+hookMarker+"\n")...)
	sock := filepath.Join(state, "tapwatch.sock")
	cfgPath := filepath.Join(state, "tapwatch.yaml")
	replaceEtc(t, "/etc/default/tapwatch", []byte(fmt.Sprintf(`# %s
TAPWATCH=%s
TAPWATCH_SOCKET=%s
TAPWATCH_CONFIG=%s
`, hookMarker, filepath.Join(e.binDir, "tapwatch"), sock, cfgPath)), 0o644)
	replaceEtc(t, "/etc/libvirt/hooks/qemu", script, 0o755)

	phase := time.Now()
	e.hostUp(t)
	run(t, 2*time.Minute, "virsh", "-q", "-c", "qemu:///system", "domcapabilities", "--virttype", "qemu")
	t.Logf("hook installed, libvirtd up, bridge %s (%.1fs)", bridge, time.Since(phase).Seconds())

	// tapwatchd and the hook share one config, as on a real host; only hook.policy changes.
	rules := e.writeRules(t)
	evePath := filepath.Join(state, "eve.json")
	bpffs := fmt.Sprintf("/sys/fs/bpf/tapwatch-e2e-qemuhook-%d", os.Getpid())
	writeCfg := func(policy string) {
		cfg := daemonConfig("twq-hook-host", state, rules, bpffs, bridge, sock)
		cfg.Hook.Policy = policy
		writeAtomic(t, cfgPath, marshalConfig(t, cfg), 0o644)
	}
	writeCfg("fail-closed") // the agent answers, so the start must go through anyway
	logPath := filepath.Join(state, "tapwatchd.log")
	daemon, st := e.startTapwatchd(t, cfgPath, sock, logPath, bpffs)
	t.Logf("tapwatchd up: libvirt %s, %d rules (%.1fs into the test)", st.Libvirt, st.RulesLoaded, time.Since(testStart).Seconds())

	xmlPath := filepath.Join(state, "domain.xml")
	if err := os.WriteFile(xmlPath, []byte(domainXML(e.kernel, e.initrd, filepath.Join(e.consoleDir, "src.log"))), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(state, "defined"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, 2*time.Minute, "virsh", "-q", "-c", "qemu:///system", "define", xmlPath)
	t.Logf("defined %s (%.1fs into the test)", domName, time.Since(testStart).Seconds())
	start := func() (string, time.Duration, error) {
		var out string
		var err error
		t0 := time.Now()
		noIPv6For(t, func() { out, err = runErr(2*time.Minute, "virsh", "-q", "-c", "qemu:///system", "start", domName) })
		return out, time.Since(t0), err
	}
	domstate := func() string {
		out, _ := runErr(30*time.Second, "virsh", "-q", "-c", "qemu:///system", "domstate", domName)
		return strings.TrimSpace(out)
	}
	destroy := func() {
		run(t, time.Minute, "virsh", "-q", "-c", "qemu:///system", "destroy", domName)
		if s := domstate(); s != "shut off" {
			t.Errorf("after virsh destroy the domain is %q, want shut off", s)
		}
	}

	// 2. Agent up: the hook reports prepare, the VM starts monitored.
	ctx, stopTail := context.WithCancel(context.Background())
	defer stopTail()
	eve := &eveTail{}
	go eve.follow(ctx, evePath)
	tStart := time.Now()
	out, took, err := start()
	if err != nil {
		t.Fatalf("agent up, host policy fail-closed: virsh start: %v\n%s", err, out)
	}
	hookRE := regexp.MustCompile(`msg="libvirt hook" domain=` + regexp.QuoteMeta(domName) + ` op=(\S+)`)
	ops := func() []string {
		b, _ := os.ReadFile(logPath)
		var o []string
		for _, m := range hookRE.FindAllStringSubmatch(string(b), -1) {
			o = append(o, m[1])
		}
		return o
	}
	if !waitFor(5*time.Second, func() bool { return strings.HasPrefix(strings.Join(ops(), " "), "prepare start started") }) {
		t.Errorf("tapwatchd log: libvirt hook calls for %s are %v, want prepare start started first "+
			"(the hook did not reach %s: do TAPWATCH_SOCKET and TAPWATCH_CONFIG from /etc/default/tapwatch reach the tapwatch CLI's environment?)",
			domName, ops(), sock)
	}
	t.Logf("MEASURE agent up: virsh start returned after %.2fs; hook calls so far %v", took.Seconds(), ops())
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
		console, _ := os.ReadFile(filepath.Join(e.consoleDir, "src.log"))
		t.Fatalf("no marker alert naming %s on %s within 150s of virsh start (%d marker alerts); console:\n%s",
			domName, srcTap, len(eve.snapshot()), tail(string(console), 2000))
	}
	t.Logf("MEASURE agent up: virsh start -> first alert naming %s: %.2fs", domName, first.seen.Sub(tStart).Seconds())
	destroy()
	t.Logf("phase agent up done (%.1fs into the test)", time.Since(testStart).Seconds())
	if !waitFor(5*time.Second, func() bool { return strings.HasSuffix(strings.Join(ops(), " "), "stopped release") }) {
		t.Errorf("tapwatchd log: libvirt hook calls for %s are %v, want them to end with stopped release after destroy", domName, ops())
	}

	// 3. Agent stopped, host policy fail-open: the VM starts (unmonitored).
	daemon.stop(t)
	writeCfg("fail-open")
	out, took, err = start()
	if err != nil {
		t.Errorf("agent down, hook.policy fail-open: virsh start failed, want it to start: %v\n%s", err, out)
	} else {
		t.Logf("MEASURE agent down, fail-open: virsh start returned after %.2fs", took.Seconds())
		if s := domstate(); s != "running" {
			t.Errorf("agent down, fail-open: after virsh start the domain is %q, want running", s)
		}
		destroy()
	}

	t.Logf("phase fail-open done (%.1fs into the test)", time.Since(testStart).Seconds())

	// 4. Agent stopped, host policy fail-closed: libvirt refuses the start with tapwatch's reason.
	writeCfg("fail-closed")
	out, took, err = start()
	t.Logf("agent down, fail-closed: virsh start (%.2fs): %v\n%s", took.Seconds(), err, strings.TrimSpace(out))
	if err == nil {
		t.Errorf("agent down, hook.policy fail-closed: virsh start succeeded, want it refused "+
			"(did the hook read %s? TAPWATCH_CONFIG comes from /etc/default/tapwatch)", cfgPath)
		destroy()
	} else {
		want := "refusing to start " + domName + " unmonitored"
		if !strings.Contains(out, want) {
			t.Errorf("virsh start's error does not contain %q:\n%s", want, out)
		}
	}
	if s := domstate(); s != "shut off" {
		t.Errorf("agent down, fail-closed: the domain is %q, want shut off", s)
	}

	t.Logf("MEASURE TestQEMUHook body: %.1fs", time.Since(testStart).Seconds())
}
