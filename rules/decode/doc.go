// Package decode turns captured frames into Packets: link layer (Ethernet,
// 802.1Q/QinQ, Linux SLL/SLL2, raw IP, NULL/loopback), IPv4 with fragment
// reassembly, IPv6 with extension headers and fragments, TCP, UDP, ICMP and
// ICMPv6. Decoding reuses the caller's Packet and does not allocate on the
// hot path; malformed input is counted by reason, never a panic.
package decode
