package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/tapwatch/tapwatch/agent/api"
	"github.com/tapwatch/tapwatch/agent/flowstore"
)

// changesBackend answers only /v1/changes.
type changesBackend struct {
	api.Backend
	vm    string
	since time.Time
}

func (b *changesBackend) Changes(_ context.Context, vm string, since time.Time) (api.Changes, error) {
	b.vm, b.since = vm, since
	first := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	return api.Changes{Since: since, HistoryFrom: first.Add(-48 * time.Hour), Changes: []flowstore.Change{
		{VM: "db", Kind: flowstore.NewService, Proto: "TCP", Port: 22, AppProto: "ssh", Peers: 2, Flows: 3, Answered: true,
			FirstSeen: first, LastSeen: first.Add(time.Minute)},
		{VM: "db", Kind: flowstore.NewPeer, Proto: "UDP", Port: 53, Peer: netip.MustParseAddr("192.0.2.53"), Peers: 1, Flows: 1,
			FirstSeen: first, LastSeen: first},
	}}, nil
}

func TestVMsDiff(t *testing.T) {
	fb := &changesBackend{}
	sock := serveBackend(t, fb)
	var out, errb bytes.Buffer
	env := &Env{Stdout: &out, Stderr: &errb, Socket: sock}
	before := time.Now()
	if rc := Default().Main(context.Background(), env, []string{"vms", "diff", "db", "--since", "2h"}); rc != 0 {
		t.Fatalf("rc %d: %s", rc, errb.String())
	}
	if fb.vm != "db" || fb.since.Before(before.Add(-2*time.Hour)) || fb.since.After(time.Now().Add(-2*time.Hour)) {
		t.Errorf("backend asked for %q since %v", fb.vm, fb.since)
	}
	t.Log("\n" + out.String())
	for _, want := range []string{"VM", "new service", "ssh", "2 clients", "new peer", "192.0.2.53 unanswered"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if rc := Default().Main(context.Background(), env, []string{"vms", "diff", "--json", "--since", "2026-11-20T00:00:00Z"}); rc != 0 {
		t.Fatalf("rc %d: %s", rc, errb.String())
	}
	var got api.Changes
	if err := json.Unmarshal(out.Bytes(), &got); err != nil || len(got.Changes) != 2 || got.Changes[1].Peer.String() != "192.0.2.53" ||
		got.Changes[0].Kind != "new_service" || fb.vm != "" || !fb.since.Equal(time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("json: %v %+v (asked %q %v)\n%s", err, got, fb.vm, fb.since, out.String())
	}
	if !strings.Contains(out.String(), `"kind": "new_peer"`) || !strings.Contains(out.String(), `"first_seen"`) {
		t.Errorf("json keys:\n%s", out.String())
	}
	if rc := Default().Main(context.Background(), env, []string{"vms", "diff", "--since", "yesterday"}); rc != 2 {
		t.Errorf("bad --since: rc %d", rc)
	}
}
