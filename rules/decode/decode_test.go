package decode

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket/layers"
)

func decodeOne(t *testing.T, lt LinkType, data []byte) (*Packet, bool, Stats) {
	t.Helper()
	d := NewDecoder(Config{})
	p := new(Packet)
	ok := d.Decode(lt, data, p)
	return p, ok, d.Stats()
}

func TestDecodeEthIPv4TCP(t *testing.T) {
	frame := ethIPv4TCP(t)
	p, ok, _ := decodeOne(t, LinkEthernet, frame)
	if !ok {
		t.Fatal("valid frame reported malformed")
	}
	if !p.HasEth || p.SrcMAC != [6]byte(macA) || p.DstMAC != [6]byte(macB) || p.EtherType != EtherTypeIPv4 {
		t.Errorf("link: %+v", p)
	}
	if p.IPVersion != 4 || p.SrcIP != netip.MustParseAddr("10.0.0.1") || p.DstIP != netip.MustParseAddr("10.0.0.2") ||
		p.TTL != 63 || p.TOS != 0x10 || p.IPID != 0x1234 || p.IPFlags != 0x2 || p.FragOff != 0 || p.IPProto != ProtoTCP ||
		p.IPLen != len(frame)-14 || len(p.IPHeader) != 20 || len(p.IPOptions) != 0 {
		t.Errorf("ip: ver=%d %v>%v ttl=%d tos=%#x id=%#x flags=%d proto=%d len=%d", p.IPVersion, p.SrcIP, p.DstIP, p.TTL, p.TOS, p.IPID, p.IPFlags, p.IPProto, p.IPLen)
	}
	if !p.IsTCP() || p.SrcPort != 40000 || p.DstPort != 80 || p.TCPSeq != 1000 || p.TCPAck != 2000 || p.TCPWin != 512 || p.TCPUrg != 7 {
		t.Errorf("tcp: %+v", p)
	}
	if want := TCPSyn | TCPAck | TCPEce | TCPCwr | TCPUrg; p.TCPFlags != want {
		t.Errorf("flags %#x, want %#x", p.TCPFlags, want)
	}
	if len(p.L4Header) != 24 || !bytes.Equal(p.TCPOpts, []byte{2, 4, 0x05, 0xb4}) {
		t.Errorf("tcp header %d bytes, options %x", len(p.L4Header), p.TCPOpts)
	}
	if string(p.Payload) != string(payload) {
		t.Errorf("payload %q", p.Payload)
	}
}

func TestDecodeIPv4Options(t *testing.T) {
	ip := ip4(layers.IPProtocolUDP)
	ip.Options = []layers.IPv4Option{{OptionType: 7, OptionLength: 7, OptionData: []byte{4, 1, 2, 3, 4}}} // record route
	frame := serialize(t, eth(layers.EthernetTypeIPv4), ip, udpLayer(ip), payload)
	p, ok, _ := decodeOne(t, LinkEthernet, frame)
	if !ok || len(p.IPHeader) != 28 || len(p.IPOptions) != 8 || p.IPOptions[0] != 7 {
		t.Fatalf("ok=%v header=%d options=%x", ok, len(p.IPHeader), p.IPOptions)
	}
	if !p.IsUDP() || p.DstPort != 53 || string(p.Payload) != string(payload) {
		t.Errorf("udp after options: %+v", p)
	}
}

func TestDecodeEthernetPadding(t *testing.T) {
	ip := ip4(layers.IPProtocolUDP)
	frame := serialize(t, eth(layers.EthernetTypeIPv4), ip, udpLayer(ip)) // 42 bytes
	frame = append(frame, make([]byte, 60-len(frame))...)                 // padded on the wire
	for i := 42; i < 60; i++ {
		frame[i] = 0xee
	}
	p, ok, _ := decodeOne(t, LinkEthernet, frame)
	if !ok || !p.IsUDP() || len(p.Payload) != 0 || p.IPLen != 28 {
		t.Fatalf("ok=%v udp=%v payload=%x iplen=%d", ok, p.IsUDP(), p.Payload, p.IPLen)
	}
}

