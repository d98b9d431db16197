package lab

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Ping sends one ICMP echo request from node to dst and waits for the reply until ctx ends or
// timeout passes. It uses a raw socket created inside node's namespace, so it needs no ping binary.
func (l *Lab) Ping(ctx context.Context, node string, dst netip.Addr, timeout time.Duration) error {
	var conn net.PacketConn
	err := l.Do(node, func() error {
		c, err := net.ListenPacket("ip4:icmp", "0.0.0.0")
		conn = c
		return err
	})
	if err != nil {
		return fmt.Errorf("open ICMP socket in %s: %w", node, err)
	}
	defer conn.Close()
	id := uint16(os.Getpid())
	seq := uint16(time.Now().UnixNano())
	if _, err := conn.WriteTo(icmpEcho(id, seq), &net.IPAddr{IP: dst.AsSlice()}); err != nil {
		return fmt.Errorf("ping %s from %s: %w", dst, node, err)
	}
	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = conn.SetReadDeadline(deadline)
	buf := make([]byte, 1500)
	for {
		n, from, err := conn.ReadFrom(buf)
		if err != nil {
			return fmt.Errorf("ping %s from %s: no reply: %w", dst, node, err)
		}
		// A raw ICMP socket sees every ICMP packet of the namespace; only our echo reply counts.
		if n >= 8 && buf[0] == 0 && binary.BigEndian.Uint16(buf[4:]) == id && binary.BigEndian.Uint16(buf[6:]) == seq &&
			from.(*net.IPAddr).IP.Equal(dst.AsSlice()) {
			return nil
		}
	}
}

// sendEchos sends ICMP echo requests from node to each of dsts without waiting for replies: what
// a ping sweep looks like on the wire.
func (l *Lab) sendEchos(node string, dsts []netip.Addr) error {
	var conn net.PacketConn
	if err := l.Do(node, func() error {
		c, err := net.ListenPacket("ip4:icmp", "0.0.0.0")
		conn = c
		return err
	}); err != nil {
		return fmt.Errorf("open ICMP socket in %s: %w", node, err)
	}
	defer conn.Close()
	for i, dst := range dsts {
		if _, err := conn.WriteTo(icmpEcho(uint16(os.Getpid()), uint16(i)), &net.IPAddr{IP: dst.AsSlice()}); err != nil {
			return fmt.Errorf("send echo to %s from %s: %w", dst, node, err)
		}
	}
	return nil
}

func icmpEcho(id, seq uint16) []byte {
	b := make([]byte, 8+32)
	b[0] = 8 // echo request
	binary.BigEndian.PutUint16(b[4:], id)
	binary.BigEndian.PutUint16(b[6:], seq)
	copy(b[8:], "tapwatch-lab-ping-payload-012345")
	binary.BigEndian.PutUint16(b[2:], inetChecksum(b))
	return b
}

func inetChecksum(b []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum>>16 != 0 {
		sum = (sum & 0xffff) + sum>>16
	}
	return ^uint16(sum)
}

// SendGratuitousARP sends count broadcast ARP replies from node's NIC that claim ip is at mac —
// the frames an ARP-spoofing VM sends. It writes raw frames through an AF_PACKET socket in node's
// namespace, so the sender MAC in the frame is whatever mac says.
func (l *Lab) SendGratuitousARP(node string, ip netip.Addr, mac net.HardwareAddr, count int) error {
	n, ok := l.node(node)
	if !ok {
		return fmt.Errorf("lab has no node %q", node)
	}
	var fd int
	var ifindex int
	err := l.Do(node, func() error {
		ifi, err := net.InterfaceByName(n.IfName)
		if err != nil {
			return err
		}
		ifindex = ifi.Index
		fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, int(htons(unix.ETH_P_ARP)))
		return err
	})
	if err != nil {
		return fmt.Errorf("open packet socket on %s in %s: %w", n.IfName, n.Netns, err)
	}
	defer unix.Close(fd)
	bcast := net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	frame := make([]byte, 0, 60)
	frame = append(frame, bcast...)
	frame = append(frame, mac...)
	frame = binary.BigEndian.AppendUint16(frame, unix.ETH_P_ARP)
	frame = binary.BigEndian.AppendUint16(frame, 1) // Ethernet
	frame = binary.BigEndian.AppendUint16(frame, unix.ETH_P_IP)
	frame = append(frame, 6, 4)
	frame = binary.BigEndian.AppendUint16(frame, 2) // reply
	frame = append(frame, mac...)
	frame = append(frame, ip.AsSlice()...)
	frame = append(frame, bcast...)
	frame = append(frame, ip.AsSlice()...)
	frame = append(frame, make([]byte, 60-len(frame))...)
	sa := &unix.SockaddrLinklayer{Ifindex: ifindex, Protocol: htons(unix.ETH_P_ARP), Halen: 6}
	copy(sa.Addr[:], bcast)
	for i := 0; i < count; i++ {
		if err := unix.Sendto(fd, frame, 0, sa); err != nil {
			return fmt.Errorf("send ARP reply from %s: %w", n.Netns, err)
		}
	}
	return nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }
