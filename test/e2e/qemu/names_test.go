package qemu

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tapwatch/tapwatch/agent/api"
	"github.com/tapwatch/tapwatch/agent/flowstore"
	"github.com/tapwatch/tapwatch/rules/proto/dns"
	"github.com/tapwatch/tapwatch/test/testutil"
)

// What test/vm/guestsend sends for the names a VM's profile shows (its defaults), and what the
// test's peer answers.
const (
	peerNetns  = "twqpeer" // test/vm/host.sh's NETNS
	dnsName    = "qemu-guest.tapwatch.test"
	dnsPort    = 53
	dnsBase    = 10000 // guestsend -dns-sport-base: query n comes from dnsBase+n%5000
	httpPort   = 8080
	httpHost   = "qemu-peer.tapwatch.test"
	httpUA     = "tapwatch-guestsend/1"
	httpServer = "twq-peer/1" // the Server header the peer answers with
)

// appHit is one DNS query or HTTP request that reached the peer.
type appHit struct {
	at    time.Time
	sport uint16
	name  string // DNS: the question name; HTTP: the User-Agent
	host  string // HTTP: the Host header
}

// appPeer is the peer's DNS and HTTP side, in the peer namespace: a UDP socket on port 53 that
// reads queries and never answers (a query's flow then stays one-way and ends 30 s after its
// packet, on the wall clock), and an HTTP server on port 8080 answering with Server: httpServer.
// It logs what reached it, as host.sh's listener does for the marker datagrams.
type appPeer struct {
	mu   sync.Mutex
	dns  []appHit
	http []appHit
}

// startAppPeer starts the peer's DNS and HTTP listeners; they stop when the test ends, before
// host.sh down removes the namespace (register it after hostUp).
func startAppPeer(t *testing.T) *appPeer {
	t.Helper()
	p := &appPeer{}
	var pc net.PacketConn
	var ln net.Listener
	ns, err := testutil.OpenNetns(peerNetns)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	err = ns.Do(func() error {
		var err error
		if pc, err = net.ListenPacket("udp4", net.JoinHostPort(peerIP, strconv.Itoa(dnsPort))); err != nil {
			return err
		}
		if ln, err = net.Listen("tcp4", net.JoinHostPort(peerIP, strconv.Itoa(httpPort))); err != nil {
			pc.Close()
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatalf("peer DNS/HTTP listeners in netns %s: %v", peerNetns, err)
	}
	go func() {
		buf := make([]byte, 65535)
		var m dns.Message
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			name := fmt.Sprintf("(not a DNS query: %q)", buf[:min(n, 40)])
			if dns.Parse(buf[:n], &m) == nil && !m.Response && len(m.Queries) > 0 {
				name = string(m.Queries[0].Name)
			}
			p.mu.Lock()
			p.dns = append(p.dns, appHit{at: time.Now(), sport: uint16(from.(*net.UDPAddr).Port), name: name})
			p.mu.Unlock()
		}
	}()
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sport := 0
		if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
			sport = int(ap.Port())
		}
		p.mu.Lock()
		p.http = append(p.http, appHit{at: time.Now(), sport: uint16(sport), name: r.UserAgent(), host: r.Host})
		p.mu.Unlock()
		w.Header().Set("Server", httpServer)
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintln(w, "tapwatch e2e peer")
	})}
	go srv.Serve(ln)
	t.Cleanup(func() {
		srv.Close()
		pc.Close()
	})
	return p
}

func (p *appPeer) hits() (dns, http []appHit) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.dns), slices.Clone(p.http)
}

// clientRow returns the VM's client row for the peer's proto/port with app protocol app.
func clientRow(svcs []flowstore.Service, proto string, port uint16, app string) *flowstore.Service {
	peer := netip.MustParseAddr(peerIP)
	for i, s := range svcs {
		if s.Role == flowstore.Client && s.Peer == peer && s.Port == port && strings.EqualFold(s.Proto, proto) && s.AppProto == app {
			return &svcs[i]
		}
	}
	return nil
}

