// Package qemu is tapwatch's end-to-end test against a real libvirtd and a
// real QEMU guest: an alert names the VM, a live migration between two
// libvirt daemons on one host keeps the attribution with nothing lost or
// inspected twice, and the libvirt hook's fail-open/fail-closed policies.
// See qemu_test.go for what it needs and how it sets the host up.
package qemu
