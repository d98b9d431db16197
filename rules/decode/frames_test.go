package decode

import (
	"encoding/binary"
	"net"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Test frames are built with gopacket/layers so they are independent of the
// decoder under test.

var (
	macA = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x0a}
	macB = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x0b}
	ip4A = net.IP{10, 0, 0, 1}
	ip4B = net.IP{10, 0, 0, 2}
	ip6A = net.ParseIP("2001:db8::1")
	ip6B = net.ParseIP("2001:db8::2")
)

func serialize(t testing.TB, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatalf("serialize: %v", err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

func eth(et layers.EthernetType) *layers.Ethernet {
	return &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: et}
}

func ip4(proto layers.IPProtocol) *layers.IPv4 {
	return &layers.IPv4{Version: 4, IHL: 5, TTL: 63, TOS: 0x10, Id: 0x1234, Flags: layers.IPv4DontFragment, Protocol: proto, SrcIP: ip4A, DstIP: ip4B}
}

func ip6(nh layers.IPProtocol) *layers.IPv6 {
	return &layers.IPv6{Version: 6, HopLimit: 64, TrafficClass: 0x20, NextHeader: nh, SrcIP: ip6A, DstIP: ip6B}
}

func tcpLayer(net gopacket.NetworkLayer) *layers.TCP {
	tc := &layers.TCP{SrcPort: 40000, DstPort: 80, Seq: 1000, Ack: 2000, SYN: true, ACK: true, ECE: true, CWR: true, URG: true, Urgent: 7, Window: 512,
		Options: []layers.TCPOption{{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{0x05, 0xb4}}}}
	tc.SetNetworkLayerForChecksum(net)
	return tc
}

func udpLayer(net gopacket.NetworkLayer) *layers.UDP {
	u := &layers.UDP{SrcPort: 5353, DstPort: 53}
	u.SetNetworkLayerForChecksum(net)
	return u
}

var payload = gopacket.Payload("hello, tapwatch")

func ethIPv4TCP(t testing.TB) []byte {
	ip := ip4(layers.IPProtocolTCP)
	return serialize(t, eth(layers.EthernetTypeIPv4), ip, tcpLayer(ip), payload)
}

func ethIPv4UDP(t testing.TB) []byte {
	ip := ip4(layers.IPProtocolUDP)
	return serialize(t, eth(layers.EthernetTypeIPv4), ip, udpLayer(ip), payload)
}

func ethIPv6TCP(t testing.TB) []byte {
	ip := ip6(layers.IPProtocolTCP)
	return serialize(t, eth(layers.EthernetTypeIPv6), ip, tcpLayer(ip), payload)
}

func ethIPv4ICMP(t testing.TB, typ, code uint8) []byte {
	return serialize(t, eth(layers.EthernetTypeIPv4), ip4(layers.IPProtocolICMPv4),
		&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(typ, code), Id: 77, Seq: 9}, payload)
}

func ethVLANIPv4UDP(t testing.TB, tags ...uint16) []byte {
	ls := []gopacket.SerializableLayer{}
	first := layers.EthernetTypeDot1Q
	if len(tags) > 1 {
		first = layers.EthernetTypeQinQ
	}
	ls = append(ls, eth(first))
	for i, tag := range tags {
		next := layers.EthernetTypeDot1Q
		if i == len(tags)-1 {
			next = layers.EthernetTypeIPv4
		}
		ls = append(ls, &layers.Dot1Q{VLANIdentifier: tag, Priority: 3, Type: next})
	}
	ip := ip4(layers.IPProtocolUDP)
	ls = append(ls, ip, udpLayer(ip), payload)
	return serialize(t, ls...)
}

// ipv4Bytes returns the IPv4 datagram of an Ethernet frame.
func ipv4Bytes(t testing.TB) []byte { return ethIPv4TCP(t)[14:] }

func ipv6Bytes(t testing.TB) []byte { return ethIPv6TCP(t)[14:] }

// withLink prefixes b with a link header.
func sllFrame(proto uint16, b []byte) []byte {
	h := make([]byte, 16)
	binary.BigEndian.PutUint16(h[0:2], 0) // to us
	binary.BigEndian.PutUint16(h[2:4], 1) // ARPHRD_ETHER
	binary.BigEndian.PutUint16(h[4:6], 6) // address length
	copy(h[6:12], macA)
	binary.BigEndian.PutUint16(h[14:16], proto)
	return append(h, b...)
}

func sll2Frame(proto uint16, b []byte) []byte {
	h := make([]byte, 20)
	binary.BigEndian.PutUint16(h[0:2], proto)
	binary.BigEndian.PutUint32(h[4:8], 3) // ifindex
	binary.BigEndian.PutUint16(h[8:10], 1)
	h[11] = 6
	copy(h[12:18], macA)
	return append(h, b...)
}

func nullFrame(fam uint32, bo binary.ByteOrder, b []byte) []byte {
	h := make([]byte, 4)
	bo.PutUint32(h, fam)
	return append(h, b...)
}

// ethHeader builds an Ethernet header by hand: gopacket pads a frame
// without payload to 60 bytes.
func ethHeader(et uint16) []byte {
	h := make([]byte, 14)
	copy(h[0:6], macB)
	copy(h[6:12], macA)
	binary.BigEndian.PutUint16(h[12:14], et)
	return h
}
