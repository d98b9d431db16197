package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tapwatch/tapwatch/agent/api"
)

// VMsCommand is `tapwatch vms [--json]`.
func VMsCommand() Command {
	return Command{Name: "vms", Summary: "list VMs, their NICs, taps, hooks and counters; vms show [--json] NAME: what it really is (services, peers, their TLS/HTTP/SSH/DNS names); vms diff [--since DUR] [NAME]: what changed", Run: runVMs}
}

func runVMs(ctx context.Context, env *Env, args []string) int {
	if len(args) > 0 && args[0] == "show" {
		return runVMShow(ctx, env, args[1:])
	}
	if len(args) > 0 && args[0] == "diff" {
		return runVMDiff(ctx, env, args[1:])
	}
	fs := flag.NewFlagSet("vms", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	asJSON := fs.Bool("json", false, "print JSON")
	if fs.Parse(args) != nil {
		return 2
	}
	vms, err := api.NewClient(env.Socket).VMs(ctx)
	if err != nil {
		fmt.Fprintln(env.Stderr, "tapwatch vms:", err)
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(vms)
		return 0
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tUUID\tSTATE\tMAC\tTAP\tBRIDGE\tHOOK\tPACKETS\tALERTS")
	for _, vm := range vms {
		if len(vm.NICs) == 0 {
			fmt.Fprintf(tw, "%s\t%s\t%s\t-\t-\t-\t-\t0\t%d\n", vm.Name, vm.UUID, vm.State, vm.Alerts)
		}
		for i, n := range vm.NICs {
			name, uuid, state := vm.Name, vm.UUID, vm.State
			if i > 0 {
				name, uuid, state = "", "", ""
			}
			hook := n.HookMode
			if !n.Attached {
				hook = "detached"
			}
			alerts := fmt.Sprint(vm.Alerts)
			if i > 0 {
				alerts = ""
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", name, uuid, state, n.MAC, n.Tap, n.Bridge, hook, n.Packets, alerts)
		}
	}
	tw.Flush()
	return 0
}

// StatusCommand is `tapwatch status`.
func StatusCommand() Command {
	return Command{Name: "status", Summary: "show hooks, drops, rules loaded and uptime", Run: runStatus}
}

func runStatus(ctx context.Context, env *Env, args []string) int {
	st, err := api.NewClient(env.Socket).Status(ctx)
	if err != nil {
		fmt.Fprintln(env.Stderr, "tapwatch status:", err)
		return 1
	}
	fmt.Fprintf(env.Stdout, "host %s, up %s, libvirt %s (%s)\n", st.Host, time.Since(st.Started).Round(time.Second), st.LibvirtURI, st.Libvirt)
	fmt.Fprintf(env.Stdout, "rules: %d loaded, %d failed; packets %d; alerts %d\n", st.RulesLoaded, st.RulesFailed, st.Packets, st.Alerts)
	if len(st.Drops) > 0 {
		var parts []string
		for k, v := range st.Drops {
			parts = append(parts, fmt.Sprintf("%s=%d", k, v))
		}
		fmt.Fprintf(env.Stdout, "drops: %s\n", strings.Join(parts, " "))
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "INTERFACE\tIFINDEX\tROLE\tMODE\tVM\tSEEN\tSENT\tRING-FULL")
	for _, h := range st.Hooks {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%d\t%d\t%d\n", h.Interface, h.Ifindex, h.Role, h.Mode, h.VM, h.Seen, h.Sent, h.RingFull)
	}
	tw.Flush()
	return 0
}

// AlertsCommand is `tapwatch alerts [-f] [--vm NAME] [--json]`.
func AlertsCommand() Command {
	return Command{Name: "alerts", Summary: "show recent alerts; -f follows live", Run: runAlerts}
}

func runAlerts(ctx context.Context, env *Env, args []string) int {
	fs := flag.NewFlagSet("alerts", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	follow := fs.Bool("f", false, "follow: print new alerts as they arrive")
	vm := fs.String("vm", "", "only alerts involving this VM")
	raw := fs.Bool("json", false, "print the EVE JSON lines as they are")
	if fs.Parse(args) != nil {
		return 2
	}
	err := api.NewClient(env.Socket).Alerts(ctx, *vm, *follow, func(line []byte) {
		if *raw {
			fmt.Fprintf(env.Stdout, "%s\n", line)
			return
		}
		fmt.Fprintln(env.Stdout, FormatAlert(line))
	})
	if err != nil {
		fmt.Fprintln(env.Stderr, "tapwatch alerts:", err)
		return 1
	}
	return 0
}

// FormatAlert renders an EVE alert line as one human line:
// time [sid:rev] signature {proto} src -> dst  vm=name(role).
func FormatAlert(line []byte) string {
	var ev struct {
		Timestamp string `json:"timestamp"`
		SrcIP     string `json:"src_ip"`
		SrcPort   int    `json:"src_port"`
		DestIP    string `json:"dest_ip"`
		DestPort  int    `json:"dest_port"`
		Proto     string `json:"proto"`
		Alert     struct {
			SID       int    `json:"signature_id"`
			Rev       int    `json:"rev"`
			Signature string `json:"signature"`
			Action    string `json:"action"`
		} `json:"alert"`
		VM json.RawMessage `json:"vm"`
	}
	if json.Unmarshal(line, &ev) != nil {
		return string(line)
	}
	var vms []string
	var one struct {
		Name string `json:"name"`
		Role string `json:"role"`
	}
	var many []struct {
		Name string `json:"name"`
		Role string `json:"role"`
	}
	if json.Unmarshal(ev.VM, &many) == nil {
		for _, v := range many {
			vms = append(vms, v.Name+"("+v.Role+")")
		}
	} else if json.Unmarshal(ev.VM, &one) == nil && one.Name != "" {
		vms = append(vms, one.Name+"("+one.Role+")")
	}
	vmText := "vm=-"
	if len(vms) > 0 {
		vmText = "vm=" + strings.Join(vms, ",")
	}
	where := fmt.Sprintf("{%s} %s:%d -> %s:%d", ev.Proto, ev.SrcIP, ev.SrcPort, ev.DestIP, ev.DestPort)
	if ev.SrcIP == "" {
		where = "{link layer}" // hypervisor findings on ARP or spoofed frames carry no IP tuple
	}
	return fmt.Sprintf("%s [%d:%d] %s %s  %s %s", ev.Timestamp, ev.Alert.SID, ev.Alert.Rev,
		ev.Alert.Signature, where, vmText, ev.Alert.Action)
}
