package record

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/tapwatch/tapwatch/agent/record/pcapfilter"
	"github.com/tapwatch/tapwatch/test/testutil"
)

var (
	webIP, dbIP, clientIP = netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("10.0.0.3"), netip.MustParseAddr("10.0.0.9")
	webMAC, clientMAC     = testutil.MustMAC("52:54:00:00:00:02"), testutil.MustMAC("52:54:00:00:00:09")
)

// arpFrame is client asking who has web's address; seq makes it distinct.
func arpFrame(seq byte) []byte {
	b := append([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, clientMAC...)
	b = append(b, 0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1)
	b = append(b, clientMAC...)
	b = append(b, 10, 0, 0, 9, 0, 0, 0, 0, 0, seq)
	return append(b, 10, 0, 0, 2)
}

type kindFrame struct {
	vm   string
	flow uint64
	kind string
	data []byte
}

// mixedTraffic is web's HTTP requests and responses, its database
// connection (TCP, not port 80), DNS, ARP, and db's own port-80 traffic.
// Payloads differ, so an export can be checked byte for byte.
func mixedTraffic() []kindFrame {
	var all []kindFrame
	for i := range 60 {
		seq := []byte{byte(i)}
		switch i % 5 {
		case 0:
			all = append(all, kindFrame{"web", 1, "request", testutil.Frame{Dst: webMAC, Src: clientMAC, SrcIP: clientIP, DstIP: webIP, Proto: 6, SrcPort: 40000, DstPort: 80, Payload: seq}.Bytes()})
		case 1:
			all = append(all, kindFrame{"web", 1, "response", testutil.Frame{Dst: clientMAC, Src: webMAC, SrcIP: webIP, DstIP: clientIP, Proto: 6, SrcPort: 80, DstPort: 40000, Payload: seq}.Bytes()})
		case 2:
			all = append(all, kindFrame{"web", 2, "pg", testutil.Frame{Dst: clientMAC, Src: webMAC, SrcIP: webIP, DstIP: dbIP, Proto: 6, SrcPort: 40001, DstPort: 5432, Payload: seq}.Bytes()})
		case 3:
			all = append(all, kindFrame{"web", 3, "dns", testutil.Frame{Dst: clientMAC, Src: webMAC, SrcIP: webIP, DstIP: clientIP, SrcPort: 5353, DstPort: 53, Payload: seq}.Bytes()})
		case 4:
			all = append(all, kindFrame{"web", 0, "arp", arpFrame(byte(i))})
		}
		if i%10 == 0 {
			all = append(all, kindFrame{"db", 4, "dbhttp", testutil.Frame{Dst: webMAC, Src: clientMAC, SrcIP: clientIP, DstIP: dbIP, Proto: 6, SrcPort: 40002, DstPort: 80, Payload: seq}.Bytes()})
		}
	}
	return all
}

// TestExportFilter checks a pcap-filter expression lets exactly the right
// recorded frames out, unchanged and in order, alone and with the other
// query fields.
func TestExportFilter(t *testing.T) {
	r := newRec(t, t.TempDir(), Options{SegmentBytes: 4096}) // several segments per VM
	r.SetMode("web", All)
	r.SetMode("db", All)
	all := mixedTraffic()
	for i, p := range all {
		r.Packet(p.vm, "vnet0", t0.Add(time.Duration(i)*time.Millisecond), p.flow, p.data, len(p.data))
	}
	// of lists, in recording order, the frames of these kinds.
	of := func(kinds ...string) [][]byte {
		var out [][]byte
		for _, p := range all {
			for _, k := range kinds {
				if p.kind == k {
					out = append(out, p.data)
				}
			}
		}
		return out
	}
	for _, c := range []struct {
		q    Query
		want [][]byte
	}{
		{Query{VM: "web", Filter: "udp"}, of("dns")},
		{Query{VM: "web", Filter: "tcp port 80"}, of("request", "response")},
		{Query{Filter: "tcp port 80"}, of("request", "response", "dbhttp")},
		{Query{VM: "web", Filter: "tcp and not port 80"}, of("pg")},
		{Query{VM: "web", Filter: "arp"}, of("arp")},
		{Query{VM: "web", Filter: "tcp port 80 and dst host 10.0.0.2"}, of("request")},
		{Query{FlowID: 1, Filter: "src port 80"}, of("response")},
		{Query{VM: "web", Filter: "icmp"}, nil},
		{Query{VM: "web"}, of("request", "response", "pg", "dns", "arp")},
	} {
		got := export(t, r, c.q)
		if len(got) != len(c.want) {
			t.Errorf("%+v: %d packets, want %d", c.q, len(got), len(c.want))
			continue
		}
		for i := range got {
			if !bytes.Equal(got[i].data, c.want[i]) {
				t.Errorf("%+v: packet %d is not the recorded frame it should be", c.q, i)
				break
			}
		}
	}

	// The filter also narrows an alert's selection: here all of web's
	// packets, which came within PreAlert before it.
	r.Alert("web", "a-1", 1, t0.Add(time.Second))
	if got := export(t, r, Query{AlertID: "a-1"}); len(got) != len(of("request", "response", "pg", "dns", "arp")) {
		t.Errorf("alert export: %d packets, want all of web's", len(got))
	}
	if got := export(t, r, Query{AlertID: "a-1", Filter: "udp"}); len(got) != len(of("dns")) || !bytes.Equal(got[0].data, of("dns")[0]) {
		t.Errorf("alert export filtered by udp: %d packets, want web's %d DNS packets", len(got), len(of("dns")))
	}
}

// A frame cut short in the recording is judged by its wire length, as
// tcpdump judges it.
func TestExportFilterWireLength(t *testing.T) {
	r := newRec(t, t.TempDir(), Options{})
	r.SetMode("web", All)
	short := testutil.Frame{Dst: webMAC, Src: clientMAC, SrcIP: clientIP, DstIP: webIP, Proto: 6, SrcPort: 1, DstPort: 80}.Bytes()
	r.Packet("web", "vnet0", t0, 1, short, len(short))
	r.Packet("web", "vnet0", t0.Add(time.Millisecond), 1, short, 9000) // a jumbo frame, 54 bytes kept
	got := export(t, r, Query{VM: "web", Filter: "greater 1500"})
	if len(got) != 1 || !got[0].ts.Equal(t0.Add(time.Millisecond)) {
		t.Fatalf("greater 1500 kept %d packets, want only the truncated jumbo frame", len(got))
	}
}

// A bad expression is refused before anything is written, naming the
// expression and what to do.
func TestExportBadFilter(t *testing.T) {
	r := newRec(t, t.TempDir(), Options{})
	r.SetMode("web", All)
	f := testutil.Frame{Dst: webMAC, Src: clientMAC, SrcIP: clientIP, DstIP: webIP, Proto: 6, SrcPort: 1, DstPort: 80}.Bytes()
	r.Packet("web", "vnet0", t0, 1, f, len(f))
	var buf bytes.Buffer
	n, err := r.Export(context.Background(), Query{VM: "web", Filter: "tcp prot 80"}, &buf)
	var fe *pcapfilter.Error
	if !errors.As(err, &fe) || fe.Expr != "tcp prot 80" {
		t.Fatalf("Export with a bad filter = %v, want a *pcapfilter.Error for the expression", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, `filter "tcp prot 80": `) || !strings.Contains(msg, "syntax error") || !strings.HasSuffix(msg, "check the pcap-filter(7) syntax") {
		t.Errorf("error %q does not name the expression, the problem and the fix", msg)
	}
	if n != 0 || buf.Len() != 0 {
		t.Errorf("a refused export wrote %d packets, %d bytes", n, buf.Len())
	}
}
