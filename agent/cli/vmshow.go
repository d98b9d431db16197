package cli

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/tapwatch/tapwatch/agent/flowstore"
)

// printServices prints a profile's services as a table, each row followed
// by the names its flows revealed, one "label: value" line each (values
// hold spaces and commas, so one per line reads unambiguously).
func printServices(w io.Writer, svcs []flowstore.Service) {
	// The table is aligned as a whole, then its rows are interleaved with
	// the name lines, which tabwriter would otherwise treat as rows.
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  ROLE\tPROTO\tPORT\tAPP\tPEER\tPEERS\tFLOWS\tFIRST\tLAST")
	for _, s := range svcs {
		peer := "-"
		if s.Peer.IsValid() {
			peer = s.Peer.String()
			if s.PeerVM != "" {
				peer += " (" + s.PeerVM + ")"
			}
		}
		fmt.Fprintf(tw, "  %s\t%s\t%d\t%s\t%s\t%d\t%d\t%s\t%s\n", s.Role, s.Proto, s.Port, dash(s.AppProto), peer,
			s.Peers, s.Flows, s.FirstSeen.Format(time.DateTime), s.LastSeen.Format(time.DateTime))
	}
	tw.Flush()
	lines := bytes.SplitAfter(buf.Bytes(), []byte("\n"))
	w.Write(lines[0])
	for i, s := range svcs {
		if i+1 < len(lines) {
			w.Write(lines[i+1])
		}
		for _, k := range nameOrder(s.Role, s.Names) {
			for _, v := range s.Names[k] {
				fmt.Fprintf(w, "        %s: %s\n", nameLabel(k), v)
			}
		}
	}
}

// nameLabels are the short labels of the name kinds. "ssh" is the server's
// identification line, "ssh client" the client's.
var nameLabels = map[string]string{
	"http.server": "server", "tls.cert": "tls", "ssh.server": "ssh",
	"tls.sni": "sni", "http.host": "host", "http.user_agent": "ua", "dns.query": "dns", "ssh.client": "ssh client",
}

func nameLabel(kind string) string {
	if l, ok := nameLabels[kind]; ok {
		return l
	}
	return kind
}

// nameOrder lists the kinds present in n, the row's own side first: what
// the server is on server rows, what the VM asked for on client rows.
// Kinds this version does not know follow, sorted.
func nameOrder(r flowstore.Role, n flowstore.Names) []string {
	order := []string{"http.server", "tls.cert", "ssh.server", "tls.sni", "http.host", "http.user_agent", "dns.query", "ssh.client"}
	if r == flowstore.Client {
		order = []string{"dns.query", "tls.sni", "http.host", "http.user_agent", "ssh.client", "http.server", "tls.cert", "ssh.server"}
	}
	var out, other []string
	for _, k := range order {
		if len(n[k]) > 0 {
			out = append(out, k)
		}
	}
	for k := range n {
		if !slices.Contains(order, k) {
			other = append(other, k)
		}
	}
	slices.Sort(other)
	return append(out, other...)
}
