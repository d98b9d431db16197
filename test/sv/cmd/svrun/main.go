// Command svrun runs the corpus's suricata-verify tests against tapwatch
// replay; see package sv.
package main

import (
	"context"
	"os"
	"os/signal"

	"github.com/tapwatch/tapwatch/agent/replay"
	"github.com/tapwatch/tapwatch/test/sv"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := sv.Main(ctx, os.Args[1:], os.Stdout, os.Stderr, replay.Main)
	stop()
	os.Exit(code)
}
