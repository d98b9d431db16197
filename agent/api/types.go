package api

import (
	"context"
	"io"
	"time"

	"github.com/tapwatch/tapwatch/agent/flowstore"
	"github.com/tapwatch/tapwatch/agent/record"
)

// NIC is one VM network interface as the agent sees it.
type NIC struct {
	MAC      string `json:"mac"`
	Tap      string `json:"tap"`
	Bridge   string `json:"bridge"`
	HookMode string `json:"hook_mode"` // tcx, clsact, or "" when not attached
	Attached bool   `json:"attached"`
	Packets  uint64 `json:"packets"`
	Alerts   uint64 `json:"alerts"`
}

// VM is one domain of the inventory with its monitoring state.
type VM struct {
	Name   string `json:"name"`
	UUID   string `json:"uuid"`
	State  string `json:"state"`
	NICs   []NIC  `json:"nics"`
	Alerts uint64 `json:"alerts"`
}

// Hook is one attachment point of the datapath.
type Hook struct {
	Interface string `json:"interface"`
	Ifindex   int    `json:"ifindex"`
	Role      string `json:"role"` // tap or uplink
	Mode      string `json:"mode"`
	VM        string `json:"vm,omitempty"`
	Seen      uint64 `json:"seen"`
	Sent      uint64 `json:"sent"`
	RingFull  uint64 `json:"ring_full"`
}

// Status summarises the daemon.
type Status struct {
	Host        string            `json:"host"`
	Version     string            `json:"version"`
	Started     time.Time         `json:"started"`
	LibvirtURI  string            `json:"libvirt_uri"`
	Libvirt     string            `json:"libvirt"` // connected, retrying: why
	Hooks       []Hook            `json:"hooks"`
	RulesLoaded int               `json:"rules_loaded"`
	RulesFailed int               `json:"rules_failed"`
	Packets     uint64            `json:"packets"`
	Alerts      uint64            `json:"alerts"`
	Drops       map[string]uint64 `json:"drops"`
}

// HookEvent is what the libvirt hook script reports: `qemu DOMAIN OP SUBOP`
// and the domain XML it got on stdin.
type HookEvent struct {
	Object    string `json:"object"` // qemu
	Domain    string `json:"domain"`
	Operation string `json:"operation"`
	SubOp     string `json:"sub_operation"`
	XML       string `json:"xml"`
}

// HookReply tells the hook whether the domain may go on.
type HookReply struct {
	Allow   bool   `json:"allow"`
	Message string `json:"message,omitempty"`
}

// Profile is what a VM really is on the network, from its flows: the
// services it answered on, the servers it used, the addresses it sent from,
// beside what libvirt says it is.
type Profile struct {
	VM VM `json:"vm"`
	// Addresses the VM sent from: learned from live traffic since the
	// agent started, and found in its stored flows.
	Addresses []string `json:"addresses"`
	// MACs the VM's NICs sent from: libvirt's, and any other (spoofing).
	MACs     []MACUse            `json:"macs"`
	Services []flowstore.Service `json:"services"`
}

// MACUse is a source MAC seen on a VM's tap, compared with libvirt's.
type MACUse struct {
	MAC     string `json:"mac"`
	Tap     string `json:"tap"`
	Libvirt bool   `json:"libvirt"` // the MAC libvirt gave this NIC
	// For other MACs: frames sent from it, first and last seen.
	Frames uint64    `json:"frames,omitempty"`
	First  time.Time `json:"first,omitzero"`
	Last   time.Time `json:"last,omitzero"`
}

// Backend is what the daemon provides to the control socket.
type Backend interface {
	Flows(ctx context.Context, f flowstore.Filter) ([]flowstore.Record, error)
	Profile(ctx context.Context, vm string) (Profile, error)
	// Pcap writes the recorded packets q selects to w as pcapng.
	Pcap(ctx context.Context, q record.Query, w io.Writer) (int, error)
	VMs(ctx context.Context) ([]VM, error)
	Status(ctx context.Context) (Status, error)
	// Alerts returns recent EVE alert lines for vm ("" for all) and, when
	// follow is set, a channel of new ones closed when ctx ends.
	Alerts(ctx context.Context, vm string, follow bool) (recent [][]byte, live <-chan []byte, err error)
	Hook(ctx context.Context, ev HookEvent) (HookReply, error)
}
