// Package lab builds and tears down a small KVM-like host made of network namespaces, so
// tapwatch can be demonstrated and tested end to end on any Linux machine without QEMU.
//
// It owns the lab topology (a bridge with no address, one namespace per "VM" joined by a veth
// whose host end plays the VM's tap, and an uplink namespace playing the internet), the libvirt
// test-driver file that describes those VMs to the agent's inventory, and the traffic generator
// that drives real clients (curl, python3's http.server, a DNS resolver, a TLS 1.2 server and
// client, SSH identification lines, a port scan, ARP and MAC spoofing) inside those namespaces. Nothing it does sends from the root namespace or routes out
// of the lab.
package lab