func TestDecodeVLAN(t *testing.T) {
	for _, tc := range []struct {
		tags      []uint16
		wantCount uint8
		wantExtra uint64
	}{
		{[]uint16{100}, 1, 0},
		{[]uint16{100, 200}, 2, 0},
		{[]uint16{100, 200, 300}, 2, 1},
	} {
		p, ok, st := decodeOne(t, LinkEthernet, ethVLANIPv4UDP(t, tc.tags...))
		if !ok || p.VLANCount != tc.wantCount || p.VLAN[0] != 100 || (tc.wantCount == 2 && p.VLAN[1] != 200) {
			t.Errorf("tags %v: ok=%v vlan=%v count=%d", tc.tags, ok, p.VLAN, p.VLANCount)
		}
		if p.EtherType != EtherTypeIPv4 || !p.IsUDP() || string(p.Payload) != string(payload) {
			t.Errorf("tags %v: inner not decoded: et=%#x udp=%v", tc.tags, p.EtherType, p.IsUDP())
		}
		if st.Reasons[ReasonVLANExtra] != tc.wantExtra {
			t.Errorf("tags %v: vlan_extra=%d", tc.tags, st.Reasons[ReasonVLANExtra])
		}
	}
}

func TestDecodeIPv6ExtHeaders(t *testing.T) {
	ip := ip6(layers.IPProtocolIPv6HopByHop)
	hop := &layers.IPv6HopByHop{}
	hop.NextHeader = layers.IPProtocolIPv6Destination
	hop.Options = []*layers.IPv6HopByHopOption{{OptionType: 1, OptionLength: 4, OptionData: []byte{0, 0, 0, 0}}}
	dst := &layers.IPv6Destination{}
	dst.NextHeader = layers.IPProtocolUDP
	dst.Options = []*layers.IPv6DestinationOption{{OptionType: 1, OptionLength: 4, OptionData: []byte{0, 0, 0, 0}}}
	frame := serialize(t, eth(layers.EthernetTypeIPv6), ip, hop, dst, udpLayer(ip), payload)
	p, ok, st := decodeOne(t, LinkEthernet, frame)
	if !ok {
		t.Fatalf("malformed: %v", st.ByReason())
	}
	if p.IPVersion != 6 || p.IPProto != ProtoUDP || !p.IsUDP() || p.DstPort != 53 || string(p.Payload) != string(payload) {
		t.Errorf("proto=%d udp=%v payload=%q", p.IPProto, p.IsUDP(), p.Payload)
	}
	if p.TTL != 64 || p.TOS != 0x20 || p.SrcIP != netip.MustParseAddr("2001:db8::1") || len(p.IPHeader) != 40 || p.IPLen != len(frame)-14 {
		t.Errorf("ipv6 fields: ttl=%d tc=%#x src=%v hdr=%d len=%d", p.TTL, p.TOS, p.SrcIP, len(p.IPHeader), p.IPLen)
	}
}

