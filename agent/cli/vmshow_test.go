package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/netip"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tapwatch/tapwatch/agent/api"
	"github.com/tapwatch/tapwatch/agent/flowstore"
)

// profileBackend serves Profile only; the embedded nil Backend panics on
// anything else, which this test never asks for.
type profileBackend struct {
	api.Backend
	p api.Profile
}

func (b *profileBackend) Profile(_ context.Context, vm string) (api.Profile, error) {
	p := b.p
	p.VM.Name = vm
	return p, nil
}

func TestVMShowNames(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	be := &profileBackend{p: api.Profile{
		VM:        api.VM{UUID: "u-web", State: "running", NICs: []api.NIC{{MAC: "52:54:00:77:00:10", Tap: "twtap-web", Bridge: "twbr0"}}},
		Addresses: []string{"10.77.0.10"},
		Services: []flowstore.Service{
			{Role: flowstore.Server, Proto: "TCP", Port: 443, AppProto: "tls", Peers: 1, Flows: 2, FirstSeen: t0, LastSeen: t0,
				Names: flowstore.Names{"tls.sni": {"web.lab.example"}, "tls.cert": {"web.lab.example", "www.lab.example"}}},
			{Role: flowstore.Server, Proto: "TCP", Port: 5432, Peers: 1, Flows: 1, FirstSeen: t0, LastSeen: t0},
			{Role: flowstore.Client, Proto: "UDP", Port: 53, AppProto: "dns", Peer: netip.MustParseAddr("10.77.0.1"), Peers: 1, Flows: 1,
				FirstSeen: t0, LastSeen: t0, Names: flowstore.Names{"dns.query": {"db.lab.example"}, "x.future": {"v"}}},
		},
	}}
	sock := serveBackend(t, be)
	run := func(args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		env := &Env{Stdout: &stdout, Stderr: &stderr, Socket: sock}
		return Default().Main(context.Background(), env, append([]string{"vms", "show"}, args...)), stdout.String(), stderr.String()
	}

	code, out, stderr := run("web")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	// Each service row is followed by its names, the server's side first
	// on server rows; the table stays aligned across the name lines.
	want := []string{
		"  server  TCP    443   tls  -          1      2      2026-11-25 12:00:00  2026-11-25 12:00:00",
		"        tls: web.lab.example",
		"        tls: www.lab.example",
		"        sni: web.lab.example",
		"  server  TCP    5432  -    -          1      1      2026-11-25 12:00:00  2026-11-25 12:00:00",
		"  client  UDP    53    dns  10.77.0.1  1      1      2026-11-25 12:00:00  2026-11-25 12:00:00",
		"        dns: db.lab.example",
		"        x.future: v",
	}
	if len(lines) < len(want) || !reflect.DeepEqual(lines[len(lines)-len(want):], want) {
		t.Errorf("vms show web:\n%s\nwant the table to end with\n%s", out, strings.Join(want, "\n"))
	}

	// --json carries the names, before or after the name.
	for _, args := range [][]string{{"--json", "web"}, {"web", "--json"}} {
		code, out, stderr := run(args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
		var p api.Profile
		if err := json.Unmarshal([]byte(out), &p); err != nil {
			t.Fatalf("%v: %v: %s", args, err, out)
		}
		if p.VM.Name != "web" || len(p.Services) != 3 || !reflect.DeepEqual(p.Services[0].Names, be.p.Services[0].Names) {
			t.Errorf("%v: %+v", args, p)
		}
		if !strings.Contains(out, `"tls.cert": [`) {
			t.Errorf("%v: names not keyed by kind in %s", args, out)
		}
	}
	if code, _, stderr := run(); code != 2 || !strings.Contains(stderr, "usage") {
		t.Errorf("no name: exit %d %q", code, stderr)
	}
}

// serveBackend serves be's API on a socket in a temporary directory until
// the test ends, and returns the socket's path.
func serveBackend(t *testing.T, be api.Backend) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "tw.sock")
	srv, err := api.Listen(sock, "", be)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve()
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	return sock
}
