// Package pcapfilter owns tapwatch's pcap-filter(7) expressions (the
// tcpdump syntax, as in `tapwatch pcap --filter 'tcp port 80'`): it
// compiles an expression with libpcap for Ethernet frames, the link type
// the recorder stores, and matches recorded frames against it with
// libpcap's own BPF interpreter, so an expression selects exactly what
// tcpdump -r would.
//
// It links libpcap through cgo: Debian's libpcap-dev to build, which brings
// the runtime library (deploy/scripts/install-deps.sh installs it).
package pcapfilter
