package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tapwatch/tapwatch/agent/flowstore"
	"github.com/tapwatch/tapwatch/agent/record"
	"github.com/tapwatch/tapwatch/agent/record/pcapfilter"
)

type fakeBackend struct {
	live chan []byte
	hook HookEvent
}

func (f *fakeBackend) VMs(context.Context) ([]VM, error) {
	return []VM{{Name: "web", UUID: "u1", State: "running", NICs: []NIC{{MAC: "52:54:00:00:00:01", Tap: "twtap0", Attached: true}}}}, nil
}
func (f *fakeBackend) Status(context.Context) (Status, error) {
	return Status{Host: "h", RulesLoaded: 3}, nil
}
func (f *fakeBackend) Alerts(ctx context.Context, vm string, follow bool) ([][]byte, <-chan []byte, error) {
	recent := [][]byte{[]byte(`{"vm":"` + vm + `","n":1}`)}
	if !follow {
		return recent, nil, nil
	}
	return recent, f.live, nil
}
func (f *fakeBackend) Hook(_ context.Context, ev HookEvent) (HookReply, error) {
	f.hook = ev
	return HookReply{Allow: ev.Domain != "bad", Message: "ok"}, nil
}

func (f *fakeBackend) Flows(_ context.Context, q flowstore.Filter) ([]flowstore.Record, error) {
	return []flowstore.Record{{FlowID: 7, SrcVM: q.VM, DstPort: q.Port}}, nil
}
func (f *fakeBackend) Profile(_ context.Context, vm string) (Profile, error) {
	return Profile{VM: VM{Name: vm}, Addresses: []string{"10.0.0.1"}}, nil
}
func (f *fakeBackend) Pcap(_ context.Context, q record.Query, w io.Writer) (int, error) {
	if q.Filter != "" {
		if _, err := pcapfilter.Compile(q.Filter); err != nil {
			return 0, fmt.Errorf("recording: export: %w", err)
		}
	}
	if q.AlertID == "" {
		return 0, errors.New("no such alert")
	}
	n, _ := w.Write([]byte("pcapng:" + q.AlertID + q.Filter))
	return n, nil
}

func TestRoundTrip(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "tw.sock")
	fb := &fakeBackend{live: make(chan []byte, 1)}
	s, err := Listen(sock, "", fb)
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve()
	defer s.Shutdown(context.Background())

	// A second daemon must not steal a live socket.
	if _, err := Listen(sock, "", fb); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second Listen = %v, want in-use error", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c := NewClient(sock)
	vms, err := c.VMs(ctx)
	if err != nil || len(vms) != 1 || vms[0].NICs[0].Tap != "twtap0" {
		t.Fatalf("VMs = %+v, %v", vms, err)
	}
	st, err := c.Status(ctx)
	if err != nil || st.RulesLoaded != 3 {
		t.Fatalf("Status = %+v, %v", st, err)
	}
	rep, err := c.Hook(ctx, HookEvent{Object: "qemu", Domain: "bad", Operation: "prepare", XML: "<domain/>"})
	if err != nil || rep.Allow || fb.hook.XML != "<domain/>" {
		t.Fatalf("Hook = %+v, %v (backend saw %+v)", rep, err, fb.hook)
	}

	flows, err := c.Flows(ctx, flowstore.Filter{VM: "web", Port: 80})
	if err != nil || len(flows) != 1 || flows[0].SrcVM != "web" || flows[0].DstPort != 80 {
		t.Fatalf("Flows = %+v, %v", flows, err)
	}
	prof, err := c.Profile(ctx, "db")
	if err != nil || prof.VM.Name != "db" || prof.Addresses[0] != "10.0.0.1" {
		t.Fatalf("Profile = %+v, %v", prof, err)
	}
	var buf bytes.Buffer
	if _, err := c.Pcap(ctx, record.Query{AlertID: "a1"}, &buf); err != nil || buf.String() != "pcapng:a1" {
		t.Fatalf("Pcap = %q, %v", buf.String(), err)
	}
	if _, err := c.Pcap(ctx, record.Query{}, &buf); err == nil || !strings.Contains(err.Error(), "no such alert") {
		t.Fatalf("Pcap without alert = %v", err)
	}
	// The filter travels with the query; one libpcap refuses is the
	// caller's mistake (400, not 404) and says which expression and why.
	buf.Reset()
	if _, err := c.Pcap(ctx, record.Query{AlertID: "a1", Filter: "tcp port 80"}, &buf); err != nil || buf.String() != "pcapng:a1tcp port 80" {
		t.Fatalf("Pcap with filter = %q, %v", buf.String(), err)
	}
	_, err = c.Pcap(ctx, record.Query{AlertID: "a1", Filter: "tcp prot 80"}, &buf)
	if err == nil || !strings.Contains(err.Error(), "400 Bad Request") || !strings.Contains(err.Error(), `filter "tcp prot 80": `) ||
		!strings.Contains(err.Error(), "syntax error") || !strings.HasSuffix(err.Error(), "check the pcap-filter(7) syntax") {
		t.Fatalf("Pcap with a bad filter = %v", err)
	}

	var got []string
	fctx, fcancel := context.WithCancel(ctx)
	fb.live <- []byte(`{"live":1}`)
	err = c.Alerts(fctx, "web", true, func(l []byte) {
		got = append(got, string(l))
		if len(got) == 2 {
			fcancel()
		}
	})
	if err != nil || len(got) != 2 || got[0] != `{"vm":"web","n":1}` || got[1] != `{"live":1}` {
		t.Fatalf("Alerts = %q, %v", got, err)
	}
}

func TestClientSaysDaemonIsDown(t *testing.T) {
	c := NewClient(filepath.Join(t.TempDir(), "none.sock"))
	_, err := c.Status(context.Background())
	if err == nil || !strings.Contains(err.Error(), "is tapwatchd running") {
		t.Fatalf("err = %v", err)
	}
}