func TestDecodeICMP(t *testing.T) {
	for _, tc := range []struct {
		typ    uint8
		wantID bool
	}{{8, true}, {0, true}, {13, true}, {17, true}, {3, false}, {11, false}} {
		p, ok, _ := decodeOne(t, LinkEthernet, ethIPv4ICMP(t, tc.typ, 1))
		if !ok || !p.IsICMP() || p.ICMPType != tc.typ || p.ICMPCode != 1 || p.HasICMPID != tc.wantID {
			t.Errorf("type %d: ok=%v type=%d code=%d hasID=%v", tc.typ, ok, p.ICMPType, p.ICMPCode, p.HasICMPID)
		}
		if tc.wantID && (p.ICMPID != 77 || p.ICMPSeq != 9) {
			t.Errorf("type %d: id=%d seq=%d", tc.typ, p.ICMPID, p.ICMPSeq)
		}
		if string(p.Payload) != string(payload) {
			t.Errorf("type %d: payload %q", tc.typ, p.Payload)
		}
	}
	ip := ip6(layers.IPProtocolICMPv6)
	ic := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(128, 0)}
	ic.SetNetworkLayerForChecksum(ip)
	frame := serialize(t, eth(layers.EthernetTypeIPv6), ip, ic, &layers.ICMPv6Echo{Identifier: 5, SeqNumber: 6}, payload)
	p, ok, _ := decodeOne(t, LinkEthernet, frame)
	if !ok || !p.IsICMP() || p.IPProto != ProtoICMPv6 || p.ICMPType != 128 || !p.HasICMPID || p.ICMPID != 5 || p.ICMPSeq != 6 {
		t.Errorf("icmpv6 echo: ok=%v type=%d id=%d seq=%d", ok, p.ICMPType, p.ICMPID, p.ICMPSeq)
	}
}

// TestDecodeLinkTypes decodes the same IP datagrams behind every link type.
func TestDecodeLinkTypes(t *testing.T) {
	v4, v6 := ipv4Bytes(t), ipv6Bytes(t)
	pppoe := func(ip []byte, proto uint16) []byte {
		h := []byte{0x11, 0, 0x12, 0x34, 0, 0, 0, 0}
		binary.BigEndian.PutUint16(h[4:6], uint16(len(ip)+2))
		binary.BigEndian.PutUint16(h[6:8], proto)
		e := ethHeader(EtherTypePPPoESess)
		return append(append(e, h...), ip...)
	}
	mpls := func(ip []byte) []byte {
		e := ethHeader(EtherTypeMPLSUnicast)
		return append(append(e, 0, 0x10, 0x00, 64, 0, 0x20, 0x01, 64), ip...) // two labels, bottom set on the second
	}
	for _, tc := range []struct {
		name string
		lt   LinkType
		data []byte
		ver  uint8
	}{
		{"eth4", LinkEthernet, ethIPv4TCP(t), 4},
		{"eth6", LinkEthernet, ethIPv6TCP(t), 6},
		{"sll4", LinkSLL, sllFrame(0x0800, v4), 4},
		{"sll6", LinkSLL, sllFrame(0x86dd, v6), 6},
		{"sll-vlan", LinkSLL, sllFrame(0x8100, append([]byte{0, 5, 0x08, 0}, v4...)), 4},
		{"sll2", LinkSLL2, sll2Frame(0x86dd, v6), 6},
		{"raw4", LinkRaw, v4, 4},
		{"raw6", LinkRaw, v6, 6},
		{"ipv4", LinkIPv4, v4, 4},
		{"ipv6", LinkIPv6, v6, 6},
		{"null-le", LinkNull, nullFrame(2, binary.LittleEndian, v4), 4},
		{"null-be", LinkNull, nullFrame(2, binary.BigEndian, v4), 4},
		{"null-6-24", LinkNull, nullFrame(24, binary.LittleEndian, v6), 6},
		{"null-6-28", LinkNull, nullFrame(28, binary.BigEndian, v6), 6},
		{"null-6-30", LinkNull, nullFrame(30, binary.LittleEndian, v6), 6},
		{"loop", LinkLoop, nullFrame(2, binary.BigEndian, v4), 4},
		{"loop6", LinkLoop, nullFrame(30, binary.BigEndian, v6), 6},
		{"pppoe4", LinkEthernet, pppoe(v4, 0x21), 4},
		{"pppoe6", LinkEthernet, pppoe(v6, 0x57), 6},
		{"mpls", LinkEthernet, mpls(v4), 4},
		{"ppp-hdlc", LinkPPP, append([]byte{0xff, 0x03, 0x00, 0x21}, v4...), 4},
		{"ppp-pfc", LinkPPP, append([]byte{0x57}, v6...), 6},
		{"chdlc", LinkCHDLC, append([]byte{0x0f, 0x00, 0x86, 0xdd}, v6...), 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, ok, st := decodeOne(t, tc.lt, tc.data)
			if !ok {
				t.Fatalf("malformed: %v", st.ByReason())
			}
			if p.IPVersion != tc.ver || !p.IsTCP() || p.DstPort != 80 || string(p.Payload) != string(payload) {
				t.Errorf("ver=%d tcp=%v port=%d payload=%q", p.IPVersion, p.IsTCP(), p.DstPort, p.Payload)
			}
			if p.LinkType != tc.lt || len(p.Data) != len(tc.data) {
				t.Errorf("linktype %d data %d", p.LinkType, len(p.Data))
			}
		})
	}
}

