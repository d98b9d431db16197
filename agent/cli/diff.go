package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/tapwatch/tapwatch/agent/api"
	"github.com/tapwatch/tapwatch/agent/flowstore"
)

// runVMDiff is `tapwatch vms diff [--since DUR|TIME] [--json] [NAME]`: the
// services each VM (or NAME) started answering on and the servers it
// started using since a point in time.
func runVMDiff(ctx context.Context, env *Env, args []string) int {
	fs := flag.NewFlagSet("vms diff", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	since := fs.String("since", "24h", "from (a duration back from now such as 1h, or an RFC 3339 time)")
	asJSON := fs.Bool("json", false, "print JSON")
	fs.Usage = func() {
		fmt.Fprintln(env.Stderr, "usage: tapwatch vms diff [--since DUR|TIME] [--json] [NAME]")
		fs.PrintDefaults()
	}
	name, extra, ok := parseAroundName(fs, args)
	if !ok {
		return 2
	}
	if len(extra) > 0 {
		fs.Usage()
		return 2
	}
	t, err := when(*since)
	if err != nil {
		fmt.Fprintf(env.Stderr, "tapwatch vms diff: --since %q: want a duration (1h) or an RFC 3339 time\n", *since)
		return 2
	}
	ch, err := api.NewClient(env.Socket).Changes(ctx, name, t)
	if err != nil {
		fmt.Fprintln(env.Stderr, "tapwatch vms diff:", err)
		return 1
	}
	if *asJSON {
		if ch.Changes == nil {
			ch.Changes = []flowstore.Change{}
		}
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(ch)
		return 0
	}
	printChanges(env.Stdout, env.Stderr, ch)
	return 0
}

func printChanges(out, errw io.Writer, ch api.Changes) {
	if !ch.HistoryFrom.IsZero() && ch.Since.Before(ch.HistoryFrom) {
		fmt.Fprintf(errw, "note: the flow store's history starts at %s, after --since: everything seen since then is listed as new\n",
			ch.HistoryFrom.Local().Format(time.DateTime))
	}
	if len(ch.Changes) == 0 {
		fmt.Fprintf(out, "no new services or peers since %s\n", ch.Since.Local().Format(time.DateTime))
		return
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VM\tCHANGE\tPROTO\tPORT\tAPP\tPEER\tFLOWS\tFIRST\tLAST")
	for _, c := range ch.Changes {
		peer := "-"
		what := "new service"
		if c.Kind == flowstore.NewService {
			peer = fmt.Sprintf("%d clients", c.Peers)
			if c.Peers == 1 {
				peer = "1 client"
			}
		} else {
			what = "new peer"
			peer = c.Peer.String()
			if c.PeerVM != "" {
				peer += " (" + c.PeerVM + ")"
			}
			if !c.Answered {
				peer += " unanswered"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%d\t%s\t%s\n", c.VM, what, c.Proto, c.Port, dash(c.AppProto), peer, c.Flows,
			c.FirstSeen.Local().Format(time.DateTime), c.LastSeen.Local().Format(time.DateTime))
	}
	tw.Flush()
}
