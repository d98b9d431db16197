// Package e2e tests tapwatch end to end on a namespace lab (agent/lab): the
// daemon in process, discovering VMs through libvirt's test driver, hooking
// real interfaces with eBPF, and attributing real attack traffic to VMs in
// EVE, the control socket, Prometheus metrics, the flow store and recorded
// packets. The QEMU/libvirtd tests are in ./qemu, the deployment tests in
// ./deploy.
package e2e
