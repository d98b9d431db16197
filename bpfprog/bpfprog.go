package bpfprog

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/cilium/ebpf"
)

// Hook is the place a program runs: a VM tap or a bridge uplink, ingress or
// egress, as the kernel sees the interface.
type Hook uint8

const (
	// HookTapIngress carries frames the VM sent (a tap's ingress is the
	// VM's transmit).
	HookTapIngress Hook = 1
	// HookTapEgress carries frames delivered to the VM.
	HookTapEgress Hook = 2
	// HookUplinkIngress carries frames arriving from the network.
	HookUplinkIngress Hook = 3
	// HookUplinkEgress carries frames leaving for the network.
	HookUplinkEgress Hook = 4
)

// AllHooks lists every hook, in order.
func AllHooks() []Hook {
	return []Hook{HookTapIngress, HookTapEgress, HookUplinkIngress, HookUplinkEgress}
}

func (h Hook) String() string {
	switch h {
	case HookTapIngress:
		return "tap-ingress"
	case HookTapEgress:
		return "tap-egress"
	case HookUplinkIngress:
		return "uplink-ingress"
	case HookUplinkEgress:
		return "uplink-egress"
	}
	return fmt.Sprintf("hook(%d)", uint8(h))
}

// Ingress reports whether the hook sits on the interface's receive path.
func (h Hook) Ingress() bool { return h == HookTapIngress || h == HookUplinkIngress }

// Valid reports whether h is one of the four hooks.
func (h Hook) Valid() bool { return h >= HookTapIngress && h <= HookUplinkEgress }

// Direction is seen from the VMs' side of the bridge.
type Direction uint8

const (
	// FromVM: sent by a VM (tap ingress) or leaving through an uplink.
	FromVM Direction = 1
	// ToVM: delivered to a VM (tap egress) or arriving through an uplink.
	ToVM Direction = 2
)

func (d Direction) String() string {
	switch d {
	case FromVM:
		return "from-vm"
	case ToVM:
		return "to-vm"
	}
	return fmt.Sprintf("dir(%d)", uint8(d))
}

// Mode selects whether the block lists are enforced.
type Mode uint32

const (
	// ModeIDS never drops a packet.
	ModeIDS Mode = 0
	// ModeIPS drops packets of blocked flows and hosts (TC_ACT_SHOT).
	ModeIPS Mode = 1
)

// MaxSnaplen is the largest capture per packet: header and bytes must fit a
// per-CPU map value (32 KiB). Longer frames (GSO up to 64 KiB) keep their
// original length in the header and are counted as too big.
const MaxSnaplen = 32768 - 64

// HeaderSize is the size of the record header that precedes packet bytes.
const HeaderSize = 40

// Defaults used when Options leaves a field zero.
const (
	DefaultSnaplen     = 2048
	DefaultRingBytes   = 16 << 20
	DefaultWakeupBytes = 256 << 10
)

// Options configure Load.
type Options struct {
	// PinPath, when set, is a bpffs directory (e.g. /sys/fs/bpf/tapwatch)
	// where maps are pinned by name, and from which an earlier instance's
	// maps (including the ring buffer and what it still holds) are reused.
	PinPath string
	// RingBytes is the ring buffer size: a power of two, multiple of the
	// page size. Must match a pinned ring buffer's size.
	RingBytes uint32
	// Config is written to the config map at load.
	Config Config
}

// Config is what the programs read on every packet.
type Config struct {
	// Snaplen caps the packet bytes copied per record (1..MaxSnaplen).
	Snaplen uint32
	// Mode is IDS (never drop) or IPS (enforce block lists).
	Mode Mode
	// WakeupBytes: the program wakes the reader only once this many bytes
	// wait in the ring; the reader's poll interval bounds latency below it.
	WakeupBytes uint32
	// Capture selects how packet bytes reach the ring.
	Capture Capture
}

// Capture is how the program copies packet bytes into the ring buffer.
type Capture uint32

const (
	// CaptureCopy loads the bytes into a per-CPU scratch buffer and copies
	// header + bytes into the ring (bpf_ringbuf_output): records take only
	// the space they need.
	CaptureCopy Capture = 0
	// CaptureReserve reserves header + a size class (128, 512, 2048, 8192,
	// MaxSnaplen bytes) in the ring and loads the bytes straight into it:
	// one copy less, but each record occupies its whole class.
	CaptureReserve Capture = 1
)

func (c Config) withDefaults() Config {
	if c.Snaplen == 0 {
		c.Snaplen = DefaultSnaplen
	}
	if c.WakeupBytes == 0 {
		c.WakeupBytes = DefaultWakeupBytes
	}
	return c
}

// Objects are the loaded programs and maps. Close releases them; pinned
// maps and links attached elsewhere keep the kernel objects alive.
type Objects struct {
	objs    twObjects
	pinPath string
	ringLen uint32
}