func describeServices(svcs []flowstore.Service) string {
	var b strings.Builder
	for _, s := range svcs {
		fmt.Fprintf(&b, "\n  %s %s/%d app %q peer %s flows %d names %v", s.Role, s.Proto, s.Port, s.AppProto, s.Peer, s.Flows, s.Names)
	}
	return b.String()
}

// cliOut runs the tapwatch CLI against the daemon's socket.
func cliOut(binDir, sock string, args ...string) (string, error) {
	return runErr(15*time.Second, filepath.Join(binDir, "tapwatch"), append([]string{"--socket", sock}, args...)...)
}

// checkLiveNames asserts, while tapwatchd still runs, that the guest's DNS queries show in the
// VM's profile: the API (cli.Profile), `tapwatch vms show NAME --json` and its text, and
// `tapwatch flows --json`. The queries get no answer, so each flow ends 30 s after its packet
// on the wall clock (the pipeline's tick), with no packet and no shutdown to end it: the check
// waits up to 60 s from now for the first one.
func checkLiveNames(t *testing.T, cli *api.Client, binDir, sock string, ap *appPeer) {
	t.Helper()
	dnsHits, _ := ap.hits()
	if len(dnsHits) == 0 {
		t.Errorf("the peer received no DNS query from the guest (guestsend -dns-name)")
		return
	}
	var prof api.Profile
	var err error
	has := func(svcs []flowstore.Service) bool {
		r := clientRow(svcs, "UDP", dnsPort, "dns")
		return r != nil && slices.Contains(r.Names["dns.query"], dnsName)
	}
	if !waitFor(60*time.Second, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		prof, err = cli.Profile(ctx, domName)
		return err == nil && has(prof.Services)
	}) {
		t.Errorf("live profile of %s (API): no client row udp/%d app dns to %s naming %q within 60 s (error %v); services:%s",
			domName, dnsPort, peerIP, dnsName, err, describeServices(prof.Services))
		return
	}
	t.Logf("MEASURE names: first DNS query at the peer -> %q on %s's udp/%d client row in the running daemon's profile: %.1fs (flows end on the wall clock: UDP timeout 30 s + 1 s tick)",
		dnsName, domName, dnsPort, time.Since(dnsHits[0].at).Seconds())

	out, err := cliOut(binDir, sock, "vms", "show", domName, "--json")
	var fromJSON api.Profile
	if err == nil {
		err = json.Unmarshal([]byte(out), &fromJSON)
	}
	if err != nil {
		t.Errorf("tapwatch vms show %s --json: %v\n%s", domName, err, out)
	} else if !has(fromJSON.Services) {
		t.Errorf("tapwatch vms show %s --json: no client row udp/%d app dns to %s naming %q:%s", domName, dnsPort, peerIP, dnsName, describeServices(fromJSON.Services))
	}
	out, err = cliOut(binDir, sock, "vms", "show", domName)
	if err != nil {
		t.Errorf("tapwatch vms show %s: %v\n%s", domName, err, out)
	} else {
		t.Logf("tapwatch vms show %s:\n%s", domName, out)
		if !strings.Contains(out, "        dns: "+dnsName+"\n") {
			t.Errorf("tapwatch vms show %s lacks the line %q", domName, "        dns: "+dnsName)
		}
	}

	out, err = cliOut(binDir, sock, "flows", "--vm", domName, "--peer", peerIP, "--port", strconv.Itoa(dnsPort), "--limit", "1000", "--json")
	var recs []flowstore.Record
	if err == nil {
		err = json.Unmarshal([]byte(out), &recs)
	}
	if err != nil {
		t.Errorf("tapwatch flows --vm %s --port %d --json: %v\n%s", domName, dnsPort, err, out)
		return
	}
	dnsHits, _ = ap.hits() // the queries sent since the check began count too
	sent := map[uint16]bool{}
	for _, h := range dnsHits {
		sent[h.sport] = true
	}
	good, phantom := 0, 0
	for _, r := range recs {
		if r.SrcVM == domName && r.DstPort == dnsPort && r.AppProto == "dns" && slices.Equal(r.Names["dns.query"], []string{dnsName}) {
			good++
			if !sent[r.SrcPort] {
				phantom++
			}
		}
	}
	t.Logf("tapwatch flows --vm %s --port %d: %d records, %d from %s with app dns and dns.query [%s] (the peer has received %d queries so far)",
		domName, dnsPort, len(recs), good, domName, dnsName, len(dnsHits))
	if good == 0 {
		t.Errorf("tapwatch flows --vm %s --port %d --json: no flow from %s, app dns, naming %q: %+v", domName, dnsPort, domName, dnsName, recs)
	}
	if phantom > 0 {
		t.Errorf("tapwatch flows: %d DNS flows from source ports the peer received no query from", phantom)
	}
}

