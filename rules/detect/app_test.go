package detect

import (
	"encoding/binary"
	"strings"
	"testing"

	"github.com/tapwatch/tapwatch/rules"
	"github.com/tapwatch/tapwatch/rules/decode"
)

// dnsQuery builds a DNS request asking for names (type A, class IN).
func dnsQuery(id uint16, response bool, names ...string) string {
	b := make([]byte, 12)
	binary.BigEndian.PutUint16(b, id)
	if response {
		b[2] = 0x81
	} else {
		b[2] = 0x01
	}
	binary.BigEndian.PutUint16(b[4:], uint16(len(names)))
	for _, n := range names {
		for _, l := range strings.Split(n, ".") {
			b = append(b, byte(len(l)))
			b = append(b, l...)
		}
		b = append(b, 0, 0, 1, 0, 1)
	}
	return string(b)
}

type appRec struct {
	sid      uint32
	num      uint64
	appProto string
	txID     int
	app      map[string]any
}

func runApp(w *Worker, pkts ...*decode.Packet) []appRec {
	var out []appRec
	for _, p := range pkts {
		w.Process(p, 0, func(a *Alert) {
			out = append(out, appRec{a.SID, a.Packet.Num, a.AppProto, a.TxID, a.App})
		})
	}
	return out
}

func TestAppDNSQueryMultiBuffer(t *testing.T) {
	e := engine(t, Options{}, `alert dns any any -> any any (msg:"q"; dns.query; content:"evil.example"; nocase; sid:1;)
alert dns any any -> any any (msg:"legacy"; dns_query; content:"second.test"; sid:2;)
alert dns any any -> any any (msg:"both names in one entry never"; dns.query; content:"evil"; content:"second"; sid:3;)
alert dns any any -> any any (msg:"dotprefix"; dns.query; dotprefix; content:".example"; endswith; sid:5;)
`)
	w := e.NewWorker()
	// Port 5353 on both sides: DNS is found by content, not port.
	q := udp(1, false, dnsQuery(7, false, "www.EVIL.example", "second.test"))
	q.SrcPort, q.DstPort = 40000, 5353
	r := udp(2, true, dnsQuery(7, true, "www.EVIL.example", "second.test"))
	r.SrcPort, r.DstPort = 5353, 40000
	got := runApp(w, q, r)
	var s []uint32
	for _, a := range got {
		s = append(s, a.sid)
		if a.appProto != "dns" || a.num != 1 {
			t.Errorf("sid %d: app_proto %q packet %d", a.sid, a.appProto, a.num)
		}
		if a.sid == 1 {
			d, _ := a.app["dns"].(map[string]any)
			if qs, _ := d["queries"].([]any); len(qs) != 2 || a.txID != 0 || d["type"] != "request" {
				t.Errorf("alert dns object %v tx %d", a.app, a.txID)
			}
		}
	}
	// sid 3 needs both words in one name; the response inspects nothing.
	if !eq(s, []uint32{1, 2, 5}) {
		t.Errorf("sids %v", s)
	}
}

func TestAppHTTPDetectedOffPort(t *testing.T) {
	e := engine(t, Options{IPS: true}, `alert http any any -> any any (msg:"uri"; http.uri; content:"/x"; sid:1;)
alert tls any any -> any any (msg:"not tls"; sid:2;)
`)
	syn := tcpSeg(1, false, decode.TCPSyn, 0, "")
	syn.TCPAck = 0
	synack := tcpSeg(2, true, decode.TCPSyn|decode.TCPAck, 0, "")
	ack := tcpSeg(3, false, decode.TCPAck, 1, "")
	req := tcpSeg(4, false, decode.TCPAck|decode.TCPPsh, 1, "GET /x HTTP/1.1\r\nHost: a\r\n\r\n")
	for _, p := range []*decode.Packet{syn, synack, ack, req} {
		if p.SrcPort == 80 {
			p.SrcPort = 8080
		} else {
			p.DstPort = 8080
		}
	}
	got := runApp(e.NewWorker(), syn, synack, ack, req)
	if len(got) != 1 || got[0].sid != 1 || got[0].appProto != "http" || got[0].app["http"] == nil {
		t.Fatalf("got %+v", got)
	}
}

// tlsClientHello is a TLS 1.2 ClientHello record carrying SNI sni.
func tlsClientHello(sni string) string {
	u16 := func(v int) []byte { return []byte{byte(v >> 8), byte(v)} }
	entry := append(append([]byte{0}, u16(len(sni))...), sni...)
	ext := append(append(u16(0), u16(len(entry)+2)...), append(u16(len(entry)), entry...)...)
	body := append(u16(0x0303), make([]byte, 32)...)
	body = append(body, 0)                      // session id
	body = append(body, 0, 2, 0x13, 0x01, 1, 0) // ciphers, compression
	body = append(body, u16(len(ext))...)
	body = append(body, ext...)
	hs := append([]byte{1, 0, byte(len(body) >> 8), byte(len(body))}, body...)
	return string(append([]byte{22, 3, 1, byte(len(hs) >> 8), byte(len(hs))}, hs...))
}

// tlsServerHello is a ServerHello record choosing version v.
func tlsServerHello(v int) string {
	body := append([]byte{byte(v >> 8), byte(v)}, make([]byte, 32)...)
	body = append(body, 0, 0x13, 0x01, 0) // session id, cipher, compression
	hs := append([]byte{2, 0, byte(len(body) >> 8), byte(len(body))}, body...)
	return string(append([]byte{22, 3, 3, byte(len(hs) >> 8), byte(len(hs))}, hs...))
}

