package decode

import (
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

func TestDecodeTunnels(t *testing.T) {
	in4 := ipv4Bytes(t)       // 10.0.0.1:40000 -> 10.0.0.2:80 TCP
	in6 := ethIPv6TCP(t)[14:] // 2001:db8::1 -> 2001:db8::2 TCP
	cat := func(bs ...[]byte) []byte {
		var out []byte
		for _, b := range bs {
			out = append(out, b...)
		}
		return out
	}
	outer4 := func(proto layers.IPProtocol, body []byte) []byte {
		o := ip4(proto)
		o.SrcIP, o.DstIP = []byte{192, 0, 2, 1}, []byte{192, 0, 2, 2}
		return serialize(t, eth(layers.EthernetTypeIPv4), o, gopacket.Payload(body))
	}
	outer6 := func(nh layers.IPProtocol, body []byte) []byte {
		return serialize(t, eth(layers.EthernetTypeIPv6), ip6(nh), gopacket.Payload(body))
	}
	gre0 := []byte{0x00, 0x00, 0x08, 0x00}                                           // no options, IPv4
	greKS := []byte{0x30, 0x00, 0x86, 0xdd, 0, 0, 0, 1, 0, 0, 0, 2}                  // key+seq, IPv6
	greCsum := []byte{0x80, 0x00, 0x08, 0x00, 0, 0, 0, 0}                            // checksum, IPv4
	pptp := []byte{0x30, 0x81, 0x88, 0x0b, 0, 0, 0, 7, 0, 0, 0, 1, 0, 0, 0, 9, 0x21} // v1, key+seq+ack, PPP, compressed IPv4

	for _, tc := range []struct {
		name      string
		frame     []byte
		wantOK    bool // inner decodes
		src       PktSrc
		innerV    uint8
		innerSrc  string
		tunSrc    string
		tunProto  uint8
		innerLink LinkType
	}{
		{"ip-in-ip", outer4(4, in4), true, PktSrcIPv4Tunnel, 4, "10.0.0.1", "192.0.2.1", ProtoIPIP, LinkRaw},
		{"ipv6-in-ipv4", outer4(41, in6), true, PktSrcIPv4Tunnel, 6, "2001:db8::1", "192.0.2.1", ProtoIPv6, LinkRaw},
		{"ipv4-in-ipv6", outer6(4, in4), true, PktSrcIPv6Tunnel, 4, "10.0.0.1", "2001:db8::1", ProtoIPIP, LinkRaw},
		{"ipv6-in-ipv6", outer6(41, in6), true, PktSrcIPv6Tunnel, 6, "2001:db8::1", "2001:db8::1", ProtoIPv6, LinkRaw},
		{"gre", outer4(47, cat(gre0, in4)), true, PktSrcGRETunnel, 4, "10.0.0.1", "192.0.2.1", ProtoGRE, LinkRaw},
		{"gre key seq", outer4(47, cat(greKS, in6)), true, PktSrcGRETunnel, 6, "2001:db8::1", "192.0.2.1", ProtoGRE, LinkRaw},
		{"gre checksum", outer4(47, cat(greCsum, in4)), true, PktSrcGRETunnel, 4, "10.0.0.1", "192.0.2.1", ProtoGRE, LinkRaw},
		{"pptp gre ppp", outer4(47, cat(pptp, in4)), true, PktSrcGRETunnel, 4, "10.0.0.1", "192.0.2.1", ProtoGRE, LinkPPP},
		{"ip-in-ip inner truncated", outer4(4, in4[:12]), false, 0, 0, "", "", 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := NewDecoder(Config{})
			var outer, inner Packet
			if !d.Decode(LinkEthernet, tc.frame, &outer) {
				t.Fatalf("outer malformed: %v", d.Stats().ByReason())
			}
			if outer.Src != PktSrcWire || outer.TunnelDepth != 0 || len(outer.Inner) == 0 {
				t.Fatalf("outer: src %v depth %d inner %d bytes", outer.Src, outer.TunnelDepth, len(outer.Inner))
			}
			ok := d.DecodeInner(&outer, &inner)
			if ok != tc.wantOK {
				t.Fatalf("DecodeInner = %v, want %v (%v)", ok, tc.wantOK, d.Stats().ByReason())
			}
			if !ok {
				if d.Stats().Malformed != 1 {
					t.Errorf("malformed inner not counted: %+v", d.Stats())
				}
				return
			}
			if inner.Src != tc.src || inner.TunnelDepth != 1 || inner.IPVersion != tc.innerV ||
				inner.SrcIP != netip.MustParseAddr(tc.innerSrc) || !inner.IsTCP() || inner.DstPort != 80 ||
				inner.LinkType != tc.innerLink {
				t.Errorf("inner: src %v depth %d v%d %v tcp %v dport %d link %d", inner.Src, inner.TunnelDepth,
					inner.IPVersion, inner.SrcIP, inner.IsTCP(), inner.DstPort, inner.LinkType)
			}
			if inner.TunnelSrcIP != netip.MustParseAddr(tc.tunSrc) || inner.TunnelProto != tc.tunProto || inner.Num != outer.Num {
				t.Errorf("tunnel: %v proto %d", inner.TunnelSrcIP, inner.TunnelProto)
			}
			var next Packet
			if d.DecodeInner(&inner, &next) {
				t.Error("an inner TCP packet carries no tunnel")
			}
		})
	}
}

