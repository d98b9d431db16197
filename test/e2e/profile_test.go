package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tapwatch/tapwatch/agent"
	"github.com/tapwatch/tapwatch/agent/api"
	"github.com/tapwatch/tapwatch/agent/cli"
	"github.com/tapwatch/tapwatch/agent/config"
	"github.com/tapwatch/tapwatch/agent/flowstore"
	"github.com/tapwatch/tapwatch/agent/lab"
)

// TestAgentOnLabProfile checks `tapwatch vms show` end to end: real HTTP,
// DNS, TLS and SSH between the lab's namespaces, tapwatchd hooked on their
// taps with only tapwatch's own rules (none of which needs an app-layer
// parser, so the names come from the engine's names-only path), flows
// written to the store when the daemon stops, and a daemon started again
// on the same store serving each VM's profile — the names of the services
// web answers on and of those db uses — over the control socket and the
// CLI.
func TestAgentOnLabProfile(t *testing.T) {
	l := upLab(t, "tp")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cfg := labAgentConfig(t, l)
	client := api.NewClient(cfg.Control.Socket)

	_, stop := startDaemon(t, ctx, cfg)
	waitFor(t, ctx, "3 VM taps and the uplink hooked", func() bool {
		st, err := client.Status(ctx)
		return err == nil && len(st.Hooks) == 8
	})
	if err := lab.Traffic(ctx, l, testWriter{t}, "http", "dns", "tls", "ssh"); err != nil {
		t.Fatal(err)
	}
	// The hooks hand frames over asynchronously: wait until the daemon
	// has seen them all before stopping it.
	var last uint64
	waitFor(t, ctx, "the packet count to settle", func() bool {
		st, err := client.Status(ctx)
		if err != nil {
			return false
		}
		settled := st.Packets == last && last > 0
		last = st.Packets
		time.Sleep(300 * time.Millisecond)
		return settled
	})
	// The lab's flows are still open: they reach the store when the
	// daemon stops and flushes them.
	stop()

	_, stop = startDaemon(t, ctx, cfg)
	defer stop()
	var web, db api.Profile
	waitFor(t, ctx, "web's and db's profiles", func() bool {
		var err1, err2 error
		web, err1 = client.Profile(ctx, "web")
		db, err2 = client.Profile(ctx, "db")
		return err1 == nil && err2 == nil
	})

	// What web is: the services it answers on, with the names its
	// answers carried (and those its clients used).
	// (Rows are per app protocol too: the lab's readiness checks connect
	// to port 80 without a word, a row of their own with no names.)
	srv := func(port uint16, app string) flowstore.Service {
		for _, s := range web.Services {
			if s.Role == flowstore.Server && s.Port == port && s.Proto == "TCP" && s.AppProto == app {
				return s
			}
		}
		t.Errorf("web answers %s on no TCP %d: %+v", app, port, web.Services)
		return flowstore.Service{}
	}
	expectName(t, "web tcp/80", srv(80, "http"), "http.server", "SimpleHTTP/")
	expectName(t, "web tcp/80", srv(80, "http"), "http.user_agent", "curl/")
	expectName(t, "web tcp/443", srv(443, "tls"), "tls.cert", lab.WebTLSName)
	expectName(t, "web tcp/443", srv(443, "tls"), "tls.sni", lab.WebTLSName)
	expectName(t, "web tcp/22", srv(22, "ssh"), "ssh.server", lab.SSHServerBanner)
	expectName(t, "web tcp/22", srv(22, "ssh"), "ssh.client", lab.SSHClientBanner)

	// What db does: the servers it uses, the names it asked for, the
	// software it used.
	webVM, _ := l.VM("web")
	use := func(proto string, port uint16, app, peerVM string) flowstore.Service {
		for _, s := range db.Services {
			if s.Role == flowstore.Client && s.Proto == proto && s.Port == port && s.AppProto == app && s.PeerVM == peerVM {
				return s
			}
		}
		t.Errorf("db uses no %s %s/%d of %q: %+v", app, proto, port, peerVM, db.Services)
		return flowstore.Service{}
	}
	expectName(t, "db -> web tcp/80", use("TCP", 80, "http", "web"), "http.user_agent", "curl/")
	expectName(t, "db -> web tcp/80", use("TCP", 80, "http", "web"), "http.host", webVM.IP.String())
	expectName(t, "db -> web tcp/443", use("TCP", 443, "tls", "web"), "tls.sni", lab.WebTLSName)
	expectName(t, "db -> web tcp/22", use("TCP", 22, "ssh", "web"), "ssh.client", lab.SSHClientBanner)
	expectName(t, "db -> inet udp/53", use("UDP", 53, "dns", ""), "dns.query", "web.lab.example")

	// The CLI shows the same, as text and as JSON.
	run := func(args ...string) string {
		var stdout, stderr bytes.Buffer
		env := &cli.Env{Stdout: &stdout, Stderr: &stderr, Socket: cfg.Control.Socket}
		if code := cli.Default().Main(ctx, env, args); code != 0 {
			t.Fatalf("tapwatch %s: exit %d: %s", strings.Join(args, " "), code, stderr.String())
		}
		return stdout.String()
	}
	text := run("vms", "show", "web")
	t.Logf("tapwatch vms show web:\n%s", text)
	for _, want := range []string{"        server: SimpleHTTP/", "        tls: " + lab.WebTLSName + "\n",
		"        ssh: " + lab.SSHServerBanner + "\n", "        ua: curl/"} {
		if !strings.Contains(text, want) {
			t.Errorf("tapwatch vms show web lacks %q", want)
		}
	}
	text = run("vms", "show", "db")
	t.Logf("tapwatch vms show db:\n%s", text)
	for _, want := range []string{"        dns: web.lab.example\n", "        sni: " + lab.WebTLSName + "\n", "        ua: curl/",
		"        ssh client: " + lab.SSHClientBanner + "\n"} {
		if !strings.Contains(text, want) {
			t.Errorf("tapwatch vms show db lacks %q", want)
		}
	}
	var fromJSON api.Profile
	if err := json.Unmarshal([]byte(run("vms", "show", "--json", "web")), &fromJSON); err != nil {
		t.Fatal(err)
	}
	if fromJSON.VM.Name != "web" || len(fromJSON.Services) != len(web.Services) {
		t.Errorf("vms show --json web: %+v", fromJSON)
	}
	for i := range fromJSON.Services {
		if !maps.EqualFunc(fromJSON.Services[i].Names, web.Services[i].Names, slices.Equal[[]string]) {
			t.Errorf("vms show --json web, service %d: names %v, the API says %v", i, fromJSON.Services[i].Names, web.Services[i].Names)
		}
	}
}

// expectName checks that svc has a name of kind starting with prefix.
func expectName(t *testing.T, what string, svc flowstore.Service, kind, prefix string) {
	t.Helper()
	if !slices.ContainsFunc(svc.Names[kind], func(v string) bool { return strings.HasPrefix(v, prefix) }) {
		t.Errorf("%s: no %s name starting %q in %v", what, kind, prefix, svc.Names)
	}
}

// startDaemon runs tapwatchd in process with cfg until the returned stop
// is called (at the latest when the test ends).
func startDaemon(t *testing.T, ctx context.Context, cfg config.Config) (d *agent.Daemon, stop func()) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(testWriter{t}, nil))
	d, err := agent.New(cfg, agent.Options{DetachOnExit: true}, log)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- d.Run(runCtx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("daemon: %v", err)
		}
	}
	t.Cleanup(stop)
	return d, stop
}