func TestAppTLSSNIOffPort(t *testing.T) {
	e := engine(t, Options{IPS: true}, `alert tls any any -> any any (msg:"sni"; tls.sni; content:"evil.test"; sid:1;)
alert tls any any -> any any (msg:"ja3"; ja3.hash; content:"x"; sid:2;)
alert tls any any -> any any (msg:"server side"; flow:to_server; tls.cert_subject; content:"CN"; sid:3;)
alert http any any -> any any (msg:"not http"; sid:4;)
alert tls any any -> any any (msg:"client version"; flow:to_server; tls.version:1.2; sid:5;)
alert tls any any -> any any (msg:"old version"; tls.version:1.0; sid:6;)
alert tls any any -> any any (msg:"server version"; flow:to_client; tls.version:"1.2"; sid:7;)
alert tls any any -> any any (msg:"raw"; flow:to_client; tls.version:0x0303; sid:8;)
`)
	syn := tcpSeg(1, false, decode.TCPSyn, 0, "")
	syn.TCPAck = 0
	synack := tcpSeg(2, true, decode.TCPSyn|decode.TCPAck, 0, "")
	ack := tcpSeg(3, false, decode.TCPAck, 1, "")
	hello := tcpSeg(4, false, decode.TCPAck|decode.TCPPsh, 1, tlsClientHello("www.evil.test"))
	for _, p := range []*decode.Packet{syn, synack, ack, hello} {
		if p.SrcPort == 80 {
			p.SrcPort = 8443
		} else {
			p.DstPort = 8443
		}
	}
	sh := tcpSeg(5, true, decode.TCPAck|decode.TCPPsh, 1, tlsServerHello(0x0303))
	sh.SrcPort = 8443
	got := runApp(e.NewWorker(), syn, synack, ack, hello, sh)
	if len(got) != 4 || got[0].sid != 1 || got[0].appProto != "tls" || got[0].num != 4 ||
		got[1].sid != 5 || got[1].num != 4 || got[2].sid != 7 || got[2].num != 5 || got[3].sid != 8 {
		t.Fatalf("got %+v", got)
	}
	tl, _ := got[0].app["tls"].(map[string]any)
	if tl["sni"] != "www.evil.test" {
		t.Errorf("alert tls object %v", got[0].app)
	}
}

func TestAppTLSKeywordsCompile(t *testing.T) {
	// The legacy value forms and tls.version compile to buffer tests.
	e := engine(t, Options{}, `alert tls any any -> any any (tls.fingerprint:"AA:bb"; sid:1;)
alert tls any any -> any any (tls.subject:!"CN=x"; tls.issuerdn:"O=y"; sid:2;)
alert tls any any -> any any (tls.version:1.2; sid:3;)
alert tls any any -> any any (tls.version:0x0301; tls.cert_serial; content:"01"; sid:4;)
alert tcp any any -> any any (uricontent:"/a"; isdataat:!1,relative; sid:5;)
alert http any any -> any any (urilen:3,raw; sid:6;)
`)
	for _, c := range e.sigs {
		if len(c.app) == 0 || len(c.payload) != 0 {
			t.Errorf("sid %d: app %v payload %v", c.sid, c.app, c.payload)
		}
		if c.sid == 1 && !c.app[0].ops[0].Nocase {
			t.Errorf("tls.fingerprint must match any case")
		}
		if c.sid == 6 && c.app[0].buf.String() != "http.uri.raw" {
			t.Errorf("urilen raw inspects %s", c.app[0].buf)
		}
	}
	rs, errs := rules.ParseReader("t.rules", strings.NewReader("alert tls any any -> any any (tls.version:9.9; sid:1;)\n"), rules.DefaultVars())
	if len(errs) == 0 && len(rs) != 0 {
		t.Errorf("tls.version:9.9 must be rejected")
	}
}

func TestAppDNSOverTCPFraming(t *testing.T) {
	e := engine(t, Options{IPS: true}, `alert dns any any -> any any (msg:"q"; dns.query; content:"split.test"; sid:1;)
`)
	msg := dnsQuery(9, false, "a.split.test")
	framed := string([]byte{0, byte(len(msg))}) + msg
	syn := tcpSeg(1, false, decode.TCPSyn, 0, "")
	syn.TCPAck = 0
	synack := tcpSeg(2, true, decode.TCPSyn|decode.TCPAck, 0, "")
	ack := tcpSeg(3, false, decode.TCPAck, 1, "")
	// The frame is split across two segments.
	a := tcpSeg(4, false, decode.TCPAck|decode.TCPPsh, 1, framed[:10])
	b := tcpSeg(5, false, decode.TCPAck|decode.TCPPsh, 11, framed[10:])
	pkts := []*decode.Packet{syn, synack, ack, a, b}
	for _, p := range pkts {
		if p.SrcPort == 80 {
			p.SrcPort = 53
		} else {
			p.DstPort = 53
		}
	}
	got := runApp(e.NewWorker(), pkts...)
	if len(got) != 1 || got[0].sid != 1 || got[0].num != 5 || got[0].appProto != "dns" {
		t.Fatalf("got %+v", got)
	}
}
