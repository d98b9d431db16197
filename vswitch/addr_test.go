package vswitch

import (
	"net"

	"github.com/vishvananda/netlink"
)

type netlinkAddr struct{ ip string }

func (a *netlinkAddr) addr() *netlink.Addr {
	return &netlink.Addr{IPNet: &net.IPNet{IP: net.ParseIP(a.ip), Mask: net.CIDRMask(24, 32)}}
}
