package cli

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/tapwatch/tapwatch/agent/config"
	"github.com/tapwatch/tapwatch/agent/lab"
	"github.com/tapwatch/tapwatch/agent/replay"
	"github.com/tapwatch/tapwatch/rules/conf"
	"github.com/tapwatch/tapwatch/rules/detect"
)

// mainFunc is the shape of the in-process commands (replay, lab).
type mainFunc func(ctx context.Context, args []string, stdout, stderr io.Writer) int

func wrap(f mainFunc) func(context.Context, *Env, []string) int {
	return func(ctx context.Context, env *Env, args []string) int { return f(ctx, args, env.Stdout, env.Stderr) }
}

// ReplayCommand is `tapwatch replay`, Suricata's -r mode.
func ReplayCommand() Command {
	return Command{Name: "replay", Summary: "run the engine over pcap/pcapng files (Suricata-style options) → eve.json", Run: wrap(replay.Main)}
}

// LabCommand is `tapwatch lab up|down|status|traffic`.
func LabCommand() Command {
	return Command{Name: "lab", Summary: "a demo KVM-like host in network namespaces (up|traffic|status|down)", Run: wrap(lab.Main)}
}

// RulesCommand is `tapwatch rules check [--strict] [-c suricata.yaml] PATH...`.
func RulesCommand() Command {
	return Command{Name: "rules", Summary: "check rule files: failures as file:line:col and a summary by reason", Run: runRules}
}

func runRules(ctx context.Context, env *Env, args []string) int {
	if len(args) == 0 || args[0] != "check" {
		fmt.Fprintln(env.Stderr, "usage: tapwatch rules check [--strict] [-c suricata.yaml] PATH...")
		return 2
	}
	fs := flag.NewFlagSet("rules check", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	strict := fs.Bool("strict", false, "exit non-zero when any rule fails")
	cfgPath := fs.String("c", "", "suricata.yaml with vars (default: built-in Suricata defaults)")
	if fs.Parse(args[1:]) != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(env.Stderr, "tapwatch rules check: no rule files or directories given")
		return 2
	}
	sc := conf.Default()
	if *cfgPath != "" {
		c, err := conf.Load(*cfgPath)
		if err != nil {
			fmt.Fprintln(env.Stderr, "tapwatch rules check:", err)
			return 2
		}
		sc.Merge(c)
	}
	_, failed, err := detect.Check(fs.Args(), sc.Vars(), detect.Options{ClassificationFile: config.Classification(sc.ClassificationFile(), fs.Args()), Settings: sc.Settings()}, env.Stdout, *strict)
	if err != nil {
		fmt.Fprintln(env.Stderr, "tapwatch rules check:", err)
		return 1
	}
	if *strict && failed > 0 {
		return 1
	}
	return 0
}
