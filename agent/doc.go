// Package agent is tapwatchd: it wires the VM inventory (libvirt), the
// eBPF datapath (bpfprog, vswitch), the live pipeline and the detection core
// (rules/detect), and the outputs (EVE JSON, the control socket). One
// reconciler goroutine owns which hooks are attached where; everything else
// sends it events.
package agent
