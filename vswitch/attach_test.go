package vswitch

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"github.com/vishvananda/netlink"

	"github.com/tapwatch/tapwatch/bpfprog"
	"github.com/tapwatch/tapwatch/test/testutil"
)

// tcState renders everything attached to an interface's TC hooks.
// Equivalent: `tc qdisc show dev IF; tc filter show dev IF ingress|egress`
// and `bpftool net show` for TCX.
func tcState(t *testing.T, n *testutil.Netns, ifindex int) string {
	t.Helper()
	l, err := n.NL.LinkByIndex(ifindex)
	must(t, err)
	var out []string
	qs, err := n.NL.QdiscList(l)
	must(t, err)
	for _, q := range qs {
		a := q.Attrs()
		out = append(out, fmt.Sprintf("qdisc %s %x parent %x", q.Type(), a.Handle, a.Parent))
	}
	for _, p := range []uint32{netlink.HANDLE_MIN_INGRESS, netlink.HANDLE_MIN_EGRESS} {
		fs, err := n.NL.FilterList(l, p)
		if err != nil {
			continue // no clsact/ingress qdisc
		}
		for _, f := range fs {
			a := f.Attrs()
			out = append(out, fmt.Sprintf("filter %x %s prio %d handle %x", p, f.Type(), a.Priority, a.Handle))
		}
	}
	must(t, n.Do(func() error {
		for _, at := range []ebpf.AttachType{ebpf.AttachTCXIngress, ebpf.AttachTCXEgress} {
			r, err := link.QueryPrograms(link.QueryOptions{Target: ifindex, Attach: at})
			if err != nil {
				return err
			}
			for _, p := range r.Programs {
				out = append(out, fmt.Sprintf("tcx %s prog %d", at, p.ID))
			}
		}
		return nil
	}))
	sort.Strings(out)
	return strings.Join(out, "\n")
}

// TestAttachIsIdempotentAndDetachRestores: attaching twice changes nothing,
// and detach leaves each interface exactly as it was, for both methods.
func TestAttachIsIdempotentAndDetachRestores(t *testing.T) {
	for _, m := range methods() {
		t.Run(m.String(), func(t *testing.T) {
			l := newLab(t)
			o := l.load(t, bpfprog.Config{})
			a := l.attacher(t, o, m)
			ifs := []int{l.tapA.Index, l.uplink}
			before := map[int]string{}
			for _, i := range ifs {
				before[i] = tcState(t, l.host, i)
			}
			l.attachAll(t, a, o)
			once := map[int]string{}
			for _, i := range ifs {
				once[i] = tcState(t, l.host, i)
				if once[i] == before[i] {
					t.Fatalf("ifindex %d: attach changed nothing:\n%s", i, once[i])
				}
			}
			l.attachAll(t, a, o)
			for _, i := range ifs {
				if s := tcState(t, l.host, i); s != once[i] {
					t.Fatalf("ifindex %d: second attach changed state:\n%s\nwas\n%s", i, s, once[i])
				}
			}
			for _, h := range l.hooks() {
				must(t, a.Detach(h.Ifindex, h.Hook))
			}
			for _, i := range ifs {
				if s := tcState(t, l.host, i); s != before[i] {
					t.Fatalf("ifindex %d after detach:\n%s\nwant\n%s", i, s, before[i])
				}
			}
		})
	}
}