// pinnedMaps are shared across agent restarts; scratch is per instance.
func pinnedMaps() []string {
	return []string{"events", "config", "counters", "bypass", "block_flows", "block_hosts", "monitored_macs", "zones"}
}

// Load loads the programs and maps into the kernel, reusing pinned maps
// under opts.PinPath when present, and writes opts.Config.
func Load(opts Options) (*Objects, error) {
	if opts.RingBytes == 0 {
		opts.RingBytes = DefaultRingBytes
	}
	if opts.RingBytes&(opts.RingBytes-1) != 0 || opts.RingBytes < uint32(os.Getpagesize()) {
		return nil, fmt.Errorf("bpfprog: ring buffer size %d: must be a power of two of at least one page", opts.RingBytes)
	}
	cfg := opts.Config.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	spec, err := loadTw()
	if err != nil {
		return nil, fmt.Errorf("bpfprog: parse embedded object: %w", err)
	}
	spec.Maps["events"].MaxEntries = opts.RingBytes
	var co ebpf.CollectionOptions
	if opts.PinPath != "" {
		if err := os.MkdirAll(opts.PinPath, 0o700); err != nil {
			return nil, fmt.Errorf("bpfprog: create pin directory %s: %w: mount bpffs at /sys/fs/bpf", opts.PinPath, err)
		}
		for _, name := range pinnedMaps() {
			spec.Maps[name].Pinning = ebpf.PinByName
		}
		co.Maps.PinPath = opts.PinPath
	}
	o := &Objects{pinPath: opts.PinPath, ringLen: opts.RingBytes}
	if err := spec.LoadAndAssign(&o.objs, &co); err != nil {
		var ve *ebpf.VerifierError
		switch {
		case errors.As(err, &ve) && unprivilegedVerifier(ve):
			// Loaded without CAP_PERFMON, the verifier applies its rules for
			// unprivileged loaders (no pointer arithmetic across map values,
			// Spectre sanitation) and rejects programs that load as root.
			return nil, fmt.Errorf("bpfprog: verifier rejected tapwatch programs as an unprivileged loader: need CAP_PERFMON besides CAP_BPF+CAP_NET_ADMIN (or root): %v", ve)
		case errors.As(err, &ve):
			return nil, fmt.Errorf("bpfprog: verifier rejected tapwatch programs: %+v", ve)
		case errors.Is(err, ebpf.ErrMapIncompatible):
			return nil, fmt.Errorf("bpfprog: pinned maps in %s differ from this build (ring size %d?): %w: remove the directory or use the old ring size", opts.PinPath, opts.RingBytes, err)
		case errors.Is(err, os.ErrPermission):
			return nil, fmt.Errorf("bpfprog: load tapwatch programs: %w: need CAP_BPF+CAP_NET_ADMIN (or root)", err)
		}
		return nil, fmt.Errorf("bpfprog: load tapwatch programs: %w", err)
	}
	if err := o.SetConfig(cfg); err != nil {
		o.Close()
		return nil, err
	}
	return o, nil
}

// Program returns the program for a hook, or nil for an invalid hook.
func (o *Objects) Program(h Hook) *ebpf.Program {
	switch h {
	case HookTapIngress:
		return o.objs.TwTapIngress
	case HookTapEgress:
		return o.objs.TwTapEgress
	case HookUplinkIngress:
		return o.objs.TwUplinkIngress
	case HookUplinkEgress:
		return o.objs.TwUplinkEgress
	}
	return nil
}

// PinPath returns the directory the maps are pinned in ("" when unpinned).
func (o *Objects) PinPath() string { return o.pinPath }

// RingBuffer returns the raw ring buffer map, for callers that need it.
func (o *Objects) RingBuffer() *ebpf.Map { return o.objs.Events }

// Close releases this process's handles. Pinned maps stay.
func (o *Objects) Close() error { return o.objs.Close() }

// Unpin removes the pinned maps so that the kernel frees them once the last
// user is gone. Used by an operator's "uninstall", and by tests.
func (o *Objects) Unpin() error {
	var errs []error
	for _, m := range []*ebpf.Map{o.objs.Events, o.objs.Config, o.objs.Counters, o.objs.Bypass, o.objs.BlockFlows, o.objs.BlockHosts, o.objs.MonitoredMacs, o.objs.Zones} {
		if m != nil && m.IsPinned() {
			if err := m.Unpin(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// unprivilegedVerifier reports whether the verifier refused the programs only
// because the loader lacks CAP_PERFMON: its messages then say "!root".
func unprivilegedVerifier(ve *ebpf.VerifierError) bool {
	for _, l := range ve.Log {
		if strings.Contains(l, "!root") {
			return true
		}
	}
	return false
}