func TestDecodeGREMalformed(t *testing.T) {
	for _, tc := range []struct {
		name string
		gre  []byte
	}{
		{"short", []byte{0x00, 0x00}},
		{"key missing", []byte{0x20, 0x00, 0x08, 0x00, 0, 0}},
		{"version 2", []byte{0x00, 0x02, 0x08, 0x00}},
		{"pptp without key", []byte{0x00, 0x01, 0x88, 0x0b}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := ip4(47)
			frame := serialize(t, eth(layers.EthernetTypeIPv4), o, gopacket.Payload(tc.gre))
			p, ok, st := decodeOne(t, LinkEthernet, frame)
			if ok || st.Reasons[ReasonGRETrunc] != 1 || len(p.Inner) != 0 {
				t.Errorf("ok %v reasons %v inner %d", ok, st.ByReason(), len(p.Inner))
			}
		})
	}
}

func TestDecodeTunnelDepthLimit(t *testing.T) {
	frame := ipv4Bytes(t)
	for range MaxTunnelDepth + 1 {
		o := ip4(4)
		frame = serialize(t, o, gopacket.Payload(frame))
	}
	d := NewDecoder(Config{})
	var pkts [MaxTunnelDepth + 2]Packet
	if !d.Decode(LinkRaw, frame, &pkts[0]) {
		t.Fatal("outer malformed")
	}
	n := 0
	for i := 1; i < len(pkts) && d.DecodeInner(&pkts[i-1], &pkts[i]); i++ {
		n = i
		if pkts[i].TunnelDepth != uint8(i) || pkts[i].TunnelSrcIP != pkts[0].SrcIP {
			t.Fatalf("level %d: depth %d tunnel src %v", i, pkts[i].TunnelDepth, pkts[i].TunnelSrcIP)
		}
	}
	if n != MaxTunnelDepth || d.Stats().Reasons[ReasonTunnelDepth] != 1 {
		t.Errorf("followed %d levels, depth events %d", n, d.Stats().Reasons[ReasonTunnelDepth])
	}
}

func TestPktSrcNames(t *testing.T) {
	for s, want := range map[PktSrc]string{PktSrcWire: "wire/pcap", PktSrcIPv4Tunnel: "ipv4 tunnel",
		PktSrcIPv6Tunnel: "ipv6 tunnel", PktSrcGRETunnel: "gre tunnel", PktSrcFlowTimeout: "stream (flow timeout)",
		PktSrcStreamFlush: "stream (detect/log)"} {
		if s.String() != want {
			t.Errorf("%d: %q, want %q", s, s.String(), want)
		}
	}
}
