package deploy

import (
	"github.com/tapwatch/tapwatch/test/testutil"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// installer runs deploy/install.sh into a DESTDIR with stand-in binaries, so
// it needs neither root nor a build.
type installer struct {
	t       *testing.T
	root    string // repo
	dest    string // DESTDIR
	binsrc  string
	unitDir string
}

func newInstaller(t *testing.T) *installer {
	t.Helper()
	in := &installer{t: t, root: testutil.RepoRoot(t), dest: t.TempDir(), binsrc: t.TempDir(), unitDir: "/lib/systemd/system"}
	for _, b := range []string{"tapwatchd", "tapwatch"} {
		if err := os.WriteFile(filepath.Join(in.binsrc, b), []byte("#!/bin/sh\necho "+b+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return in
}

func (in *installer) run(extraEnv ...string) string {
	in.t.Helper()
	env := append([]string{"DESTDIR=" + in.dest, "BINSRC=" + in.binsrc, "SYSTEMDUNITDIR=" + in.unitDir}, extraEnv...)
	r := run(in.t, 30*time.Second, env, "", "bash", filepath.Join(in.root, "deploy/install.sh"))
	if r.code != 0 {
		in.t.Fatalf("install.sh exited %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

func (in *installer) path(p string) string { return filepath.Join(in.dest, p) }

func (in *installer) write(p, content string, mode os.FileMode) {
	in.t.Helper()
	full := in.path(p)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		in.t.Fatal(err)
	}
	if err := os.WriteFile(full, []byte(content), mode); err != nil {
		in.t.Fatal(err)
	}
}

func (in *installer) read(p string) string {
	in.t.Helper()
	b, err := os.ReadFile(in.path(p))
	if err != nil {
		in.t.Fatalf("expected %s: %v", p, err)
	}
	return string(b)
}

func (in *installer) shipped(p string) string {
	in.t.Helper()
	b, err := os.ReadFile(filepath.Join(in.root, p))
	if err != nil {
		in.t.Fatal(err)
	}
	return string(b)
}

func (in *installer) wantMode(p string, mode os.FileMode) {
	in.t.Helper()
	st, err := os.Stat(in.path(p))
	if err != nil {
		in.t.Errorf("expected %s: %v", p, err)
		return
	}
	if st.Mode().Perm() != mode {
		in.t.Errorf("%s: mode %v, want %v", p, st.Mode().Perm(), mode)
	}
}

func (in *installer) wantAbsent(p string) {
	in.t.Helper()
	if _, err := os.Lstat(in.path(p)); err == nil {
		in.t.Errorf("%s exists, want it absent", p)
	}
}

// snapshot maps every path under DESTDIR to its mode, size and mtime.
func (in *installer) snapshot() map[string]string {
	in.t.Helper()
	m := map[string]string{}
	filepath.Walk(in.dest, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		m[strings.TrimPrefix(p, in.dest)] = fi.Mode().String() + " " + fi.ModTime().String() + " " + strconv.FormatInt(fi.Size(), 10)
		return nil
	})
	return m
}

func wantContains(t *testing.T, what, s, sub string) {
	t.Helper()
	if !strings.Contains(s, sub) {
		t.Errorf("%s does not contain %q:\n%s", what, sub, s)
	}
}

func TestInstallFresh(t *testing.T) {
	in := newInstaller(t)
	out := in.run()
	t.Log(out)

	in.wantMode("/usr/bin/tapwatchd", 0o755)
	in.wantMode("/usr/bin/tapwatch", 0o755)
	if got := in.read("/usr/bin/tapwatchd"); !strings.Contains(got, "echo tapwatchd") {
		t.Errorf("/usr/bin/tapwatchd is not the built binary: %q", got)
	}
	in.wantMode("/lib/systemd/system/tapwatchd.service", 0o644)
	if in.read("/lib/systemd/system/tapwatchd.service") != in.shipped("deploy/systemd/tapwatchd.service") {
		t.Error("unit differs from deploy/systemd/tapwatchd.service with PREFIX=/usr")
	}
	in.wantMode("/etc/libvirt/hooks/qemu", 0o755)
	if in.read("/etc/libvirt/hooks/qemu") != in.shipped("deploy/libvirt/hooks/qemu") {
		t.Error("hook differs from deploy/libvirt/hooks/qemu with PREFIX=/usr")
	}
	in.wantAbsent("/etc/libvirt/hooks/qemu.d")
	in.wantMode("/etc/tapwatch", 0o750)
	in.wantMode("/etc/tapwatch/tapwatch.yaml", 0o640)
	if in.read("/etc/tapwatch/tapwatch.yaml") != in.shipped("deploy/tapwatch.yaml") {
		t.Error("config differs from deploy/tapwatch.yaml")
	}
	in.wantAbsent("/etc/tapwatch/tapwatch.yaml.dist")
	rules, _ := filepath.Glob(filepath.Join(in.root, "deploy/rules/*.rules"))
	if len(rules) == 0 {
		t.Fatal("no deploy/rules/*.rules")
	}
	for _, r := range rules {
		in.wantMode("/etc/tapwatch/rules/"+filepath.Base(r), 0o644)
	}
	in.wantMode("/var/log/tapwatch", 0o750)
	wantContains(t, "output", out, "restart libvirtd")
	wantContains(t, "output", out, "installed /etc/libvirt/hooks/qemu")

	// A second run changes nothing and says so.
	before := in.snapshot()
	time.Sleep(10 * time.Millisecond)
	out2 := in.run()
	for _, w := range []string{"installed", "updated", "created /"} {
		if strings.Contains(out2, w+" ") {
			t.Errorf("second run still %s something:\n%s", w, out2)
		}
	}
	wantContains(t, "second run", out2, "unchanged /etc/libvirt/hooks/qemu")
	after := in.snapshot()
	for p, v := range before {
		if after[p] != v {
			t.Errorf("second run changed %s: %s -> %s", p, v, after[p])
		}
	}
	if len(after) != len(before) {
		t.Errorf("second run added files: %d -> %d paths", len(before), len(after))
	}
}

func TestInstallKeepsForeignHookAndConfig(t *testing.T) {
	in := newInstaller(t)
	const foreign = "#!/bin/sh\n# the operator's own hook (e.g. for PCI passthrough)\nexit 0\n"
	in.write("/etc/libvirt/hooks/qemu", foreign, 0o700)
	const myConfig = "host: kvm-07\nhook:\n  policy: fail-closed\n"
	in.write("/etc/tapwatch/tapwatch.yaml", myConfig, 0o600)
	in.write("/etc/tapwatch/rules/tapwatch.rules", "# emptied by the operator\n", 0o644)

	out := in.run()
	t.Log(out)
	if got := in.read("/etc/libvirt/hooks/qemu"); got != foreign {
		t.Errorf("foreign hook overwritten:\n%s", got)
	}
	in.wantMode("/etc/libvirt/hooks/qemu", 0o700)
	in.wantMode("/etc/libvirt/hooks/qemu.d/tapwatch", 0o755)
	if in.read("/etc/libvirt/hooks/qemu.d/tapwatch") != in.shipped("deploy/libvirt/hooks/qemu") {
		t.Error("qemu.d/tapwatch is not our hook")
	}
	wantContains(t, "output", out, "foreign hook")
	wantContains(t, "output", out, "restart libvirtd")

	if got := in.read("/etc/tapwatch/tapwatch.yaml"); got != myConfig {
		t.Errorf("existing config replaced:\n%s", got)
	}
	if in.read("/etc/tapwatch/tapwatch.yaml.dist") != in.shipped("deploy/tapwatch.yaml") {
		t.Error("tapwatch.yaml.dist is not the shipped config")
	}
	if got := in.read("/etc/tapwatch/rules/tapwatch.rules"); got != "# emptied by the operator\n" {
		t.Errorf("locally edited rules replaced:\n%s", got)
	}
	if in.read("/etc/tapwatch/rules/tapwatch.rules.dist") != in.shipped("deploy/rules/tapwatch.rules") {
		t.Error("tapwatch.rules.dist is not the shipped rules file")
	}

	// Idempotent with the foreign hook in place.
	out2 := in.run()
	wantContains(t, "second run", out2, "unchanged /etc/libvirt/hooks/qemu.d/tapwatch")
	if strings.Contains(out2, "installed ") || strings.Contains(out2, "updated ") {
		t.Errorf("second run changed something:\n%s", out2)
	}
	if in.read("/etc/libvirt/hooks/qemu") != foreign {
		t.Error("second run overwrote the foreign hook")
	}

	// The operator later removes their hook: ours stays in qemu.d and is not
	// installed a second time as hooks/qemu (libvirt would run it twice).
	os.Remove(in.path("/etc/libvirt/hooks/qemu"))
	in.run()
	in.wantAbsent("/etc/libvirt/hooks/qemu")
	in.wantMode("/etc/libvirt/hooks/qemu.d/tapwatch", 0o755)
}

func TestInstallUpdatesOurOwnHook(t *testing.T) {
	in := newInstaller(t)
	old := strings.Replace(in.shipped("deploy/libvirt/hooks/qemu"), "TIMEOUT:-5", "TIMEOUT:-9", 1)
	in.write("/etc/libvirt/hooks/qemu", old, 0o755)
	out := in.run()
	wantContains(t, "output", out, "updated /etc/libvirt/hooks/qemu")
	if in.read("/etc/libvirt/hooks/qemu") != in.shipped("deploy/libvirt/hooks/qemu") {
		t.Error("an older tapwatch hook was not updated in place")
	}
	in.wantAbsent("/etc/libvirt/hooks/qemu.d")
	wantContains(t, "output", out, "already there")
}

func TestInstallPrefix(t *testing.T) {
	in := newInstaller(t)
	in.unitDir = "/usr/lib/systemd/system"
	in.run("PREFIX=/opt/tapwatch")
	in.wantMode("/opt/tapwatch/bin/tapwatchd", 0o755)
	in.wantMode("/opt/tapwatch/bin/tapwatch", 0o755)
	in.wantAbsent("/usr/bin")
	unit := in.read("/usr/lib/systemd/system/tapwatchd.service")
	wantContains(t, "unit", unit, "ExecStart=/opt/tapwatch/bin/tapwatchd --config /etc/tapwatch/tapwatch.yaml")
	hook := in.read("/etc/libvirt/hooks/qemu")
	wantContains(t, "hook", hook, "TAPWATCH=${TAPWATCH:-/opt/tapwatch/bin/tapwatch}")
}

func TestInstallRefusesHostWithoutRoot(t *testing.T) {
	argv := []string{"bash", filepath.Join(testutil.RepoRoot(t), "deploy/install.sh")}
	if os.Geteuid() == 0 {
		// As root install.sh would install onto this host: run it as nobody.
		argv = append([]string{"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"}, argv...)
	}
	r := run(t, 30*time.Second, nil, "", argv...)
	if r.code == 0 || !strings.Contains(r.stderr, "root") {
		t.Errorf("install.sh without DESTDIR as non-root: exit %d, stderr %q", r.code, r.stderr)
	}
}
