// Package vmctx answers "which VM is this?" for the live pipeline: it indexes
// the inventory's NICs by MAC and by tap, learns which addresses each VM
// really uses, and flags what only a hypervisor can see — a VM sending with
// a MAC libvirt did not give it (which it remembers per tap, for the VM's
// profile), or claiming another VM's IP in ARP.
// Lookups are lock-free reads of an immutable index swapped on each
// inventory change.
package vmctx