// checkFlowNames opens the stopped agent's flow store and asserts every DNS query and HTTP
// request that reached the peer is a flow of the VM carrying the names the guest sent, and that
// the VM's services carry them on the right client rows (and on no other).
func checkFlowNames(t *testing.T, path string, ap *appPeer) {
	t.Helper()
	dnsHits, httpHits := ap.hits()
	st, err := flowstore.Open(path, flowstore.Options{})
	if err != nil {
		t.Errorf("open flow store: %v", err)
		return
	}
	defer st.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	peer := netip.MustParseAddr(peerIP)
	guest := netip.MustParseAddr(strings.Split(guestIP, "/")[0])
	bySport := func(port uint16, proto string) map[uint16]flowstore.Record {
		recs, err := st.Query(ctx, flowstore.Filter{VM: domName, Peer: peer, Port: port, Limit: 100000})
		if err != nil {
			t.Errorf("flow store query port %d: %v", port, err)
		}
		m := map[uint16]flowstore.Record{}
		for _, r := range recs {
			if r.SrcVM == domName && r.SrcVMUUID == domUUID && r.SrcIP == guest && r.DstIP == peer && r.DstPort == port && strings.EqualFold(r.Proto, proto) {
				m[r.SrcPort] = r
			}
		}
		return m
	}

	// DNS: one flow per query (its own source port), app dns, named by its question alone.
	if len(dnsHits) < 2 {
		t.Errorf("the peer received %d DNS queries from the guest, want >= 2", len(dnsHits))
	}
	dnsFlows := bySport(dnsPort, "UDP")
	var dnsBad []string
	for _, h := range dnsHits {
		if h.name != dnsName || h.sport < dnsBase || h.sport >= dnsBase+5000 {
			t.Errorf("the peer received a DNS query for %q from port %d, want %q from %d-%d", h.name, h.sport, dnsName, dnsBase, dnsBase+4999)
		}
		// The flow must carry the name the peer received.
		r, ok := dnsFlows[h.sport]
		switch {
		case !ok:
			dnsBad = append(dnsBad, fmt.Sprintf("sport %d: no flow of %s", h.sport, domName))
		case r.AppProto != "dns" || !slices.Equal(r.Names["dns.query"], []string{h.name}) || len(r.Names) != 1:
			dnsBad = append(dnsBad, fmt.Sprintf("sport %d: app %q names %v, the query asked for %q", h.sport, r.AppProto, r.Names, h.name))
		}
	}
	if len(dnsBad) > 0 {
		t.Errorf("flow store: %d of %d DNS queries at the peer lack a flow of %s with app dns and names {dns.query: [its name]}: %v",
			len(dnsBad), len(dnsHits), domName, dnsBad[:min(len(dnsBad), 10)])
	}

	// HTTP: one flow per request, app http, with the request's user agent and host and the
	// peer's Server header.
	if len(httpHits) < 2 {
		t.Errorf("the peer received %d HTTP requests from the guest, want >= 2", len(httpHits))
	}
	httpFlows := bySport(httpPort, "TCP")
	var httpBad []string
	withServer := 0
	for _, h := range httpHits {
		if h.name != httpUA || h.host != httpHost {
			t.Errorf("the peer received an HTTP request from port %d with User-Agent %q and Host %q, want %q and %q", h.sport, h.name, h.host, httpUA, httpHost)
		}
		// The flow must carry the names the peer received.
		r, ok := httpFlows[h.sport]
		switch {
		case !ok:
			httpBad = append(httpBad, fmt.Sprintf("sport %d: no flow of %s", h.sport, domName))
		case r.AppProto != "http" || !slices.Equal(r.Names["http.user_agent"], []string{h.name}) || !slices.Equal(r.Names["http.host"], []string{h.host}):
			httpBad = append(httpBad, fmt.Sprintf("sport %d: app %q names %v, the request had User-Agent %q, Host %q", h.sport, r.AppProto, r.Names, h.name, h.host))
		}
		if slices.Equal(r.Names["http.server"], []string{httpServer}) {
			withServer++
		}
	}
	if len(httpBad) > 0 {
		t.Errorf("flow store: %d of %d HTTP requests at the peer lack a flow of %s with app http and their user agent and host: %v",
			len(httpBad), len(httpHits), domName, httpBad[:min(len(httpBad), 10)])
	}
	// The response to a request in flight when the guest was paused may not have been seen.
	if len(httpHits) > 0 && withServer < len(httpHits)-1 {
		t.Errorf("flow store: %d of %d HTTP flows carry the peer's Server %q, want all but at most the last", withServer, len(httpHits), httpServer)
	}

	// The services: the names on the client rows for udp/53 and tcp/8080, none on the marker rows.
	svcs, err := st.Services(ctx, domName)
	if err != nil {
		t.Errorf("flow store services: %v", err)
		return
	}
	dnsRow, httpRow := clientRow(svcs, "UDP", dnsPort, "dns"), clientRow(svcs, "TCP", httpPort, "http")
	switch {
	case dnsRow == nil:
		t.Errorf("services of %s: no client row udp/%d app dns to %s:%s", domName, dnsPort, peerIP, describeServices(svcs))
	case !slices.Equal(dnsRow.Names["dns.query"], []string{dnsName}) || len(dnsRow.Names) != 1:
		t.Errorf("services of %s: udp/%d client row names %v, want exactly {dns.query: [%s]}", domName, dnsPort, dnsRow.Names, dnsName)
	case dnsRow.Flows < len(dnsHits):
		t.Errorf("services of %s: udp/%d client row counts %d flows, the peer received %d queries", domName, dnsPort, dnsRow.Flows, len(dnsHits))
	}
	switch {
	case httpRow == nil:
		t.Errorf("services of %s: no client row tcp/%d app http to %s:%s", domName, httpPort, peerIP, describeServices(svcs))
	case !slices.Equal(httpRow.Names["http.user_agent"], []string{httpUA}) || !slices.Equal(httpRow.Names["http.host"], []string{httpHost}) ||
		!slices.Equal(httpRow.Names["http.server"], []string{httpServer}):
		t.Errorf("services of %s: tcp/%d client row names %v, want user agent %q, host %q, server %q", domName, httpPort, httpRow.Names, httpUA, httpHost, httpServer)
	}
	for _, s := range svcs {
		if s.Port == peerPort && len(s.Names) > 0 {
			t.Errorf("services of %s: the marker row %s %s/%d app %q carries names %v (they belong on other rows)", domName, s.Role, s.Proto, s.Port, s.AppProto, s.Names)
		}
	}
	rowDesc := func(r *flowstore.Service) string {
		if r == nil {
			return "none"
		}
		var kinds []string
		for k, v := range r.Names {
			kinds = append(kinds, fmt.Sprintf("%s=%v", k, v))
		}
		sort.Strings(kinds)
		return fmt.Sprintf("%d flows, %s", r.Flows, strings.Join(kinds, " "))
	}
	t.Logf("MEASURE names in the flow store: udp/%d client row: %s (peer got %d queries, %d stored as flows of %s); tcp/%d client row: %s (peer got %d requests, %d stored, %d with the Server header)",
		dnsPort, rowDesc(dnsRow), len(dnsHits), len(dnsHits)-len(dnsBad), domName, httpPort, rowDesc(httpRow), len(httpHits), len(httpHits)-len(httpBad), withServer)
}
