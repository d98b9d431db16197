package detect

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/tapwatch/tapwatch/rules/decode"
	"github.com/tapwatch/tapwatch/rules/flow"
)

// Fast patterns bound to the buffer's start (depth, startswith) are
// prefiltered on its first bytes only, and rules naming a flow direction
// only for packets going that way: rules still fire exactly where they
// match, on packets and on the stream, and never beyond their depth.
func TestPayloadPrefilterSplits(t *testing.T) {
	e := engine(t, Options{}, `alert udp any any -> any any (msg:"anchored"; content:"|03 01|"; depth:2; sid:1;)
alert udp any any -> any any (msg:"startswith"; content:"HELO"; startswith; sid:2;)
alert udp any any -> any any (msg:"deep"; content:"MARK"; offset:40; depth:20; sid:3;)
alert tcp any any -> any 80 (msg:"stream anchored"; flow:to_server,established; content:"GET /a"; depth:6; sid:4;)
alert tcp any 80 -> any any (msg:"to client only"; flow:to_client,established; content:"SECRET"; sid:5;)
alert tcp any any -> any 80 (msg:"to server only"; flow:to_server,established; content:"SECRET"; sid:6;)
`)
	pad := func(n int) string { return string(make([]byte, n)) }
	for _, tc := range []struct {
		payload string
		want    []uint32
	}{
		{"\x03\x01 rest", []uint32{1}},
		{"x\x03\x01", nil}, // beyond depth 2
		{"HELO there", []uint32{2}},
		{" HELO", nil},
		{pad(45) + "MARK", []uint32{3}}, // ends at 49, within offset+depth 60
		{pad(58) + "MARK", nil},         // ends at 62
		{pad(80) + "\x03\x01HELO", nil},
	} {
		got, _ := run(e.NewWorker(), udp(1, false, tc.payload))
		if !eq(sids(got), tc.want) {
			t.Errorf("udp %q: alerts %v, want %v", tc.payload, sids(got), tc.want)
		}
	}

	syn := tcpSeg(1, false, decode.TCPSyn, 0, "")
	syn.TCPAck = 0
	got, _ := run(e.NewWorker(), syn, tcpSeg(2, true, decode.TCPSyn|decode.TCPAck, 0, ""), tcpSeg(3, false, decode.TCPAck, 1, ""),
		tcpSeg(4, false, decode.TCPAck|decode.TCPPsh, 1, "GET /a HTTP/1.0\r\n"),
		tcpSeg(5, true, decode.TCPAck|decode.TCPPsh, 1, "HTTP/1.0 200 OK\r\n\r\nSECRET"),
		tcpSeg(6, false, decode.TCPAck|decode.TCPPsh, 18, "x: GET /a\r\n"))
	var dirs []uint32
	for _, r := range got {
		dirs = append(dirs, r.sid)
		if r.sid == 4 && r.num != 4 {
			t.Errorf("anchored stream rule fired on packet %d, want 4 (its pattern is at the stream's start only there)", r.num)
		}
	}
	if !eq(dirs, []uint32{4, 5}) {
		t.Errorf("tcp: alerts %v, want [4 5] (SECRET goes to the client only)", dirs)
	}
}

// tcpFlow runs a handshake and one segment each way between client
// cip:cport and server sip:sport through e, and returns the sids that
// fired and the worker's stats.
func tcpFlow(e *Engine, cip, sip string, cport, sport uint16, toServer, toClient string) ([]uint32, Stats) {
	c, srv := netip.MustParseAddr(cip), netip.MustParseAddr(sip)
	ends := func(p *decode.Packet) *decode.Packet {
		if p.DstPort == 80 {
			p.SrcIP, p.DstIP, p.SrcPort, p.DstPort = c, srv, cport, sport
		} else {
			p.SrcIP, p.DstIP, p.SrcPort, p.DstPort = srv, c, sport, cport
		}
		return p
	}
	syn := ends(tcpSeg(1, false, decode.TCPSyn, 0, ""))
	syn.TCPAck = 0
	w := e.NewWorker()
	got, _ := run(w, syn, ends(tcpSeg(2, true, decode.TCPSyn|decode.TCPAck, 0, "")),
		ends(tcpSeg(3, false, decode.TCPAck, 1, "")),
		ends(tcpSeg(4, false, decode.TCPAck|decode.TCPPsh, 1, toServer)),
		ends(tcpSeg(5, true, decode.TCPAck|decode.TCPPsh, 1, toClient)))
	ids := sids(got)
	slices.Sort(ids)
	return slices.Compact(ids), w.Stats()
}