func TestDecodeNonIP(t *testing.T) {
	arp := serialize(t, eth(layers.EthernetTypeARP), &layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4,
		HwAddressSize: 6, ProtAddressSize: 4, Operation: 1, SourceHwAddress: macA, SourceProtAddress: ip4A, DstHwAddress: macB, DstProtAddress: ip4B})
	p, ok, _ := decodeOne(t, LinkEthernet, arp)
	if !ok || !p.HasEth || p.EtherType != EtherTypeARP || p.IPVersion != 0 || p.HasL4() {
		t.Errorf("arp: ok=%v et=%#x ip=%d", ok, p.EtherType, p.IPVersion)
	}
	p, ok, _ = decodeOne(t, LinkNull, nullFrame(7, binary.LittleEndian, []byte{1, 2, 3}))
	if !ok || p.IPVersion != 0 {
		t.Errorf("null with unknown family: ok=%v", ok)
	}
}

// TestDecodeMalformed checks each failure path counts its named reason
// and keeps the layers that decoded.
func TestDecodeMalformed(t *testing.T) {
	set := func(b []byte, off int, v ...byte) []byte {
		c := append([]byte(nil), b...)
		copy(c[off:], v)
		return c
	}
	tcp4 := ethIPv4TCP(t)
	udp4 := ethIPv4UDP(t)
	icmp4 := ethIPv4ICMP(t, 8, 0)
	tcp6 := ethIPv6TCP(t)
	for _, tc := range []struct {
		name  string
		lt    LinkType
		data  []byte
		want  Reason
		ipVer uint8 // IP layer expected to have decoded
	}{
		{"eth short", LinkEthernet, tcp4[:13], ReasonEthTrunc, 0},
		{"vlan short", LinkEthernet, ethVLANIPv4UDP(t, 5)[:16], ReasonVLANTrunc, 0},
		{"sll short", LinkSLL, make([]byte, 15), ReasonSLLTrunc, 0},
		{"sll2 short", LinkSLL2, make([]byte, 19), ReasonSLLTrunc, 0},
		{"null short", LinkNull, []byte{2, 0}, ReasonNullTrunc, 0},
		{"ppp short", LinkPPP, []byte{0xff, 0x03, 0x00}, ReasonPPPTrunc, 0},
		{"chdlc short", LinkCHDLC, []byte{0x0f, 0x00, 0x08}, ReasonPPPTrunc, 0},
		{"unknown link", LinkType(147), tcp4, ReasonUnknownLinkType, 0},
		{"raw version 5", LinkRaw, set(tcp4[14:], 0, 0x55), ReasonIPUnknownVersion, 0},
		{"ipv4 version", LinkEthernet, set(tcp4, 14, 0x65), ReasonIPv4BadVersion, 0},
		{"ipv4 ihl", LinkEthernet, set(tcp4, 14, 0x44), ReasonIPv4BadIHL, 0},
		{"ipv4 ihl beyond", LinkIPv4, set(tcp4[14:], 0, 0x4f)[:40], ReasonIPv4Trunc, 0},
		{"ipv4 total < ihl", LinkEthernet, set(tcp4, 16, 0, 19), ReasonIPv4Len, 0},
		{"ipv4 total > captured", LinkEthernet, set(tcp4, 16, 0x05, 0xdc), ReasonIPv4Trunc, 4},
		{"ipv4 short", LinkEthernet, tcp4[:30], ReasonIPv4Trunc, 0},
		{"tcp offset", LinkEthernet, set(tcp4, 14+20+12, 0x40), ReasonTCPBadOffset, 4},
		{"tcp offset beyond", LinkEthernet, set(tcp4, 14+20+12, 0xf0), ReasonTCPTrunc, 4},
		{"udp len small", LinkEthernet, set(udp4, 14+20+4, 0, 7), ReasonUDPLen, 4},
		{"udp len large", LinkEthernet, set(udp4, 14+20+4, 0x10, 0), ReasonUDPLen, 4},
		{"ipv6 version", LinkEthernet, set(tcp6, 14, 0x40), ReasonIPv6BadVersion, 0},
		{"ipv6 short", LinkIPv6, tcp6[14:50], ReasonIPv6Trunc, 0},
		{"ipv6 payload > captured", LinkEthernet, set(tcp6, 14+4, 0x10, 0), ReasonIPv6Trunc, 6},
		{"ipv6 exthdr beyond", LinkEthernet, set(tcp6, 14+6, 60), ReasonIPv6ExtHdr, 6}, // TCP bytes read as dest-opts claiming 8*(len+1)
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, ok, st := decodeOne(t, tc.lt, tc.data)
			if ok {
				t.Fatalf("malformed frame accepted")
			}
			if st.Malformed != 1 || st.Reasons[tc.want] != 1 {
				t.Errorf("want one %v, got %v", tc.want, st.ByReason())
			}
			if p.IPVersion != tc.ipVer {
				t.Errorf("IPVersion %d, want %d", p.IPVersion, tc.ipVer)
			}
			if p.HasL4() {
				t.Errorf("L4 decoded from a malformed frame")
			}
		})
	}
	// ICMP cut below 8 bytes: the IP header must agree, so patch its length.
	short := set(icmp4[:14+20+6], 16, 0, 26)
	if _, ok, st := decodeOne(t, LinkEthernet, short); ok || st.Reasons[ReasonICMPTrunc] != 1 {
		t.Errorf("short icmp: ok=%v %v", ok, st.ByReason())
	}
}

