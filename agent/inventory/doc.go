// Package inventory owns tapwatch's view of the host's VMs: the VM model (NICs, taps, MACs and the
// per-VM policy kept in the domain's libvirt <metadata>), the libvirt source that keeps that view
// current through lifecycle and device events and full resyncs, and the Index that maps a packet's
// MAC, tap or IP back to the VM it belongs to.
//
// It knows nothing of eBPF or rules: the agent turns its snapshots and events into hooks to attach
// and into the `vm` context of alerts.
package inventory
