// Command tapwatch is the CLI of the tapwatch KVM intrusion-detection agent.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/tapwatch/tapwatch/agent/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	env := &cli.Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		Socket: envOr("TAPWATCH_SOCKET", "/run/tapwatch/tapwatch.sock"),
		Config: envOr("TAPWATCH_CONFIG", "/etc/tapwatch/tapwatch.yaml")}
	os.Exit(cli.Default().Main(ctx, env, os.Args[1:]))
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
