// Command tapwatchd is the tapwatch host daemon: it attaches eBPF hooks to
// every VM tap and bridge uplink, follows libvirt, and runs the detection
// core on what the hooks see.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/tapwatch/tapwatch/agent"
	"github.com/tapwatch/tapwatch/agent/config"
)

func main() {
	cfgPath := flag.String("config", "/etc/tapwatch/tapwatch.yaml", "configuration file")
	detach := flag.Bool("detach-on-exit", false, "remove every hook on exit (default: leave them pinned for the next start)")
	debug := flag.Bool("debug", false, "debug logging")
	flag.Parse()

	level := slog.LevelInfo
	if *debug {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	cfg, err := config.Load(*cfgPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, "tapwatchd: config refused:", err)
		os.Exit(2)
	}
	d, err := agent.New(cfg, agent.Options{DetachOnExit: *detach}, log)
	if err != nil {
		fmt.Fprintln(os.Stderr, "tapwatchd:", err)
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		for range hup {
			log.Info("SIGHUP: reloading rules")
			_ = d.Reload()
		}
	}()
	if err := d.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "tapwatchd:", err)
		os.Exit(1)
	}
}
