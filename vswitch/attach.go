package vswitch

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/tapwatch/tapwatch/bpfprog"
)

// Method is how a program is attached to an interface.
type Method int

const (
	// MethodAuto uses TCX and falls back to clsact when the kernel lacks it.
	MethodAuto Method = iota
	// MethodTCX uses a TCX bpf_link (kernel >= 6.6), pinned for re-adoption.
	MethodTCX
	// MethodClsact uses a clsact qdisc and a direct-action cls_bpf filter.
	MethodClsact
)

func (m Method) String() string {
	switch m {
	case MethodTCX:
		return "tcx"
	case MethodClsact:
		return "clsact"
	}
	return "auto"
}

// DefaultPinDir is where links and maps are pinned.
const DefaultPinDir = "/sys/fs/bpf/tapwatch"

// Filter identity for the clsact path. Priority 1 runs before filters added
// without one (tc numbers those from 49152, as libvirt's <bandwidth> does),
// so tapwatch sees frames before a policer drops them.
const (
	DefaultFilterPriority = 1
	filterHandle          = 0x7477 // "tw"
	filterNamePrefix      = "tapwatch:"
)

// AttacherOptions configure NewAttacher.
type AttacherOptions struct {
	// Objects provides the programs (required).
	Objects *bpfprog.Objects
	// Netlink is the handle for the namespace the interfaces live in
	// (nil: a handle on the caller's namespace).
	Netlink *netlink.Handle
	// Netns is that namespace, for the TCX syscalls, which take an ifindex
	// relative to the calling thread (nil: the caller's namespace).
	Netns *netns.NsHandle
	// PinDir is a bpffs directory for pinned links ("" means DefaultPinDir).
	PinDir string
	// Method selects TCX, clsact, or TCX with clsact fallback.
	Method Method
	// FilterPriority of the cls_bpf filter (0 means DefaultFilterPriority).
	FilterPriority uint16
}

// Attacher attaches tapwatch's programs to interfaces. Safe for concurrent
// use.
type Attacher struct {
	objs   *bpfprog.Objects
	nl     *netlink.Handle
	ownNL  bool
	ns     *netns.NsHandle
	pinDir string
	method Method
	prio   uint16
	owner  *ebpf.Map // ifindex -> 1 for clsact qdiscs tapwatch created
	mu     sync.Mutex
	links  map[key]link.Link
}

type key struct {
	ifindex int
	hook    bpfprog.Hook
}

// NewAttacher prepares the pin directory and the record of qdiscs tapwatch
// created (itself pinned, so that a restarted agent knows which clsact qdiscs
// it may delete).
func NewAttacher(opts AttacherOptions) (*Attacher, error) {
	if opts.Objects == nil {
		return nil, errors.New("vswitch: NewAttacher needs bpfprog Objects: call bpfprog.Load first")
	}
	a := &Attacher{objs: opts.Objects, nl: opts.Netlink, ns: opts.Netns, pinDir: opts.PinDir,
		method: opts.Method, prio: opts.FilterPriority, links: map[key]link.Link{}}
	if a.pinDir == "" {
		a.pinDir = DefaultPinDir
	}
	if a.prio == 0 {
		a.prio = DefaultFilterPriority
	}
	if a.nl == nil {
		h, err := netlink.NewHandle()
		if err != nil {
			return nil, fmt.Errorf("vswitch: open netlink socket: %w", err)
		}
		a.nl, a.ownNL = h, true
	}
	if err := os.MkdirAll(filepath.Join(a.pinDir, "links"), 0o700); err != nil {
		a.Close()
		return nil, fmt.Errorf("vswitch: create pin directory %s: %w: mount bpffs (mount -t bpf bpf /sys/fs/bpf)", a.pinDir, err)
	}
	m, err := ebpf.NewMapWithOptions(&ebpf.MapSpec{
		Name: "tw_qdisc_owner", Type: ebpf.Hash, KeySize: 4, ValueSize: 4, MaxEntries: 65536,
		Pinning: ebpf.PinByName,
	}, ebpf.MapOptions{PinPath: a.pinDir})
	if err != nil {
		a.Close()
		return nil, fmt.Errorf("vswitch: open qdisc ownership map in %s: %w: need CAP_BPF", a.pinDir, err)
	}
	a.owner = m
	return a, nil
}

// Close releases this process's handles. Attachments stay: pinned TCX links
// and cls_bpf filters keep running until Detach.
func (a *Attacher) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	var errs []error
	for k, l := range a.links {
		errs = append(errs, l.Close())
		delete(a.links, k)
	}
	if a.owner != nil {
		errs = append(errs, a.owner.Close())
	}
	if a.ownNL {
		a.nl.Close()
	}
	return errors.Join(errs...)
}

