package testutil

import (
	"fmt"
	"os"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Tap is a tap device opened the way QEMU opens one; the test plays the VM:
// Write is the VM sending (the tap's ingress), Read the VM receiving.
type Tap struct {
	Name  string
	Index int
	f     *os.File
}

// OpenTap creates a tap device in the namespace through /dev/net/tun with
// IFF_TAP|IFF_NO_PI, sets it up, and closes it at cleanup (which deletes a
// non-persistent tap). Equivalent: what QEMU does for `-netdev tap`.
func (n *Netns) OpenTap(tb testing.TB, name string) *Tap {
	tb.Helper()
	var fd int
	err := n.Do(func() error {
		var err error
		fd, err = unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
		if err != nil {
			return err
		}
		ifr, err := unix.NewIfreq(name)
		if err != nil {
			return err
		}
		ifr.SetUint16(unix.IFF_TAP | unix.IFF_NO_PI)
		if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
			unix.Close(fd)
			return fmt.Errorf("TUNSETIFF: %w", err)
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("netns %s: open tap %s: %v", n.Name, name, err)
	}
	t := &Tap{Name: name, f: os.NewFile(uintptr(fd), "/dev/net/tun:"+name)}
	tb.Cleanup(func() { t.Close() })
	l := n.MustLink(tb, name)
	t.Index = l.Attrs().Index
	if err := n.NL.LinkSetUp(l); err != nil {
		tb.Fatalf("set %s up: %v", name, err)
	}
	return t
}

// Write sends one Ethernet frame as the VM.
func (t *Tap) Write(frame []byte) error {
	_, err := t.f.Write(frame)
	if err != nil {
		return fmt.Errorf("write to tap %s: %w", t.Name, err)
	}
	return nil
}

// Read receives one frame delivered to the VM, waiting at most d.
func (t *Tap) Read(buf []byte, d time.Duration) (int, error) {
	t.f.SetReadDeadline(time.Now().Add(d))
	return t.f.Read(buf)
}

// Close closes the queue; the tap device goes away with it.
func (t *Tap) Close() error { return t.f.Close() }

// PacketSocket sends and receives raw frames on one interface, inside a
// namespace: the far end of an uplink.
type PacketSocket struct {
	fd      int
	ifindex int
}

// OpenPacketSocket opens an AF_PACKET socket bound to the interface.
func (n *Netns) OpenPacketSocket(tb testing.TB, ifname string) *PacketSocket {
	tb.Helper()
	idx := n.MustLink(tb, ifname).Attrs().Index
	var fd int
	err := n.Do(func() error {
		var err error
		fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL)))
		if err != nil {
			return err
		}
		return unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: idx})
	})
	if err != nil {
		tb.Fatalf("netns %s: packet socket on %s: %v", n.Name, ifname, err)
	}
	p := &PacketSocket{fd: fd, ifindex: idx}
	tb.Cleanup(func() { unix.Close(fd) })
	return p
}

// Write sends one frame out of the interface.
func (p *PacketSocket) Write(frame []byte) error {
	return unix.Sendto(p.fd, frame, 0, &unix.SockaddrLinklayer{Ifindex: p.ifindex, Halen: 6})
}

// Read receives one frame (incoming or outgoing on the interface), waiting
// at most d.
func (p *PacketSocket) Read(buf []byte, d time.Duration) (int, error) {
	tv := unix.NsecToTimeval(d.Nanoseconds())
	unix.SetsockoptTimeval(p.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	n, _, err := unix.Recvfrom(p.fd, buf, 0)
	return n, err
}

func htons(v uint16) uint16 {
	b := (*[2]byte)(unsafe.Pointer(&v))
	return uint16(b[0])<<8 | uint16(b[1])
}
