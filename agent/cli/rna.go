package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/tapwatch/tapwatch/agent/api"
	"github.com/tapwatch/tapwatch/agent/flowstore"
	"github.com/tapwatch/tapwatch/agent/record"
	"github.com/tapwatch/tapwatch/agent/record/pcapfilter"
)

// FlowsCommand is `tapwatch flows [--vm NAME] [--since DUR] [--peer ADDR] [--port N] [--json]`.
func FlowsCommand() Command {
	return Command{Name: "flows", Summary: "query the flow store: who talked to whom, per VM", Run: runFlows}
}

func runFlows(ctx context.Context, env *Env, args []string) int {
	fs := flag.NewFlagSet("flows", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	vm := fs.String("vm", "", "flows of this VM (either side)")
	since := fs.Duration("since", 0, "only flows that ended within this long (e.g. 1h)")
	peer := fs.String("peer", "", "only flows with this address on the other side")
	port := fs.Uint("port", 0, "only flows with this port on either side")
	limit := fs.Int("limit", 100, "at most this many flows, newest first")
	asJSON := fs.Bool("json", false, "print JSON")
	if fs.Parse(args) != nil {
		return 2
	}
	f := flowstore.Filter{VM: *vm, Port: uint16(*port), Limit: *limit}
	if *since > 0 {
		f.Since = time.Now().Add(-*since)
	}
	if *peer != "" {
		a, err := netip.ParseAddr(*peer)
		if err != nil {
			fmt.Fprintf(env.Stderr, "tapwatch flows: --peer %q: %v\n", *peer, err)
			return 2
		}
		f.Peer = a
	}
	flows, err := api.NewClient(env.Socket).Flows(ctx, f)
	if err != nil {
		fmt.Fprintln(env.Stderr, "tapwatch flows:", err)
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(flows)
		return 0
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "END\tPROTO\tSRC\tSRC-VM\tDST\tDST-VM\tAPP\tPKTS\tBYTES\tSTATE\tFLOW")
	for _, r := range flows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d/%d\t%d/%d\t%s\t%d\n", r.End.Format(time.DateTime), r.Proto,
			netip.AddrPortFrom(r.SrcIP, r.SrcPort), dash(r.SrcVM), netip.AddrPortFrom(r.DstIP, r.DstPort), dash(r.DstVM),
			dash(r.AppProto), r.PktsToServer, r.PktsToClient, r.BytesToServer, r.BytesToClient, r.State, r.FlowID)
	}
	tw.Flush()
	return 0
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// runVMShow is `tapwatch vms show [--json] NAME`: what the VM really is on
// the network.
func runVMShow(ctx context.Context, env *Env, args []string) int {
	fs := flag.NewFlagSet("vms show", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	asJSON := fs.Bool("json", false, "print JSON")
	name, extra, ok := parseAroundName(fs, args)
	if !ok {
		return 2
	}
	if name == "" || len(extra) > 0 {
		fmt.Fprintln(env.Stderr, "usage: tapwatch vms show [--json] NAME")
		return 2
	}
	p, err := api.NewClient(env.Socket).Profile(ctx, name)
	if err != nil {
		fmt.Fprintln(env.Stderr, "tapwatch vms show:", err)
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(p)
		return 0
	}
	fmt.Fprintf(env.Stdout, "VM %s (%s), %s, %d alerts\n", p.VM.Name, p.VM.UUID, p.VM.State, p.VM.Alerts)
	for _, n := range p.VM.NICs {
		fmt.Fprintf(env.Stdout, "  libvirt NIC %s on %s via %s (%s)\n", n.MAC, n.Bridge, n.Tap, hookState(n))
	}
	for _, m := range p.MACs {
		if !m.Libvirt {
			fmt.Fprintf(env.Stdout, "  sent from MAC %s on %s, NOT libvirt's: %d frames, %s to %s\n", m.MAC, m.Tap, m.Frames,
				m.First.Format(time.DateTime), m.Last.Format(time.DateTime))
		}
	}
	fmt.Fprintf(env.Stdout, "  addresses seen: %v\n", p.Addresses)
	printServices(env.Stdout, p.Services) // vmshow.go
	return 0
}

func hookState(n api.NIC) string {
	if !n.Attached {
		return "not hooked"
	}
	return "hooked, " + n.HookMode
}

// PcapCommand is `tapwatch pcap --alert ID | --flow ID | --vm NAME [--since T --until T] [--filter BPF] -w FILE`.
func PcapCommand() Command {
	return Command{Name: "pcap", Summary: "export recorded packets of an alert, a flow or a VM as pcapng", Run: runPcap}
}

func runPcap(ctx context.Context, env *Env, args []string) int {
	fs := flag.NewFlagSet("pcap", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	alert := fs.String("alert", "", "the packets around an alert (its alert_id in EVE)")
	flowID := fs.String("flow", "", "the packets of a flow (its flow_id in EVE)")
	vm := fs.String("vm", "", "the packets of a VM")
	since := fs.String("since", "", "from (RFC 3339 time, or a duration back from now such as 10m)")
	until := fs.String("until", "", "until (RFC 3339 time, or a duration back from now)")
	filter := fs.String("filter", "", "only packets matching this pcap-filter(7) expression, as tcpdump takes (e.g. 'tcp port 80 and host 10.0.0.2')")
	out := fs.String("w", "", "output pcapng file (required)")
	if fs.Parse(args) != nil {
		return 2
	}
	if *out == "" || (*alert == "" && *flowID == "" && *vm == "") {
		fmt.Fprintln(env.Stderr, "usage: tapwatch pcap --alert ID | --flow ID | --vm NAME [--since T] [--until T] [--filter BPF] -w FILE")
		return 2
	}
	// Checked here as well as by tapwatchd, since compiling is cheap: a
	// typo is a usage error that leaves no empty output file behind. The
	// daemon compiles it again (it may be another client).
	if *filter != "" {
		if _, err := pcapfilter.Compile(*filter); err != nil {
			fmt.Fprintf(env.Stderr, "tapwatch pcap: --%v\n", err) // --filter "EXPR": reason: fix
			return 2
		}
	}
	q := record.Query{VM: *vm, AlertID: *alert, Filter: *filter}
	var err error
	if *flowID != "" {
		if q.FlowID, err = strconv.ParseUint(*flowID, 10, 64); err != nil {
			fmt.Fprintf(env.Stderr, "tapwatch pcap: --flow %q: want the numeric flow_id\n", *flowID)
			return 2
		}
	}
	if q.Since, err = when(*since); err != nil {
		fmt.Fprintln(env.Stderr, "tapwatch pcap: --since:", err)
		return 2
	}
	if q.Until, err = when(*until); err != nil {
		fmt.Fprintln(env.Stderr, "tapwatch pcap: --until:", err)
		return 2
	}
	f, err := os.Create(*out)
	if err != nil {
		fmt.Fprintln(env.Stderr, "tapwatch pcap:", err)
		return 1
	}
	n, err := api.NewClient(env.Socket).Pcap(ctx, q, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(*out)
		fmt.Fprintln(env.Stderr, "tapwatch pcap:", err)
		return 1
	}
	fmt.Fprintf(env.Stderr, "wrote %d bytes to %s\n", n, *out)
	return 0
}

func when(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return time.Now().Add(-d), nil
	}
	return time.Parse(time.RFC3339, s)
}
