package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"regexp"
	"time"

	"github.com/tapwatch/tapwatch/agent/api"
	"github.com/tapwatch/tapwatch/agent/config"
)

// HookCommand is `tapwatch hook qemu DOMAIN OP SUBOP [EXTRA]`, called by
// /etc/libvirt/hooks/qemu with the domain XML on stdin. It must return fast,
// never write to stdout (libvirt takes a migrate/restore hook's stdout as new
// domain XML) and never call libvirt (libvirtd waits for us: deadlock).
func HookCommand() Command {
	return Command{Name: "hook", Summary: "libvirt hook entry point (reads domain XML on stdin)", Run: runHook}
}

// hookTimeout bounds how long a VM start may wait for the agent.
const hookTimeout = 3 * time.Second

// metaPolicy finds tapwatch's per-VM hook policy in the domain's <metadata>.
var metaPolicy = regexp.MustCompile(`<(?:[\w-]+:)?hook-policy>\s*(fail-open|fail-closed)\s*</`)

func runHook(ctx context.Context, env *Env, args []string) int {
	if len(args) < 4 {
		fmt.Fprintln(env.Stderr, "tapwatch hook: usage: tapwatch hook qemu DOMAIN OPERATION SUB-OPERATION [EXTRA] < domain.xml")
		return 2
	}
	xml, _ := io.ReadAll(io.LimitReader(env.Stdin, 8<<20))
	ev := api.HookEvent{Object: args[0], Domain: args[1], Operation: args[2], SubOp: args[3], XML: string(xml)}

	ctx, cancel := context.WithTimeout(ctx, hookTimeout)
	defer cancel()
	rep, err := api.NewClient(env.Socket).Hook(ctx, ev)
	if err == nil {
		if !rep.Allow {
			fmt.Fprintf(env.Stderr, "tapwatch: refusing %s %s: %s\n", ev.Domain, ev.Operation, rep.Message)
			return 1
		}
		return 0
	}

	policy := hostPolicy(env.Config, env.Stderr)
	if m := metaPolicy.FindSubmatch(xml); m != nil {
		policy = string(m[1])
	}
	// Only a VM about to start can be kept from running unmonitored; refusing
	// a stop or release would leave libvirt in a worse state.
	gate := ev.Operation == "prepare" || (ev.Operation == "migrate")
	if policy == "fail-closed" && gate {
		fmt.Fprintf(env.Stderr, "tapwatch: refusing to start %s unmonitored (hook policy fail-closed): %v\n", ev.Domain, err)
		return 1
	}
	fmt.Fprintf(env.Stderr, "tapwatch: agent unreachable, %s %s goes on unmonitored (hook policy %s): %v\n", ev.Domain, ev.Operation, policy, err)
	return 0
}

// hostPolicy is hook.policy from the host config. A config that exists but
// cannot be read or parsed falls back to the default, and says so: an
// operator who set fail-closed must learn that it is not in force.
func hostPolicy(path string, stderr io.Writer) string {
	def := config.Default().Hook.Policy
	if path == "" {
		return def
	}
	cfg, err := config.Load(path)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			fmt.Fprintf(stderr, "tapwatch: hook: ignoring %s (%v); using hook policy %s\n", path, err, def)
		}
		return def
	}
	return cfg.Hook.Policy
}
