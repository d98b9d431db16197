package vswitch

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cilium/ebpf/link"

	"github.com/tapwatch/tapwatch/bpfprog"
	"github.com/tapwatch/tapwatch/test/testutil"
)

// Environment of the re-executed child that plays the agent that attaches
// and exits.
const (
	envChild   = "TAPWATCH_VSWITCH_CHILD"
	envNetns   = "TAPWATCH_CHILD_NETNS"
	envPinDir  = "TAPWATCH_CHILD_PINDIR"
	envMethod  = "TAPWATCH_CHILD_METHOD"
	envIfindex = "TAPWATCH_CHILD_IFINDEX"
)

func TestMain(m *testing.M) {
	if os.Getenv(envChild) == "attach" {
		if err := childAttach(); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// childAttach is a first agent: load with pinned maps, attach tap A's
// ingress, and exit without detaching.
func childAttach() error {
	n, err := testutil.OpenNetns(os.Getenv(envNetns))
	if err != nil {
		return err
	}
	defer n.Close()
	pin := os.Getenv(envPinDir)
	o, err := bpfprog.Load(bpfprog.Options{PinPath: pin + "/maps", RingBytes: 4 << 20})
	if err != nil {
		return err
	}
	defer o.Close()
	m, _ := strconv.Atoi(os.Getenv(envMethod))
	a, err := NewAttacher(AttacherOptions{Objects: o, Netlink: n.NL, Netns: &n.Handle, PinDir: pin, Method: Method(m)})
	if err != nil {
		return err
	}
	defer a.Close()
	idx, _ := strconv.Atoi(os.Getenv(envIfindex))
	_, err = a.Attach(idx, bpfprog.HookTapIngress)
	return err
}

// TestReadoption: an agent attaches and exits; frames sent while no agent
// runs wait in the pinned ring buffer; a new agent re-adopts the attachment
// (switching it to its own program) while frames keep flowing, and reads
// every frame exactly once.
func TestReadoption(t *testing.T) {
	for _, m := range methods() {
		t.Run(m.String(), func(t *testing.T) { testReadoption(t, m) })
	}
}

func testReadoption(t *testing.T, m Method) {
	l := newLab(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envChild+"=attach", envNetns+"="+l.host.Name, envPinDir+"="+l.pinDir,
		envMethod+"="+strconv.Itoa(int(m)), envIfindex+"="+strconv.Itoa(l.tapA.Index))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("first agent: %v\n%s", err, out)
	}

	// No agent runs now. The attachment and the ring buffer must still work.
	var seq atomic.Uint32
	send := func(k int) {
		for i := 0; i < k; i++ {
			must(t, l.tapA.Write(frame(macA, macB, ipA, ipB, 1000, 'r', seq.Add(1)-1)))
		}
	}
	send(100)

	// Second agent: a sender keeps going while it loads and re-adopts.
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := l.tapA.Write(frame(macA, macB, ipA, ipB, 1000, 'r', seq.Load())); err == nil {
				seq.Add(1)
			}
			time.Sleep(100 * time.Microsecond)
		}
	}()
	o := l.load(t, bpfprog.Config{})
	a := l.attacher(t, o, m)
	pinned, err := a.Pinned()
	must(t, err)
	if m == MethodTCX && (len(pinned) != 1 || pinned[0] != (Attachment{l.tapA.Index, bpfprog.HookTapIngress, MethodTCX})) {
		t.Fatalf("pinned after the first agent exited: %+v", pinned)
	}
	if _, ok, err := a.Attached(l.tapA.Index, bpfprog.HookTapIngress); !ok || err != nil {
		t.Fatalf("first agent's attachment not found: %v", err)
	}
	got, err := a.Attach(l.tapA.Index, bpfprog.HookTapIngress)
	must(t, err)
	if got != m {
		t.Fatalf("re-adopted with %s, want %s", got, m)
	}
	time.Sleep(50 * time.Millisecond)
	close(stop)
	<-done
	total := seq.Load()

	// The attachment now runs the new agent's program.
	info, err := o.Program(bpfprog.HookTapIngress).Info()
	must(t, err)
	id, _ := info.ID()
	state := tcState(t, l.host, l.tapA.Index)
	if m == MethodTCX {
		lk, err := link.LoadPinnedLink(a.linkPin(l.tapA.Index, bpfprog.HookTapIngress), nil)
		must(t, err)
		li, err := lk.Info()
		lk.Close()
		must(t, err)
		if li.Program != id {
			t.Fatalf("pinned link runs program %d, want the new agent's %d", li.Program, id)
		}
	}
	if n := countLines(state, "tcx ") + countLines(state, "filter "); n != 1 {
		t.Fatalf("want exactly one attachment after re-adoption:\n%s", state)
	}

	r, err := o.NewReader(bpfprog.ReaderOptions{PollInterval: 5 * time.Millisecond})
	must(t, err)
	defer r.Close()
	recs := drain(t, r, 100*time.Millisecond)
	for i := uint32(0); i < total; i++ {
		if n := len(recs[[2]uint32{'r', i}]); n != 1 {
			t.Fatalf("frame %d of %d: %d records; none may be missed or doubled across the restart", i, total, n)
		}
	}
	c, err := o.Counters(l.tapA.Index, bpfprog.HookTapIngress)
	must(t, err)
	if c.Seen < uint64(total) || c.RingFull != 0 {
		t.Fatalf("counters across restart %+v, want seen >= %d and no ring-full", c, total)
	}
	t.Logf("%s: %d frames across the restart, all recorded once", m, total)
	must(t, a.Detach(l.tapA.Index, bpfprog.HookTapIngress))
	if s := tcState(t, l.host, l.tapA.Index); countLines(s, "tcx ")+countLines(s, "filter ") != 0 {
		t.Fatalf("after detach:\n%s", s)
	}
	if _, err := os.Stat(a.linkPin(l.tapA.Index, bpfprog.HookTapIngress)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("pin left behind: %v", err)
	}
}

func countLines(s, prefix string) int {
	n := 0
	for _, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(line, prefix) {
			n++
		}
	}
	return n
}
