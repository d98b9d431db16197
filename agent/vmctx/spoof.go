package vmctx

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"time"
)

// Finding is something a VM did that its libvirt definition does not allow.
type Finding struct {
	SID int
	Msg string
	VM  *Ref
}

// Hypervisor findings use tapwatch's own sid range (deploy/rules/tapwatch.rules
// documents them); they are raised by the agent, not by a rule.
const (
	SIDMACSpoof  = 9901001
	SIDARPSpoof  = 9901002
	SIDRogueDHCP = 9901003
	SIDRogueRA   = 9901004
	SIDIPSpoof   = 9901005
)

// Inspect checks a frame that the VM behind tap sent (a tap's ingress): the
// source MAC must be the one libvirt gave the NIC, and an ARP sender address
// must not be one another MAC already uses. It returns at most one finding
// per kind.
func (x *Index) Inspect(tap string, frame []byte) []Finding {
	if len(frame) < 14 {
		return nil
	}
	own, ok := x.ByTap(tap)
	if !ok {
		return nil
	}
	var src [6]byte
	copy(src[:], frame[6:12])
	var out []Finding
	if src != own.MAC {
		x.noteForeign(tap, src)
		out = append(out, Finding{SID: SIDMACSpoof, VM: own,
			Msg: fmt.Sprintf("TAPWATCH VM %s sent with MAC %s, libvirt gave it %s", own.VMName, net.HardwareAddr(src[:]).String(), net.HardwareAddr(own.MAC[:]).String())})
	}
	et := binary.BigEndian.Uint16(frame[12:14])
	off := 14
	if et == 0x8100 && len(frame) >= 18 {
		et = binary.BigEndian.Uint16(frame[16:18])
		off = 18
	}
	switch et {
	case 0x0806:
		if f, bad := x.inspectARP(own, frame[off:]); bad {
			out = append(out, f)
		}
	case 0x86dd:
		if len(frame) >= off+40 {
			a := netip.AddrFrom16([16]byte(frame[off+8 : off+24]))
			if !a.IsLinkLocalUnicast() {
				x.Learn(a, own.MAC)
			}
			// A VM advertising itself as router can take over its
			// neighbours' IPv6 traffic (ICMPv6 type 134 right after the
			// fixed header: RAs carry no extension headers).
			if frame[off+6] == 58 && len(frame) > off+40 && frame[off+40] == 134 {
				out = append(out, Finding{SID: SIDRogueRA, VM: own,
					Msg: fmt.Sprintf("TAPWATCH VM %s sent an IPv6 router advertisement", own.VMName)})
			}
		}
	case 0x0800:
		if len(frame) >= off+20 {
			a := netip.AddrFrom4([4]byte(frame[off+12 : off+16]))
			if ihl := int(frame[off]&0x0f) * 4; frame[off+9] == 17 && ihl >= 20 && len(frame) >= off+ihl+4 &&
				binary.BigEndian.Uint16(frame[off+ihl:]) == 67 && binary.BigEndian.Uint16(frame[off+ihl+2:]) == 68 {
				out = append(out, Finding{SID: SIDRogueDHCP, VM: own,
					Msg: fmt.Sprintf("TAPWATCH VM %s answered as a DHCP server", own.VMName)})
			}
			if prev, conflict := x.Learn(a, own.MAC); conflict {
				if other, ok := x.ByMAC(prev); ok && other.VMName != own.VMName {
					out = append(out, Finding{SID: SIDIPSpoof, VM: own,
						Msg: fmt.Sprintf("TAPWATCH VM %s sent from %s, an address VM %s uses", own.VMName, a, other.VMName)})
				}
			}
		}
	}
	return out
}

func (x *Index) inspectARP(own *Ref, arp []byte) (Finding, bool) {
	// Ethernet/IPv4 ARP only: htype 1, ptype 0x0800, hlen 6, plen 4.
	if len(arp) < 28 || binary.BigEndian.Uint16(arp[0:2]) != 1 || binary.BigEndian.Uint16(arp[2:4]) != 0x0800 {
		return Finding{}, false
	}
	spa := netip.AddrFrom4([4]byte(arp[14:18]))
	prev, conflict := x.Learn(spa, own.MAC)
	if !conflict {
		return Finding{}, false
	}
	victim := net.HardwareAddr(prev[:]).String()
	if other, ok := x.ByMAC(prev); ok {
		if other.VMName == own.VMName {
			return Finding{}, false
		}
		victim = "VM " + other.VMName
	}
	return Finding{SID: SIDARPSpoof, VM: own,
		Msg: fmt.Sprintf("TAPWATCH VM %s claims %s in ARP, an address of %s", own.VMName, spa, victim)}, true
}

// MACUse is a source MAC a VM sent from that is not the one libvirt gave
// its NIC: how many frames, first and last seen.
type MACUse struct {
	MAC         [6]byte
	Frames      uint64
	First, Last time.Time
}

// maxForeign caps the foreign MACs remembered per tap: a VM cycling
// through random MACs must not grow the table; past the cap, frames count
// against the last entry.
const maxForeign = 16

// noteForeign counts a frame the VM behind tap sent from mac, which is not
// libvirt's. Only spoofing takes this path, so a lock is affordable.
func (x *Index) noteForeign(tap string, mac [6]byte) {
	now := time.Now()
	x.fmu.Lock()
	defer x.fmu.Unlock()
	l := x.foreign[tap]
	for i := range l {
		if l[i].MAC == mac {
			l[i].Frames++
			l[i].Last = now
			return
		}
	}
	if len(l) >= maxForeign {
		l[len(l)-1].Frames++
		l[len(l)-1].Last = now
		return
	}
	x.foreign[tap] = append(l, MACUse{MAC: mac, Frames: 1, First: now, Last: now})
}

// ForeignMACs lists the MACs other than libvirt's that the VM behind tap
// sent from, in the order first seen.
func (x *Index) ForeignMACs(tap string) []MACUse {
	x.fmu.Lock()
	defer x.fmu.Unlock()
	return slices.Clone(x.foreign[tap])
}