// TestForeignIngressQdiscSurvives: libvirt's <bandwidth> puts an ingress
// qdisc (with a policing filter) on the tap. TCX coexists with it; clsact
// mode attaches its ingress filter to it and refuses egress with a reason;
// detach leaves the qdisc and its filter in place.
func TestForeignIngressQdiscSurvives(t *testing.T) {
	for _, m := range methods() {
		t.Run(m.String(), func(t *testing.T) {
			l := newLab(t)
			q := &netlink.Ingress{QdiscAttrs: netlink.QdiscAttrs{LinkIndex: l.tapA.Index,
				Handle: netlink.MakeHandle(0xffff, 0), Parent: netlink.HANDLE_INGRESS}}
			must(t, l.host.NL.QdiscAdd(q))
			// A catch-all u32 filter like libvirt's (its police action is not
			// built into this kernel; the classifier is what shares the hook).
			mf := &netlink.U32{FilterAttrs: netlink.FilterAttrs{LinkIndex: l.tapA.Index,
				Parent: netlink.MakeHandle(0xffff, 0), Priority: 49152, Protocol: 0x0003},
				ClassId: netlink.MakeHandle(1, 1)}
			must(t, l.host.NL.FilterAdd(mf))
			before := tcState(t, l.host, l.tapA.Index)

			o := l.load(t, bpfprog.Config{})
			a := l.attacher(t, o, m)
			_, err := a.Attach(l.tapA.Index, bpfprog.HookTapIngress)
			must(t, err)
			_, err = a.Attach(l.tapA.Index, bpfprog.HookTapEgress)
			if m == MethodClsact {
				if err == nil || !strings.Contains(err.Error(), "TCX") {
					t.Fatalf("clsact egress next to a foreign ingress qdisc: err %v, want one pointing to TCX", err)
				}
			} else {
				must(t, err)
			}
			r, err := o.NewReader(bpfprog.ReaderOptions{PollInterval: 5 * time.Millisecond})
			must(t, err)
			defer r.Close()
			for i := uint32(0); i < 10; i++ {
				must(t, l.tapA.Write(frame(macA, macB, ipA, ipB, 1000, 'q', i)))
			}
			if got := readTagged(l.tapB, 'q', 10, 2*time.Second); len(got) != 10 {
				t.Fatalf("VM B got %d of 10 frames", len(got))
			}
			recs := drain(t, r, 50*time.Millisecond)
			for i := uint32(0); i < 10; i++ {
				if len(recs[[2]uint32{'q', i}]) != 1 {
					t.Fatalf("frame %d: %d records", i, len(recs[[2]uint32{'q', i}]))
				}
			}
			must(t, a.Detach(l.tapA.Index, bpfprog.HookTapIngress))
			must(t, a.Detach(l.tapA.Index, bpfprog.HookTapEgress))
			if s := tcState(t, l.host, l.tapA.Index); s != before {
				t.Fatalf("after detach:\n%s\nwant\n%s", s, before)
			}
		})
	}
}

// TestCoexistsWithOtherTCXPrograms: another TCX program stays attached and
// keeps running next to ours.
func TestCoexistsWithOtherTCXPrograms(t *testing.T) {
	l := newLab(t)
	counter, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1})
	must(t, err)
	defer counter.Close()
	// A foreign program that counts packets and returns TCX_NEXT.
	other, err := ebpf.NewProgram(&ebpf.ProgramSpec{Type: ebpf.SchedCLS, License: "MIT", Instructions: asm.Instructions{
		asm.LoadMapPtr(asm.R1, counter.FD()),
		asm.Mov.Reg(asm.R2, asm.R10), asm.Add.Imm(asm.R2, -4), asm.StoreImm(asm.R2, 0, 0, asm.Word),
		asm.FnMapLookupElem.Call(),
		asm.JEq.Imm(asm.R0, 0, "out"),
		asm.Mov.Imm(asm.R1, 1), asm.StoreXAdd(asm.R0, asm.R1, asm.DWord),
		asm.Mov.Imm(asm.R0, -1).WithSymbol("out"), asm.Return(),
	}})
	must(t, err)
	defer other.Close()
	var ol link.Link
	must(t, l.host.Do(func() error {
		var err error
		ol, err = link.AttachTCX(link.TCXOptions{Interface: l.tapA.Index, Program: other, Attach: ebpf.AttachTCXIngress})
		return err
	}))
	defer ol.Close()

	o := l.load(t, bpfprog.Config{})
	a := l.attacher(t, o, MethodTCX)
	_, err = a.Attach(l.tapA.Index, bpfprog.HookTapIngress)
	must(t, err)
	for i := uint32(0); i < 10; i++ {
		must(t, l.tapA.Write(frame(macA, macB, ipA, ipB, 1000, 'o', i)))
	}
	if got := readTagged(l.tapB, 'o', 10, 2*time.Second); len(got) != 10 {
		t.Fatalf("VM B got %d of 10", len(got))
	}
	var n uint64
	must(t, counter.Lookup(uint32(0), &n))
	c, err := o.Counters(l.tapA.Index, bpfprog.HookTapIngress)
	must(t, err)
	if n < 10 || c.Sent < 10 {
		t.Fatalf("foreign program saw %d, ours sent %d; both want >= 10", n, c.Sent)
	}
	must(t, a.Detach(l.tapA.Index, bpfprog.HookTapIngress))
	if s := tcState(t, l.host, l.tapA.Index); strings.Count(s, "tcx ") != 1 {
		t.Fatalf("after detach, want only the foreign program:\n%s", s)
	}
}