func (a *Attacher) linkPin(ifindex int, h bpfprog.Hook) string {
	return filepath.Join(a.pinDir, "links", fmt.Sprintf("tcx_%d_%s", ifindex, h))
}

func (a *Attacher) describe(ifindex int) string {
	if l, err := a.nl.LinkByIndex(ifindex); err == nil {
		return fmt.Sprintf("%s (ifindex %d)", l.Attrs().Name, ifindex)
	}
	return fmt.Sprintf("ifindex %d", ifindex)
}

func tcxAttachType(h bpfprog.Hook) ebpf.AttachType {
	if h.Ingress() {
		return ebpf.AttachTCXIngress
	}
	return ebpf.AttachTCXEgress
}

func direction(h bpfprog.Hook) string {
	if h.Ingress() {
		return "ingress"
	}
	return "egress"
}

// Attach attaches the hook's program to the interface. Attaching what is
// already attached is a no-op; a pinned TCX link or a cls_bpf filter left by
// an earlier agent is re-adopted and switched atomically to this process's
// program, so no packet goes unseen in between. It returns the method used.
//
// Equivalent (TCX): `bpftool net attach tcx_ingress|tcx_egress id PROG dev IF`
// plus `bpftool link pin`.
// Equivalent (clsact): `tc qdisc add dev IF clsact` (only when no clsact or
// ingress qdisc exists) and `tc filter replace dev IF ingress|egress prio 1
// handle 0x7477 protocol all bpf da fd PROG name tapwatch:HOOK`.
func (a *Attacher) Attach(ifindex int, h bpfprog.Hook) (Method, error) {
	prog := a.objs.Program(h)
	if prog == nil {
		return 0, fmt.Errorf("vswitch: attach to %s: unknown hook %s", a.describe(ifindex), h)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	switch a.method {
	case MethodTCX:
		return MethodTCX, a.attachTCX(ifindex, h, prog)
	case MethodClsact:
		return MethodClsact, a.attachClsact(ifindex, h, prog)
	}
	err := a.attachTCX(ifindex, h, prog)
	if errors.Is(err, ebpf.ErrNotSupported) {
		return MethodClsact, a.attachClsact(ifindex, h, prog)
	}
	return MethodTCX, err
}

func (a *Attacher) attachTCX(ifindex int, h bpfprog.Hook, prog *ebpf.Program) error {
	k := key{ifindex, h}
	if l, ok := a.links[k]; ok {
		if info, err := l.Info(); err == nil && info.TCX() != nil && int(info.TCX().Ifindex) == ifindex {
			return l.Update(prog)
		}
		// The interface went away under us; the link is defunct.
		l.Unpin()
		l.Close()
		delete(a.links, k)
	}
	pin := a.linkPin(ifindex, h)
	if l, err := link.LoadPinnedLink(pin, nil); err == nil {
		info, ierr := l.Info()
		if ierr == nil && info.TCX() != nil && int(info.TCX().Ifindex) == ifindex &&
			ebpf.AttachType(info.TCX().AttachType) == tcxAttachType(h) {
			if err := l.Update(prog); err != nil {
				l.Close()
				return fmt.Errorf("vswitch: re-adopt pinned TCX link %s on %s: %w", pin, a.describe(ifindex), err)
			}
			a.links[k] = l
			return nil
		}
		// Pinned for an interface that is gone (or an ifindex reused).
		l.Unpin()
		l.Close()
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("vswitch: open pinned TCX link %s: %w: remove the stale pin", pin, err)
	}
	var l link.Link
	err := inNetns(a.ns, func() error {
		var err error
		l, err = link.AttachTCX(link.TCXOptions{Interface: ifindex, Program: prog, Attach: tcxAttachType(h), Anchor: link.Head()})
		return err
	})
	if err != nil {
		if errors.Is(err, ebpf.ErrNotSupported) {
			return fmt.Errorf("vswitch: attach tcx %s to %s: %w: kernel lacks TCX (< 6.6), use the clsact method", direction(h), a.describe(ifindex), err)
		}
		return fmt.Errorf("vswitch: attach tcx %s to %s: %w: need CAP_BPF+CAP_NET_ADMIN", direction(h), a.describe(ifindex), err)
	}
	if err := l.Pin(pin); err != nil {
		l.Close()
		return fmt.Errorf("vswitch: pin TCX link of %s at %s: %w: is %s on bpffs?", a.describe(ifindex), pin, err, a.pinDir)
	}
	a.links[k] = l
	// Switching methods: drop a cls_bpf filter an earlier run left, only
	// now that TCX sees the traffic (a brief double capture, never a gap).
	return a.detachClsact(ifindex, h)
}

func filterParent(h bpfprog.Hook) uint32 {
	if h.Ingress() {
		return netlink.HANDLE_MIN_INGRESS
	}
	return netlink.HANDLE_MIN_EGRESS
}

// hookQdisc returns the qdisc on the clsact/ingress hook, or nil.
func (a *Attacher) hookQdisc(l netlink.Link) (netlink.Qdisc, error) {
	qs, err := a.nl.QdiscList(l)
	if err != nil {
		return nil, fmt.Errorf("vswitch: tc qdisc show dev %s: %w", l.Attrs().Name, err)
	}
	for _, q := range qs {
		if q.Attrs().Parent == netlink.HANDLE_INGRESS {
			return q, nil
		}
	}
	return nil, nil
}

func (a *Attacher) attachClsact(ifindex int, h bpfprog.Hook, prog *ebpf.Program) error {
	l, err := a.nl.LinkByIndex(ifindex)
	if err != nil {
		return fmt.Errorf("vswitch: attach clsact to ifindex %d: %w: the interface is gone", ifindex, err)
	}
	name := l.Attrs().Name
	q, err := a.hookQdisc(l)
	if err != nil {
		return err
	}
	switch {
	case q == nil:
		// Equivalent: tc qdisc add dev IF clsact
		cq := &netlink.GenericQdisc{QdiscType: "clsact", QdiscAttrs: netlink.QdiscAttrs{
			LinkIndex: ifindex, Handle: netlink.MakeHandle(0xffff, 0), Parent: netlink.HANDLE_CLSACT}}
		if err := a.nl.QdiscAdd(cq); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("vswitch: tc qdisc add dev %s clsact: %w: need CAP_NET_ADMIN", name, err)
		}
		if err := a.owner.Put(uint32(ifindex), uint32(1)); err != nil {
			return fmt.Errorf("vswitch: record clsact qdisc of %s as ours: %w", name, err)
		}
	case q.Type() == "ingress" && !h.Ingress():
		return fmt.Errorf("vswitch: attach egress to %s (ifindex %d): a foreign ingress qdisc (libvirt <bandwidth>?) occupies the clsact hook: use the TCX method (kernel >= 6.6)", name, ifindex)
	case q.Type() != "ingress" && q.Type() != "clsact":
		return fmt.Errorf("vswitch: attach to %s: unexpected %s qdisc on the ingress hook", name, q.Type())
	}

	info, err := prog.Info()
	if err != nil {
		return fmt.Errorf("vswitch: read program info: %w", err)
	}
	progID, _ := info.ID()
	if f, err := a.ourFilter(l, h); err != nil {
		return err
	} else if f != nil && f.Id == int(progID) {
		return nil
	}
	f := &netlink.BpfFilter{
		FilterAttrs: netlink.FilterAttrs{LinkIndex: ifindex, Parent: filterParent(h), Handle: filterHandle,
			Priority: a.prio, Protocol: unix.ETH_P_ALL},
		Fd: prog.FD(), Name: filterNamePrefix + h.String(), DirectAction: true,
	}
	if err := a.nl.FilterReplace(f); err != nil {
		return fmt.Errorf("vswitch: tc filter replace dev %s %s prio %d handle %#x bpf da: %w: need CAP_NET_ADMIN; another filter at prio %d? set FilterPriority",
			name, direction(h), a.prio, filterHandle, err, a.prio)
	}
	// Switching methods: drop a TCX link an earlier run pinned, only now
	// that the filter sees the traffic.
	return a.detachTCX(ifindex, h)
}