// The payload prefilter is split by the flow's server port, and again by
// whether a rule names the client's port: rules naming ports are only
// proposed for flows with those ports, and every rule still fires where
// it matches, whichever end the named port is on.
func TestPayloadPrefilterPortGroups(t *testing.T) {
	var src strings.Builder
	var smb []string
	for i := 1; i <= minPortRules; i++ {
		fmt.Fprintf(&src, "alert tcp any any -> any 445 (msg:\"smb %d\"; content:\"SMB-%02d\"; sid:%d;)\n", i, i, i)
		smb = append(smb, fmt.Sprintf("SMB-%02d", i))
	}
	src.WriteString(`alert tcp any any -> any any (msg:"any"; content:"ANYWHERE"; sid:100;)
alert tcp any 445 <> any any (msg:"bidir"; content:"BOTHWAYS"; sid:101;)
`)
	e := engine(t, Options{}, src.String())
	pp := &e.groups[bTCP].pay[flow.ToServer]
	if !slices.Contains(pp.ports, 445) || len(pp.pay) == 1 {
		t.Fatalf("to-server prefilter: ports %v, %d prefilters: want a group for 445 and the other splits", pp.ports, len(pp.pay))
	}
	// Every pattern (the prefilter would propose all 18 rules), and a few
	// (a packet raises at most 15 alerts, as in Suricata).
	all := strings.Join(smb, " ") + " ANYWHERE BOTHWAYS"
	few := "SMB-01 SMB-16 ANYWHERE BOTHWAYS"
	flowRun := func(cport, sport uint16, toServer, toClient string) ([]uint32, Stats) {
		return tcpFlow(e, "10.0.0.1", "10.0.0.2", cport, sport, toServer, toClient)
	}
	for _, tc := range []struct {
		name               string
		cport, sport       uint16
		toServer, toClient string
		want               []uint32
		wantMaxCands       uint64
	}{
		// The SMB rules fire on port 445, the bidir one either way.
		{"to 445", 40000, 445, few, "BOTHWAYS", []uint32{1, 16, 100, 101}, 1 << 20},
		// To port 80 the SMB rules are not even proposed: ANYWHERE and
		// BOTHWAYS are, each way.
		{"to 80", 40000, 80, all, all, []uint32{100}, 4},
		// A client on port 445: the server's replies go to port 445 and
		// match the SMB rules, which name no flow direction.
		{"from 445", 445, 80, "x", few, []uint32{1, 16, 100, 101}, 1 << 20},
	} {
		got, st := flowRun(tc.cport, tc.sport, tc.toServer, tc.toClient)
		if !eq(got, tc.want) {
			t.Errorf("%s: alerts %v, want %v", tc.name, got, tc.want)
		}
		if st.Candidates > tc.wantMaxCands {
			t.Errorf("%s: %d candidates, want at most %d (the port-445 rules proposed for another port)", tc.name, st.Candidates, tc.wantMaxCands)
		}
	}
}

// The payload prefilter is split by whether each end of the flow is in
// the home network: rules that need the other kind of address at an end
// are not proposed, and every rule still fires where it matches.
func TestPayloadPrefilterAddressGroups(t *testing.T) {
	e := engine(t, Options{}, `alert tcp $HOME_NET any -> $EXTERNAL_NET any (msg:"out"; content:"OUTBOUND"; sid:1;)
alert tcp $EXTERNAL_NET any -> $HOME_NET any (msg:"in"; content:"INBOUND"; sid:2;)
alert tcp $HOME_NET any <> $EXTERNAL_NET any (msg:"either"; content:"EITHER"; sid:3;)
alert tcp any any -> any any (msg:"any"; content:"ANYWHERE"; sid:4;)
alert tcp $HOME_NET any -> $HOME_NET any (msg:"inside"; content:"INSIDE"; sid:5;)
`)
	if e.groups[bTCP].pay[flow.ToServer].home == nil {
		t.Fatal("no home set found: the rules name $HOME_NET on most sides")
	}
	all := "OUTBOUND INBOUND EITHER ANYWHERE INSIDE"
	for _, tc := range []struct {
		name         string
		client, srv  string
		want         []uint32
		wantMaxCands uint64
	}{
		// Between home hosts only the any and inside rules can match, and
		// only they are proposed (each way).
		{"home to home", "10.0.0.1", "10.0.0.2", []uint32{4, 5}, 4},
		// A home client and an outside server: out on the way there, in
		// on the way back, either both ways.
		{"home to outside", "10.0.0.1", "192.0.2.7", []uint32{1, 2, 3, 4}, 1 << 20},
		{"outside to home", "192.0.2.7", "10.0.0.1", []uint32{1, 2, 3, 4}, 1 << 20},
		// Between outside hosts, as between home ones.
		{"outside to outside", "192.0.2.7", "198.51.100.1", []uint32{4}, 2},
	} {
		got, st := tcpFlow(e, tc.client, tc.srv, 40000, 80, all, all)
		if !eq(got, tc.want) {
			t.Errorf("%s: alerts %v, want %v", tc.name, got, tc.want)
		}
		if st.Candidates > tc.wantMaxCands {
			t.Errorf("%s: %d candidates, want at most %d (rules proposed for addresses they cannot match)", tc.name, st.Candidates, tc.wantMaxCands)
		}
	}
}