func TestDecodeCaptureTruncated(t *testing.T) {
	frame := ethIPv4TCP(t)
	d := NewDecoder(Config{})
	p := &Packet{OrigLen: len(frame)}
	cut := frame[:14+20+24+2] // snap length cut into the payload
	if !d.Decode(LinkEthernet, cut, p) {
		t.Fatalf("snaplen-cut frame reported malformed: %v", d.Stats().ByReason())
	}
	if !p.Truncated || !p.IsTCP() || p.DstPort != 80 || len(p.Payload) != 2 || p.IPLen != len(frame)-14 {
		t.Errorf("truncated=%v tcp=%v payload=%d iplen=%d", p.Truncated, p.IsTCP(), len(p.Payload), p.IPLen)
	}
	if d.Stats().Reasons[ReasonCaptureTrunc] != 1 {
		t.Errorf("capture_trunc not counted: %v", d.Stats().ByReason())
	}
	// The same bytes with an honest OrigLen are a lying length field.
	p = &Packet{}
	if d.Decode(LinkEthernet, cut, p) {
		t.Errorf("cut frame without OrigLen accepted")
	}
	// An IP length beyond what the wire carried is malformed even when cut.
	p = &Packet{OrigLen: len(frame)}
	big := append([]byte(nil), cut...)
	binary.BigEndian.PutUint16(big[16:18], 1400)
	if d.Decode(LinkEthernet, big, p) {
		t.Errorf("IP length beyond the wire length accepted")
	}
}

func TestDecodeTSOZeroLength(t *testing.T) {
	frame := ethIPv4TCP(t)
	binary.BigEndian.PutUint16(frame[16:18], 0)
	p, ok, st := decodeOne(t, LinkEthernet, frame)
	if !ok || !p.IsTCP() || string(p.Payload) != string(payload) || st.Reasons[ReasonIPv4TSO] != 1 {
		t.Errorf("ok=%v tcp=%v payload=%q %v", ok, p.IsTCP(), p.Payload, st.ByReason())
	}
}