func (a *Attacher) detachTCX(ifindex int, h bpfprog.Hook) error {
	var errs []error
	k := key{ifindex, h}
	if l, ok := a.links[k]; ok {
		delete(a.links, k)
		if err := l.Unpin(); err != nil {
			errs = append(errs, fmt.Errorf("vswitch: unpin TCX link of %s: %w", a.describe(ifindex), err))
		}
		errs = append(errs, l.Close())
	}
	pin := a.linkPin(ifindex, h)
	if l, err := link.LoadPinnedLink(pin, nil); err == nil {
		if err := l.Unpin(); err != nil {
			errs = append(errs, fmt.Errorf("vswitch: unpin %s: %w", pin, err))
		}
		l.Close()
	}
	return errors.Join(errs...)
}

// ourFilter finds tapwatch's cls_bpf filter for the hook.
func (a *Attacher) ourFilter(l netlink.Link, h bpfprog.Hook) (*netlink.BpfFilter, error) {
	fs, err := a.nl.FilterList(l, filterParent(h))
	if err != nil {
		return nil, fmt.Errorf("vswitch: tc filter show dev %s %s: %w", l.Attrs().Name, direction(h), err)
	}
	for _, f := range fs {
		bf, ok := f.(*netlink.BpfFilter)
		if ok && bf.Handle == filterHandle && bf.Priority == a.prio && strings.HasPrefix(bf.Name, filterNamePrefix) {
			return bf, nil
		}
	}
	return nil, nil
}

