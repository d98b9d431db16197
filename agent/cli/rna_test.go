package cli

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tapwatch/tapwatch/agent/api"
	"github.com/tapwatch/tapwatch/agent/record"
	"github.com/tapwatch/tapwatch/agent/record/pcapfilter"
)

// pcapBackend serves Pcap only; the embedded nil Backend panics on
// anything else, which this test never asks for.
type pcapBackend struct {
	api.Backend
	got record.Query
	err error
}

func (b *pcapBackend) Pcap(_ context.Context, q record.Query, w io.Writer) (int, error) {
	b.got = q
	if b.err != nil {
		return 0, b.err
	}
	_, err := w.Write([]byte("pcapng bytes"))
	return 1, err
}

func TestPcapFilter(t *testing.T) {
	dir := t.TempDir()
	be := &pcapBackend{}
	sock := serveBackend(t, be)
	run := func(args ...string) (int, string) {
		var stderr bytes.Buffer
		env := &Env{Stdout: io.Discard, Stderr: &stderr, Socket: sock}
		return Default().Main(context.Background(), env, append([]string{"pcap"}, args...)), stderr.String()
	}
	out := filepath.Join(dir, "out.pcapng")

	// The expression reaches the daemon with the rest of the query.
	expr := "tcp port 80 and host 10.0.0.2"
	if code, stderr := run("--vm", "web", "--filter", expr, "-w", out); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if be.got.VM != "web" || be.got.Filter != expr {
		t.Errorf("daemon got %+v, want VM web and filter %q", be.got, expr)
	}
	if b, _ := os.ReadFile(out); string(b) != "pcapng bytes" {
		t.Errorf("output file holds %q", b)
	}
	os.Remove(out)

	// A typo is a usage error found before the daemon is asked, and leaves
	// no file.
	be.got = record.Query{}
	code, stderr := run("--vm", "web", "--filter", "tcp prot 80", "-w", out)
	if code != 2 || !strings.HasPrefix(stderr, `tapwatch pcap: --filter "tcp prot 80": `) ||
		!strings.Contains(stderr, "syntax error") || !strings.Contains(stderr, "pcap-filter(7)") {
		t.Errorf("bad filter: exit %d, stderr %q", code, stderr)
	}
	if be.got.VM != "" {
		t.Error("the daemon was asked despite a bad filter")
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("bad filter left %s behind: %v", out, err)
	}

	// The daemon's own refusal (it may resolve names differently, or run
	// another libpcap) is a failure with its reason, and no file.
	_, ferr := pcapfilter.Compile("tcp prot 80")
	be.err = ferr
	code, stderr = run("--vm", "web", "--filter", "udp", "-w", out)
	if code != 1 || !strings.Contains(stderr, "400 Bad Request") || !strings.Contains(stderr, `filter "tcp prot 80"`) {
		t.Errorf("daemon refusal: exit %d, stderr %q", code, stderr)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("daemon refusal left %s behind: %v", out, err)
	}
}
