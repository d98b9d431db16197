package vswitch

import (
	"testing"
	"time"

	"github.com/tapwatch/tapwatch/bpfprog"
)

func methods() []Method { return []Method{MethodTCX, MethodClsact} }

// TestDatapath drives real taps, a bridge and an uplink through both attach
// methods: every frame is recorded exactly once, at the right hook and
// direction, bypass and block work, and the counters add up.
func TestDatapath(t *testing.T) {
	for _, m := range methods() {
		t.Run(m.String(), func(t *testing.T) { testDatapath(t, m) })
	}
}

func testDatapath(t *testing.T, m Method) {
	l := newLab(t)
	o := l.load(t, bpfprog.Config{})
	a := l.attacher(t, o, m)
	l.attachAll(t, a, o)
	for _, h := range l.hooks() {
		got, ok, err := a.Attached(h.Ifindex, h.Hook)
		if err != nil || !ok || got != m {
			t.Fatalf("Attached(%d, %s) = %s, %v, %v; want %s", h.Ifindex, h.Hook, got, ok, err, m)
		}
	}
	r, err := o.NewReader(bpfprog.ReaderOptions{PollInterval: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()

	// Let the bridge learn where each MAC lives, so nothing is flooded.
	must(t, l.tapA.Write(frame(macA, macExt, ipA, ipExt, 1, 0, 0)))
	must(t, l.tapB.Write(frame(macB, macExt, ipB, ipExt, 1, 0, 0)))
	must(t, l.peer.Write(frame(macExt, macA, ipExt, ipA, 1, 0, 0)))
	time.Sleep(50 * time.Millisecond)
	drain(t, r, 50*time.Millisecond)
	before := checkCounters(t, o)

	const n = 200
	for i := uint32(0); i < n; i++ {
		must(t, l.tapA.Write(frame(macA, macB, ipA, ipB, 1000, 'a', i)))     // VM A -> VM B
		must(t, l.tapB.Write(frame(macB, macExt, ipB, ipExt, 1001, 'b', i))) // VM B -> outside
		must(t, l.peer.Write(frame(macExt, macA, ipExt, ipA, 1002, 'c', i))) // outside -> VM A
	}
	if got := readTagged(l.tapB, 'a', n, 2*time.Second); len(got) != n {
		t.Fatalf("VM B received %d of %d frames from VM A", len(got), n)
	}
	recs := drain(t, r, 100*time.Millisecond)
	want := map[byte]seen{
		'a': {bpfprog.HookTapIngress, bpfprog.FromVM, uint32(l.tapA.Index)},
		'b': {bpfprog.HookTapIngress, bpfprog.FromVM, uint32(l.tapB.Index)},
		'c': {bpfprog.HookTapEgress, bpfprog.ToVM, uint32(l.tapA.Index)},
	}
	for tag, w := range want {
		for i := uint32(0); i < n; i++ {
			got := recs[[2]uint32{uint32(tag), i}]
			if len(got) != 1 || got[0] != w {
				t.Fatalf("frame %c#%d: records %+v, want exactly one %+v", tag, i, got, w)
			}
		}
	}
	after := checkCounters(t, o)
	delta := func(idx int, h bpfprog.Hook) bpfprog.Counters {
		k := bpfprog.CounterKey{Ifindex: uint32(idx), Hook: h}
		a, b := after[k], before[k]
		return bpfprog.Counters{Seen: a.Seen - b.Seen, Sent: a.Sent - b.Sent, Skipped: a.Skipped - b.Skipped}
	}
	// Inter-VM and VM-to-outside frames are skipped where they leave; frames
	// from outside are skipped at the uplink and sent at the VM's tap.
	if d := delta(l.tapB.Index, bpfprog.HookTapEgress); d.Skipped < n {
		t.Errorf("tap B egress skipped %d, want >= %d (A's frames)", d.Skipped, n)
	}
	if d := delta(l.uplink, bpfprog.HookUplinkEgress); d.Skipped < n {
		t.Errorf("uplink egress skipped %d, want >= %d (B's frames)", d.Skipped, n)
	}
	if d := delta(l.uplink, bpfprog.HookUplinkIngress); d.Skipped < n || d.Sent != 0 {
		t.Errorf("uplink ingress %+v, want >= %d skipped and none sent", d, n)
	}

	t.Run("bypass", func(t *testing.T) {
		flow := bpfprog.FlowKey{Proto: 17, Src: ipA, Dst: ipB, SrcPort: 2000, DstPort: 7000}
		must(t, o.Bypass().Add(flow))
		k := bpfprog.CounterKey{Ifindex: uint32(l.tapA.Index), Hook: bpfprog.HookTapIngress}
		c0 := checkCounters(t, o)[k]
		for i := uint32(0); i < 50; i++ {
			must(t, l.tapA.Write(frame(macA, macB, ipA, ipB, 2000, 'd', i)))
			must(t, l.tapA.Write(frame(macA, macB, ipA, ipB, 2001, 'e', i))) // another flow
		}
		if got := readTagged(l.tapB, 'd', 50, 2*time.Second); len(got) != 50 {
			t.Fatalf("bypassed flow must still be delivered: VM B got %d of 50", len(got))
		}
		recs := drain(t, r, 100*time.Millisecond)
		for i := uint32(0); i < 50; i++ {
			if got := recs[[2]uint32{'d', i}]; len(got) != 0 {
				t.Fatalf("bypassed frame #%d recorded: %+v", i, got)
			}
			if got := recs[[2]uint32{'e', i}]; len(got) != 1 {
				t.Fatalf("non-bypassed frame #%d: %d records", i, len(got))
			}
		}
		c1 := checkCounters(t, o)[k]
		if c1.Bypassed-c0.Bypassed != 50 {
			t.Fatalf("bypassed counter rose by %d, want 50", c1.Bypassed-c0.Bypassed)
		}
		if st, ok, err := o.Bypass().Lookup(flow); err != nil || !ok || st.Packets != 50 {
			t.Fatalf("bypass flow stats %+v %v %v", st, ok, err)
		}
	})

	t.Run("block", func(t *testing.T) {
		flow := bpfprog.FlowKey{Proto: 17, Src: ipA, Dst: ipB, SrcPort: 3000, DstPort: 7000}
		must(t, o.BlockedFlows().Add(flow))
		must(t, o.SetConfig(bpfprog.Config{Mode: bpfprog.ModeIPS}))
		defer o.SetConfig(bpfprog.Config{})
		for i := uint32(0); i < 20; i++ {
			must(t, l.tapA.Write(frame(macA, macB, ipA, ipB, 3000, 'f', i)))
			must(t, l.tapA.Write(frame(macA, macB, ipA, ipB, 3001, 'g', i)))
		}
		if got := readTagged(l.tapB, 'g', 20, 2*time.Second); len(got) != 20 {
			t.Fatalf("unblocked flow: VM B got %d of 20", len(got))
		}
		if got := readTagged(l.tapB, 'f', 1, 200*time.Millisecond); len(got) != 0 {
			t.Fatalf("blocked flow reached VM B: %v", got)
		}
		if st, ok, _ := o.BlockedFlows().Lookup(flow); !ok || st.Packets != 20 {
			t.Fatalf("blocked flow stats %+v %v", st, ok)
		}
		drain(t, r, 50*time.Millisecond)
		checkCounters(t, o)
	})

	t.Run("detach", func(t *testing.T) {
		for _, h := range l.hooks() {
			must(t, a.Detach(h.Ifindex, h.Hook))
			must(t, a.Detach(h.Ifindex, h.Hook)) // idempotent
		}
		k := bpfprog.CounterKey{Ifindex: uint32(l.tapA.Index), Hook: bpfprog.HookTapIngress}
		c0 := checkCounters(t, o)[k]
		must(t, l.tapA.Write(frame(macA, macB, ipA, ipB, 1000, 'h', 0)))
		if got := readTagged(l.tapB, 'h', 1, time.Second); len(got) != 1 {
			t.Fatal("traffic must flow after detach")
		}
		if c1 := checkCounters(t, o)[k]; c1.Seen != c0.Seen {
			t.Fatalf("program still runs after detach: seen %d -> %d", c0.Seen, c1.Seen)
		}
	})
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
