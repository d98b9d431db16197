// Package vswitch owns tapwatch's view of the Linux bridges on a host and its
// hold on their ports: it discovers bridges, their ports, and which ports are
// VM taps and which are uplinks; it turns netlink link notifications into
// typed events; and it attaches and detaches the bpfprog programs, with TCX
// where the kernel has it (links pinned under a bpffs directory so a
// restarted agent re-adopts them with no unmonitored gap) and clsact +
// cls_bpf otherwise.
//
// Functions are named after, and documented with, their `ip`/`tc`
// equivalents. The package never logs; errors name the interface and the fix.
package vswitch