// TestDecodeKeepsCaptureMetadata checks Decode resets everything but what
// the caller set about the capture.
func TestDecodeKeepsCaptureMetadata(t *testing.T) {
	d := NewDecoder(Config{})
	p := &Packet{Num: 42, OrigLen: 9000}
	d.Decode(LinkEthernet, ethIPv4TCP(t), p)
	p.Num = 43
	arp := serialize(t, eth(layers.EthernetTypeARP))
	d.Decode(LinkEthernet, arp, p)
	if p.Num != 43 || p.OrigLen != 9000 || p.IPVersion != 0 || p.HasL4() || p.Payload != nil || p.SrcPort != 0 {
		t.Errorf("stale fields after reuse: %+v", p)
	}
}

// TestDecodeTruncatedEveryLength cuts valid frames at every length: never a
// panic, always counted, never an L4 header beyond the bytes.
func TestDecodeTruncatedEveryLength(t *testing.T) {
	frames := map[string]struct {
		lt   LinkType
		data []byte
	}{
		"eth-tcp4": {LinkEthernet, ethIPv4TCP(t)},
		"eth-tcp6": {LinkEthernet, ethIPv6TCP(t)},
		"vlan-udp": {LinkEthernet, ethVLANIPv4UDP(t, 1, 2)},
		"icmp":     {LinkEthernet, ethIPv4ICMP(t, 8, 0)[:14+20+8+len(payload)]}, // without Ethernet padding
		"sll":      {LinkSLL, sllFrame(0x0800, ipv4Bytes(t))},
		"sll2":     {LinkSLL2, sll2Frame(0x86dd, ipv6Bytes(t))},
		"null":     {LinkNull, nullFrame(2, binary.LittleEndian, ipv4Bytes(t))},
		"raw6":     {LinkRaw, ipv6Bytes(t)},
	}
	for name, f := range frames {
		d := NewDecoder(Config{})
		var p Packet
		for n := 0; n < len(f.data); n++ {
			if d.Decode(f.lt, f.data[:n], &p) {
				t.Errorf("%s cut to %d bytes accepted", name, n)
			}
			if len(p.L4Header) > n {
				t.Errorf("%s cut to %d: L4 header of %d bytes", name, n, len(p.L4Header))
			}
		}
		if st := d.Stats(); st.Malformed != uint64(len(f.data)) {
			t.Errorf("%s: %d malformed of %d", name, st.Malformed, len(f.data))
		}
	}
}

func TestNoAllocs(t *testing.T) {
	frames := map[string]struct {
		lt   LinkType
		data []byte
	}{
		"eth-tcp4": {LinkEthernet, ethIPv4TCP(t)},
		"eth-udp4": {LinkEthernet, ethIPv4UDP(t)},
		"eth-tcp6": {LinkEthernet, ethIPv6TCP(t)},
		"vlan":     {LinkEthernet, ethVLANIPv4UDP(t, 1, 2, 3)},
		"icmp":     {LinkEthernet, ethIPv4ICMP(t, 8, 0)},
		"sll":      {LinkSLL, sllFrame(0x0800, ipv4Bytes(t))},
		"raw6":     {LinkRaw, ipv6Bytes(t)},
		"bad":      {LinkEthernet, ethIPv4TCP(t)[:30]},
	}
	d := NewDecoder(Config{})
	var p Packet
	for name, f := range frames {
		if n := testing.AllocsPerRun(100, func() { d.Decode(f.lt, f.data, &p) }); n != 0 {
			t.Errorf("%s: %v allocations per Decode", name, n)
		}
	}
}