func TestDiscoveryAndEvents(t *testing.T) {
	l := newLab(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	evs, err := Watch(ctx, WatchOptions{Netns: &l.host.Handle})
	must(t, err)
	next := func(want EventKind, name string) Event {
		t.Helper()
		timeout := time.After(3 * time.Second)
		for {
			select {
			case ev, ok := <-evs:
				if !ok {
					t.Fatal("event channel closed")
				}
				if ev.Kind == want && ev.Port.Name == name {
					return ev
				}
			case <-timeout:
				t.Fatalf("no %s event for %s", want, name)
			}
		}
	}
	// Existing links first.
	next(PortAppeared, "twtap0")
	if ev := next(PortAppeared, "twup0"); ev.Port.Kind != KindUplink || ev.Port.Master != l.br {
		t.Fatalf("uplink event %+v", ev)
	}

	bridges, err := ListBridges(l.host.NL)
	must(t, err)
	if len(bridges) != 1 || bridges[0].Index != l.br {
		t.Fatalf("bridges %+v", bridges)
	}
	kinds := map[string]PortKind{}
	for _, p := range bridges[0].Ports {
		kinds[p.Name] = p.Kind
	}
	want := map[string]PortKind{"twtap0": KindTap, "twtap1": KindTap, "twup0": KindUplink}
	if fmt.Sprint(kinds) != fmt.Sprint(want) {
		t.Fatalf("ports %v, want %v", kinds, want)
	}

	// A tap appears, joins a bridge, moves to another, goes down, disappears.
	tap := l.host.OpenTap(t, "twtap9")
	if ev := next(PortAppeared, "twtap9"); ev.Port.Kind != KindTap || ev.Port.Index != tap.Index {
		t.Fatalf("appeared %+v", ev)
	}
	taps, err := ListTaps(l.host.NL)
	must(t, err)
	if len(taps) != 3 {
		t.Fatalf("taps %+v", taps)
	}
	l.host.SetMaster(t, "twtap9", l.br)
	if ev := next(PortMoved, "twtap9"); ev.PrevMaster != 0 || ev.Port.Master != l.br {
		t.Fatalf("moved %+v", ev)
	}
	// The kernel reports a move as leaving one bridge, then joining the next.
	br1 := l.host.AddBridge(t, "twbr1").Attrs().Index
	l.host.SetMaster(t, "twtap9", br1)
	if ev := next(PortMoved, "twtap9"); ev.PrevMaster != l.br {
		t.Fatalf("moved %+v, want from %d", ev, l.br)
	}
	for ev := next(PortMoved, "twtap9"); ev.Port.Master != br1; ev = next(PortMoved, "twtap9") {
	}
	must(t, l.host.NL.LinkSetDown(l.host.MustLink(t, "twtap9")))
	next(PortDown, "twtap9")
	must(t, l.host.NL.LinkSetUp(l.host.MustLink(t, "twtap9")))
	next(PortUp, "twtap9")
	tap.Close()
	next(PortRemoved, "twtap9")
}

// TestSwitchingMethods: re-attaching with the other method replaces the
// earlier attachment instead of adding a second one.
func TestSwitchingMethods(t *testing.T) {
	l := newLab(t)
	o := l.load(t, bpfprog.Config{})
	before := tcState(t, l.host, l.tapA.Index)
	for _, m := range []Method{MethodClsact, MethodTCX, MethodClsact} {
		a := l.attacher(t, o, m)
		_, err := a.Attach(l.tapA.Index, bpfprog.HookTapIngress)
		must(t, err)
		s := tcState(t, l.host, l.tapA.Index)
		if n := countLines(s, "tcx ") + countLines(s, "filter "); n != 1 {
			t.Fatalf("after attaching with %s, want one attachment:\n%s", m, s)
		}
		a.Close()
	}
	a := l.attacher(t, o, MethodTCX)
	must(t, a.Detach(l.tapA.Index, bpfprog.HookTapIngress))
	if s := tcState(t, l.host, l.tapA.Index); s != before {
		t.Fatalf("after detach:\n%s\nwant\n%s", s, before)
	}
}
