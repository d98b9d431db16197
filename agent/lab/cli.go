package lab

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
)

const usage = `usage: tapwatch lab [-tag TAG] [-xml PATH] up|down|status|traffic [STEP...]

  up       build the lab: bridge %[1]s, VMs web, db, attacker in network namespaces,
           an uplink namespace as "the internet", and the libvirt test-driver file
  down     remove everything the lab created (safe to repeat, also after a partial up)
  status   show which parts of the lab exist, and its VMs
  traffic  drive normal and attack traffic with real clients inside the lab;
           STEPs (default all): %[2]s
`

// Main is `tapwatch lab`: args are the words after "lab". It returns the process exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	def := DefaultConfig()
	fs := flag.NewFlagSet("lab", flag.ContinueOnError)
	fs.SetOutput(stderr)
	tag := fs.String("tag", DefaultTag, "prefix of the lab's interface and namespace names (1-3 characters)")
	xmlPath := fs.String("xml", "", "libvirt test-driver file to write (default "+def.XMLPath+" for tag "+DefaultTag+")")
	fs.Usage = func() {
		var names []string
		for _, s := range Steps() {
			names = append(names, s.Name)
		}
		fmt.Fprintf(stderr, usage, def.Bridge, names)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	cfg, err := NewConfig(*tag)
	if err != nil {
		fmt.Fprintln(stderr, "tapwatch lab:", err)
		return 2
	}
	if *xmlPath != "" {
		cfg.XMLPath = *xmlPath
	}
	cmd, rest := fs.Arg(0), fs.Args()[1:]
	if cmd != "traffic" && len(rest) > 0 {
		fmt.Fprintf(stderr, "tapwatch lab %s: unexpected arguments %v\n", cmd, rest)
		return 2
	}
	switch cmd {
	case "up":
		l, err := Up(ctx, cfg)
		if err != nil {
			fmt.Fprintln(stderr, "tapwatch lab up:", err)
			return 1
		}
		fmt.Fprintf(stdout, "lab %s is up: bridge %s (no address), uplink %s -> %s (%s)\n", cfg.Tag, cfg.Bridge, cfg.Inet.Port, cfg.Inet.Netns, cfg.Inet.IP)
		printVMs(stdout, cfg)
		fmt.Fprintf(stdout, "libvirt: %s\n", l.URI())
		return 0
	case "down":
		if err := Down(cfg); err != nil {
			fmt.Fprintln(stderr, "tapwatch lab down:", err)
			return 1
		}
		fmt.Fprintf(stdout, "lab %s is down\n", cfg.Tag)
		return 0
	case "status":
		st := Inspect(cfg)
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "KIND\tNAME\tPRESENT\tDETAIL")
		for _, p := range st.Parts {
			fmt.Fprintf(tw, "%s\t%s\t%v\t%s\n", p.Kind, p.Name, p.Present, p.Detail)
		}
		tw.Flush()
		if missing := st.Missing(); len(missing) > 0 {
			fmt.Fprintf(stdout, "lab %s is not up (%d of %d parts missing)\n", cfg.Tag, len(missing), len(st.Parts))
			return 1
		}
		printVMs(stdout, cfg)
		fmt.Fprintf(stdout, "libvirt: test://%s\n", cfg.XMLPath)
		return 0
	case "traffic":
		l, err := Open(cfg)
		if err != nil {
			fmt.Fprintln(stderr, "tapwatch lab traffic:", err)
			return 1
		}
		if err := Traffic(ctx, l, stdout, rest...); err != nil {
			fmt.Fprintln(stderr, "tapwatch lab traffic:", err)
			return 1
		}
		return 0
	default:
		fmt.Fprintf(stderr, "tapwatch lab: unknown command %q\n", cmd)
		fs.Usage()
		return 2
	}
}

func printVMs(w io.Writer, cfg Config) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "VM\tNETNS\tTAP\tMAC\tIP")
	for _, vm := range cfg.VMs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", vm.Name, vm.Netns, vm.Port, vm.MAC, vm.IP)
	}
	tw.Flush()
}