// Detach removes the hook's program from the interface, by whichever method
// attached it, and leaves the interface as it was before Attach: a clsact
// qdisc is deleted only if tapwatch created it and no filter remains on it.
// Detaching what is not attached is a no-op.
//
// Equivalent (TCX): `rm PIN` (the link detaches with its last reference).
// Equivalent (clsact): `tc filter del dev IF ingress|egress prio 1 handle
// 0x7477 bpf`, then `tc qdisc del dev IF clsact` when it was ours and is empty.
func (a *Attacher) Detach(ifindex int, h bpfprog.Hook) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	errs := []error{a.detachTCX(ifindex, h)}
	if err := a.detachClsact(ifindex, h); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (a *Attacher) detachClsact(ifindex int, h bpfprog.Hook) error {
	l, err := a.nl.LinkByIndex(ifindex)
	if err != nil {
		// Gone with its qdiscs; forget that we owned one.
		a.owner.Delete(uint32(ifindex))
		return nil
	}
	q, err := a.hookQdisc(l)
	if err != nil || q == nil {
		return err
	}
	f, err := a.ourFilter(l, h)
	if err != nil {
		return err
	}
	if f != nil {
		if err := a.nl.FilterDel(f); err != nil {
			return fmt.Errorf("vswitch: tc filter del dev %s %s prio %d handle %#x: %w", l.Attrs().Name, direction(h), a.prio, filterHandle, err)
		}
	}
	var owned uint32
	if a.owner.Lookup(uint32(ifindex), &owned) != nil || q.Type() != "clsact" {
		return nil
	}
	for _, p := range []uint32{netlink.HANDLE_MIN_INGRESS, netlink.HANDLE_MIN_EGRESS} {
		fs, err := a.nl.FilterList(l, p)
		if err != nil {
			return fmt.Errorf("vswitch: tc filter show dev %s: %w", l.Attrs().Name, err)
		}
		if len(fs) > 0 {
			return nil // someone else's filters (or our other hook) still use it
		}
	}
	if err := a.nl.QdiscDel(q); err != nil && !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("vswitch: tc qdisc del dev %s clsact: %w", l.Attrs().Name, err)
	}
	a.owner.Delete(uint32(ifindex))
	return nil
}

// Attachment is a hook found attached to an interface.
type Attachment struct {
	Ifindex int
	Hook    bpfprog.Hook
	Method  Method
}

// Attached reports how, if at all, tapwatch's program for a hook is attached
// to an interface (by any tapwatch process, including an earlier one).
// Equivalent: `bpftool link show` / `tc filter show dev IF ingress|egress`.
func (a *Attacher) Attached(ifindex int, h bpfprog.Hook) (Method, bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if l, err := link.LoadPinnedLink(a.linkPin(ifindex, h), nil); err == nil {
		info, ierr := l.Info()
		l.Close()
		if ierr == nil && info.TCX() != nil && int(info.TCX().Ifindex) == ifindex {
			return MethodTCX, true, nil
		}
	}
	l, err := a.nl.LinkByIndex(ifindex)
	if err != nil {
		return 0, false, nil
	}
	f, err := a.ourFilter(l, h)
	if err != nil {
		return 0, false, err
	}
	if f != nil {
		return MethodClsact, true, nil
	}
	return 0, false, nil
}

// Pinned lists the TCX attachments pinned under the pin directory, including
// an earlier agent's, so that a restarted agent can re-adopt those it still
// wants (Attach) and remove the rest (Detach). clsact attachments are not
// pinned; ask Attached per interface.
// Equivalent: `ls PINDIR/links`.
func (a *Attacher) Pinned() ([]Attachment, error) {
	dir := filepath.Join(a.pinDir, "links")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("vswitch: list pinned links in %s: %w", dir, err)
	}
	var out []Attachment
	for _, e := range ents {
		var idx int
		var hs string
		if _, err := fmt.Sscanf(strings.Replace(e.Name(), "_", " ", 2), "tcx %d %s", &idx, &hs); err != nil {
			continue // not ours
		}
		for _, h := range bpfprog.AllHooks() {
			if h.String() == hs {
				out = append(out, Attachment{Ifindex: idx, Hook: h, Method: MethodTCX})
			}
		}
	}
	return out, nil
}
