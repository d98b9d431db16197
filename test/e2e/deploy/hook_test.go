package deploy

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// hookEnv is the environment the hook runs in: our tapwatch binary, a
// control socket and a host config.
func hookEnv(t *testing.T, socket, hostPolicy string) []string {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "tapwatch.yaml")
	if hostPolicy != "" {
		if err := os.WriteFile(cfg, []byte("hook:\n  policy: "+hostPolicy+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	} // else: no config file at all, the built-in default applies
	return []string{"TAPWATCH=" + filepath.Join(binaries(t), "tapwatch"), "TAPWATCH_SOCKET=" + socket, "TAPWATCH_CONFIG=" + cfg}
}

type hookCase struct {
	op, subop string
	wantFail  bool
}

// The operations libvirt runs a hook for, in start and stop order; only
// prepare (and migrate on a destination) can keep a VM from starting.
func ops(gate bool) []hookCase {
	return []hookCase{
		{"prepare", "begin", gate},
		{"start", "begin", false},
		{"started", "begin", false},
		{"stopped", "end", false},
		{"release", "end", false},
	}
}

func checkHook(t *testing.T, r result, c hookCase, limit time.Duration, stderrHas ...string) {
	t.Helper()
	if r.stdout != "" {
		t.Errorf("%s: hook wrote to stdout (libvirt would take it as domain XML): %q", c.op, r.stdout)
	}
	if c.wantFail && r.code == 0 {
		t.Errorf("%s: exit 0, want non-zero (refuse to start unmonitored); stderr %q", c.op, r.stderr)
	}
	if !c.wantFail && r.code != 0 {
		t.Errorf("%s: exit %d, want 0; stderr %q", c.op, r.code, r.stderr)
	}
	for _, s := range stderrHas {
		if !strings.Contains(r.stderr, s) {
			t.Errorf("%s: stderr does not say %q: %q", c.op, s, r.stderr)
		}
	}
	if r.took > limit {
		t.Errorf("%s: took %v, want < %v", c.op, r.took, limit)
	}
}

// TestHookAgentDown: the socket does not exist (tapwatchd stopped).
func TestHookAgentDown(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "absent.sock")
	const quick = 2 * time.Second
	cases := []struct {
		name, host, vm string
		gate           bool
		says           string
	}{
		{"default-policy", "", "", false, "unmonitored"},
		{"host-fail-open", "fail-open", "", false, "unmonitored"},
		{"host-fail-closed", "fail-closed", "", true, "fail-closed"},
		{"vm-fail-closed-over-host-fail-open", "fail-open", "fail-closed", true, "fail-closed"},
		{"vm-fail-open-over-host-fail-closed", "fail-closed", "fail-open", false, "unmonitored"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := hookEnv(t, sock, tc.host)
			xml := domainXML("vm1", "twtap9", "twbr9", "52:54:00:00:00:09", tc.vm)
			for _, c := range ops(tc.gate) {
				r := hookScript(t, 10*time.Second, env, xml, "vm1", c.op, c.subop)
				if c.wantFail {
					checkHook(t, r, c, quick, "refusing to start vm1", tc.says)
				} else {
					checkHook(t, r, c, quick, "unmonitored")
				}
			}
			// A destination host's `migrate begin` is gated like prepare.
			r := hookScript(t, 10*time.Second, env, xml, "vm1", "migrate", "begin")
			checkHook(t, r, hookCase{"migrate", "begin", tc.gate}, quick)
		})
	}
}

// hungListener accepts connections on a unix socket and never answers: a
// tapwatchd that is wedged.
func hungListener(t *testing.T) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "hung.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // held open, never read or written
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return sock
}

// TestHookAgentHung: the socket exists and accepts, nobody answers. The hook
// must return within its timeout and then apply the policy.
func TestHookAgentHung(t *testing.T) {
	sock := hungListener(t)
	// `tapwatch hook` gives up after 3s; the script's own bound is 5s.
	const bound = 4500 * time.Millisecond
	xml := domainXML("vm2", "twtap8", "twbr8", "52:54:00:00:00:08", "")
	t.Run("fail-open", func(t *testing.T) {
		t.Parallel()
		r := hookScript(t, 10*time.Second, hookEnv(t, sock, "fail-open"), xml, "vm2", "prepare", "begin")
		checkHook(t, r, hookCase{"prepare", "begin", false}, bound, "unmonitored")
		t.Logf("hung agent, fail-open: exit %d after %v: %s", r.code, r.took.Round(time.Millisecond), strings.TrimSpace(r.stderr))
	})
	t.Run("fail-closed", func(t *testing.T) {
		t.Parallel()
		r := hookScript(t, 10*time.Second, hookEnv(t, sock, "fail-closed"), xml, "vm2", "prepare", "begin")
		checkHook(t, r, hookCase{"prepare", "begin", true}, bound, "refusing to start vm2")
		t.Logf("hung agent, fail-closed: exit %d after %v: %s", r.code, r.took.Round(time.Millisecond), strings.TrimSpace(r.stderr))
	})
	t.Run("fail-closed-release", func(t *testing.T) {
		t.Parallel()
		r := hookScript(t, 10*time.Second, hookEnv(t, sock, "fail-closed"), xml, "vm2", "release", "end")
		checkHook(t, r, hookCase{"release", "end", false}, bound, "unmonitored")
	})
	// The script's own timeout (TAPWATCH_HOOK_TIMEOUT, here shorter than the
	// CLI's) kills the CLI and applies TAPWATCH_HOOK_ON_TIMEOUT.
	t.Run("script-timeout-open", func(t *testing.T) {
		t.Parallel()
		env := append(hookEnv(t, sock, "fail-open"), "TAPWATCH_HOOK_TIMEOUT=1")
		r := hookScript(t, 10*time.Second, env, xml, "vm2", "prepare", "begin")
		checkHook(t, r, hookCase{"prepare", "begin", false}, 2500*time.Millisecond, "did not answer within 1s")
	})
	t.Run("script-timeout-closed", func(t *testing.T) {
		t.Parallel()
		env := append(hookEnv(t, sock, "fail-open"), "TAPWATCH_HOOK_TIMEOUT=1", "TAPWATCH_HOOK_ON_TIMEOUT=closed")
		r := hookScript(t, 10*time.Second, env, xml, "vm2", "prepare", "begin")
		checkHook(t, r, hookCase{"prepare", "begin", true}, 2500*time.Millisecond, "did not answer within 1s")
	})
}

// TestHookWithoutTapwatch: the CLI is not installed; the hook lets libvirt go on.
func TestHookWithoutTapwatch(t *testing.T) {
	env := []string{"TAPWATCH=" + filepath.Join(t.TempDir(), "missing")}
	r := hookScript(t, 5*time.Second, env, "<domain/>", "vm3", "prepare", "begin")
	checkHook(t, r, hookCase{"prepare", "begin", false}, 2*time.Second, "not found")
}
