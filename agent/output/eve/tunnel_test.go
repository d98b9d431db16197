package eve

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"reflect"
	"testing"

	"github.com/tapwatch/tapwatch/rules/decode"
)

// TestAlertPacketSource checks pkt_src, the tunnel object and the gap
// marker of payload_printable, as Suricata logs them.
func TestAlertPacketSource(t *testing.T) {
	for _, tc := range []struct {
		name      string
		set       func(p *decode.Packet)
		pktSrc    string
		tunnel    map[string]any
		printable string
	}{
		{"wire", func(p *decode.Packet) {}, "wire/pcap", nil, "GOOD.\"x"},
		{"flow timeout with gap", func(p *decode.Packet) {
			p.Src, p.StreamGap = decode.PktSrcFlowTimeout, 4
		}, "stream (flow timeout)", nil, "[4 bytes missing]GOOD.\"x"},
		{"ip-in-ip", func(p *decode.Packet) {
			p.Src, p.TunnelDepth, p.TunnelProto = decode.PktSrcIPv4Tunnel, 1, decode.ProtoIPIP
			p.TunnelSrcIP, p.TunnelDstIP = netip.MustParseAddr("10.1.0.1"), netip.MustParseAddr("10.1.0.2")
		}, "ipv4 tunnel", map[string]any{"src_ip": "10.1.0.1", "src_port": 0.0, "dest_ip": "10.1.0.2", "dest_port": 0.0,
			"proto": "IP-in-IP", "depth": 1.0, "pcap_cnt": 7.0, "pkt_src": "wire/pcap"}, "GOOD.\"x"},
		{"ipv6 gre", func(p *decode.Packet) {
			p.Src, p.TunnelDepth, p.TunnelProto = decode.PktSrcIPv6Tunnel, 2, decode.ProtoGRE
			p.TunnelSrcIP, p.TunnelDstIP = netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2")
		}, "ipv6 tunnel", map[string]any{"src_ip": "2001:0db8:0000:0000:0000:0000:0000:0001", "src_port": 0.0,
			"dest_ip": "2001:0db8:0000:0000:0000:0000:0000:0002", "dest_port": 0.0,
			"proto": "GRE", "depth": 2.0, "pcap_cnt": 7.0, "pkt_src": "wire/pcap"}, "GOOD.\"x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			w := NewWriter(&buf, Options{PayloadPrintable: true})
			a := testAlert()
			tc.set(a.Packet)
			if err := w.WriteAlert(a); err != nil {
				t.Fatal(err)
			}
			var rec map[string]any
			if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
				t.Fatalf("%v: %s", err, buf.Bytes())
			}
			if rec["pkt_src"] != tc.pktSrc || rec["payload_printable"] != tc.printable {
				t.Errorf("pkt_src %q payload_printable %q", rec["pkt_src"], rec["payload_printable"])
			}
			tun, has := rec["tunnel"]
			if (tc.tunnel != nil) != has || (has && !reflect.DeepEqual(tun, tc.tunnel)) {
				t.Errorf("tunnel %v, want %v", tun, tc.tunnel)
			}
		})
	}
}