func TestReasonNames(t *testing.T) {
	seen := map[string]bool{}
	for r := Reason(1); r < numReasons; r++ {
		n := r.String()
		if n == "" || n == "unknown" || seen[n] {
			t.Errorf("reason %d has name %q", r, n)
		}
		seen[n] = true
	}
	if Reason(200).String() != "unknown" {
		t.Errorf("out-of-range reason named %q", Reason(200).String())
	}
	var st Stats
	st.Reasons[ReasonTCPTrunc] = 3
	if m := st.ByReason(); len(m) != 1 || m["tcp_trunc"] != 3 {
		t.Errorf("ByReason = %v", m)
	}
}

// ipv6With builds an Ethernet/IPv6 frame whose payload is ext (already
// encoded extension headers and upper layer), starting with next header nh.
func ipv6With(nh byte, ext []byte) []byte {
	h := make([]byte, 40)
	h[0] = 0x60
	binary.BigEndian.PutUint16(h[4:6], uint16(len(ext)))
	h[6], h[7] = nh, 64
	copy(h[8:24], ip6A)
	copy(h[24:40], ip6B)
	return append(append(ethHeader(EtherTypeIPv6), h...), ext...)
}

func TestDecodeIPv6Stops(t *testing.T) {
	udp := []byte{0x13, 0x88, 0, 53, 0, 12, 0, 0, 'a', 'b', 'c', 'd'}
	atomic := append([]byte{17, 0, 0, 0, 0, 0, 0, 9}, udp...) // offset 0, M clear
	for _, tc := range []struct {
		name    string
		nh      byte
		ext     []byte
		ok      bool
		proto   uint8
		payload int
		reason  Reason
	}{
		{"esp", 50, []byte{1, 2, 3, 4, 5, 6, 7, 8}, true, 50, 8, 0},
		{"no next", 0, []byte{59, 0, 1, 4, 0, 0, 0, 0, 0xde, 0xad}, true, 59, 0, 0},
		{"atomic fragment", 44, atomic, true, ProtoUDP, 4, 0},
		{"ah", 51, append([]byte{17, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, udp...), true, ProtoUDP, 4, 0},
		{"routing cut", 43, []byte{17, 2, 0, 0}, false, 43, 0, ReasonIPv6ExtHdr},
		{"too many", 60, bytes.Repeat([]byte{60, 0, 1, 4, 0, 0, 0, 0}, 20), false, 60, 0, ReasonIPv6ExtHdr},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, ok, st := decodeOne(t, LinkEthernet, ipv6With(tc.nh, tc.ext))
			if ok != tc.ok || p.IPProto != tc.proto || len(p.Payload) != tc.payload {
				t.Errorf("ok=%v proto=%d payload=%d %v", ok, p.IPProto, len(p.Payload), st.ByReason())
			}
			if tc.reason != 0 && st.Reasons[tc.reason] != 1 {
				t.Errorf("want %v, got %v", tc.reason, st.ByReason())
			}
			if tc.name == "atomic fragment" && (p.Fragment || !p.IsUDP() || p.IPID != 9) {
				t.Errorf("atomic fragment: fragment=%v udp=%v id=%d", p.Fragment, p.IsUDP(), p.IPID)
			}
		})
	}
	// A fragment header inside a reassembled datagram is not reassembled
	// again.
	inner := append([]byte{44, 0, 0, 1, 0, 0, 0, 7}, 17, 0, 0, 0, 0, 0, 0, 0) // frag (M) then 8 bytes
	first := ipv6With(44, append([]byte{44, 0, 0, 1, 0, 0, 0, 5}, inner[:8]...))
	last := ipv6With(44, append([]byte{44, 0, 0, 8, 0, 0, 0, 5}, inner[8:]...))
	d := NewDecoder(Config{})
	p := &Packet{}
	d.Decode(LinkEthernet, first, p)
	if d.Decode(LinkEthernet, last, p) || d.Stats().Reasons[ReasonIPv6ExtHdr] != 1 || !p.Reassembled {
		t.Errorf("nested fragment: reassembled=%v %v", p.Reassembled, d.Stats().ByReason())
	}
}
