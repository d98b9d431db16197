// Package decode turns captured frames into Packets and reads capture files.
//
// Link layers: Ethernet II with up to two recorded 802.1Q/802.1ad tags
// (more are skipped), PPPoE sessions and MPLS label stacks on Ethernet,
// Linux SLL and SLL2, raw IP, BSD NULL and LOOP, PPP and Cisco HDLC.
// Non-IP frames (ARP, LLDP...) decode at the link layer and are reported as
// decoded: the engine still sees them.
//
// Network and transport: IPv4 (options, Ethernet padding cut off by the
// total length) and IPv6 (hop-by-hop, routing, destination options, AH,
// fragment; ESP and No-Next end the walk), both with fragment reassembly
// (defrag.go); TCP, UDP, ICMP and ICMPv6 headers. Checksums are not
// verified, tunnels (GRE, VXLAN, IP-in-IP) and the IP header quoted in ICMP
// errors are not decoded: their bytes are in Payload.
//
// Decoding reuses the caller's Packet and allocates nothing unless a
// fragment arrives. Packet slices point into the frame, or for a
// reassembled datagram into a Decoder-owned buffer valid until the next
// Decode. A Decoder is one worker's: it is not safe for concurrent use.
//
// Bad input is counted, never a panic: each failure path names a Reason,
// Decode returns false, and the Packet keeps the layers that decoded. A few
// reasons are events that leave the frame decoded (fragment overlaps and
// evictions, snap-length cuts, offload frames with IPv4 total length 0).
//
// A frame cut by the capture's snap length (the caller's Packet.OrigLen
// larger than the frame) is not malformed: headers that fit are decoded and
// Packet.Truncated is set. Without OrigLen the decoder cannot tell such a
// cut from a lying length field, and counts ipv4_trunc / ipv6_trunc.
//
// PcapReader reads pcap and pcapng files (see pcap.go for why it does not
// use gopacket's pcapgo).
package decode
