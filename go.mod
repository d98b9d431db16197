module github.com/tapwatch/tapwatch

go 1.26.8

require (
	github.com/cilium/ebpf v0.22.0 // indirect
	github.com/dlclark/regexp2 v1.12.0 // indirect
	github.com/gopacket/gopacket v1.7.7 // indirect
	github.com/vishvananda/netlink v1.3.1 // indirect
	github.com/vishvananda/netns v0.0.5 // indirect
	golang.org/x/sys v0.50.0 // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
	libvirt.org/go/libvirt v1.10000.0 // indirect
	libvirt.org/go/libvirtxml v1.12008.0 // indirect
)
