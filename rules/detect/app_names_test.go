package detect

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tapwatch/tapwatch/rules/decode"
	"github.com/tapwatch/tapwatch/rules/flow"
)

// endedNames runs pkts through w, ends every flow and returns the names of
// each ended flow as "kind=value" strings, in the order the flow kept them,
// and the flows' app_proto.
func endedNames(t *testing.T, w *Worker, pkts ...*decode.Packet) (names [][]string, protos []string) {
	t.Helper()
	for _, p := range pkts {
		w.Process(p, 0, func(*Alert) {})
	}
	w.Flush(func(*Alert) {}, func(f *flow.Flow, _ flow.EndReason) {
		var n []string
		for _, x := range f.Names.All() {
			n = append(n, x.Kind.String()+"="+x.Value)
		}
		names = append(names, n)
		protos = append(protos, f.AppProto)
	})
	return names, protos
}

// handshake3 is a TCP handshake toward port, as tcpSeg builds packets.
func handshake3(port uint16) []*decode.Packet {
	syn := tcpSeg(1, false, decode.TCPSyn, 0, "")
	syn.TCPAck = 0
	synack := tcpSeg(2, true, decode.TCPSyn|decode.TCPAck, 0, "")
	ack := tcpSeg(3, false, decode.TCPAck, 1, "")
	return onPort(port, syn, synack, ack)
}

// onPort moves tcpSeg's server port 80 to port.
func onPort(port uint16, pkts ...*decode.Packet) []*decode.Packet {
	for _, p := range pkts {
		if p.SrcPort == 80 {
			p.SrcPort = port
		} else if p.DstPort == 80 {
			p.DstPort = port
		}
	}
	return pkts
}

// segs is one direction's data as consecutive segments, numbered from n.
func segs(n int, reply bool, rel uint32, parts ...string) []*decode.Packet {
	var out []*decode.Packet
	for _, s := range parts {
		out = append(out, tcpSeg(n, reply, decode.TCPAck|decode.TCPPsh, rel, s))
		n++
		rel += uint32(len(s))
	}
	return out
}

// Rule sets that turn each parser on or leave it off: names must not
// depend on whether some rule needs the parser.
var namesModes = []struct {
	name  string
	rules string
}{
	{"parsers off", `alert tcp any any -> any 9 (msg:"unrelated"; content:"zzz"; sid:1;)`},
	{"parsers on", `alert http any any -> any any (msg:"h"; http.uri; content:"/nothing-here"; sid:1;)
alert tls any any -> any any (msg:"t"; tls.sni; content:"nothing-here"; sid:2;)
alert dns any any -> any any (msg:"d"; dns.query; content:"nothing-here"; sid:3;)
alert ssh any any -> any any (msg:"s"; ssh.software; content:"nothing-here"; sid:4;)`},
}

func TestNamesHTTP(t *testing.T) {
	for _, m := range namesModes {
		t.Run(m.name, func(t *testing.T) {
			e := engine(t, Options{}, m.rules)
			if (m.name == "parsers on") != e.httpEnabled {
				t.Fatalf("httpEnabled %v", e.httpEnabled)
			}
			w := e.NewWorker()
			w.SetRecordNames(true)
			// The request's head is split mid-header across segments; the
			// response's Server header is in the second segment.
			req := "GET /index.html HTTP/1.1\r\nHost: Web.Lab.Example:8080\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n"
			resp := "HTTP/1.0 200 OK\r\nServer: SimpleHTTP/0.6 Python/3.11.2\r\nContent-Length: 2\r\n\r\nok"
			pkts := handshake3(8080)
			pkts = append(pkts, onPort(8080, segs(4, false, 1, req[:30], req[30:60], req[60:])...)...)
			pkts = append(pkts, onPort(8080, segs(7, true, 1, resp[:9], resp[9:])...)...)
			names, protos := endedNames(t, w, pkts...)
			want := []string{"http.host=web.lab.example", "http.user_agent=curl/7.88.1", "http.server=SimpleHTTP/0.6 Python/3.11.2"}
			if len(names) != 1 || protos[0] != "http" || !sameSet(names[0], want) {
				t.Fatalf("names %q app_proto %q, want %q", names, protos, want)
			}
		})
	}
}

// TestNamesHTTPKeepAliveBounded: the HTTP parser sees every request of a
// keep-alive connection, and the flow keeps at most MaxNamesPerKind user
// agents however many the client cycles through.
func TestNamesHTTPKeepAliveBounded(t *testing.T) {
	e := engine(t, Options{}, namesModes[1].rules)
	w := e.NewWorker()
	w.SetRecordNames(true)
	var parts []string
	for i := range 10 {
		parts = append(parts, fmt.Sprintf("GET /%d HTTP/1.1\r\nHost: a\r\nUser-Agent: agent-%d\r\n\r\n", i, i))
	}
	pkts := append(handshake3(80), segs(4, false, 1, parts...)...)
	names, _ := endedNames(t, w, pkts...)
	var uas []string
	for _, n := range names[0] {
		if strings.HasPrefix(n, "http.user_agent=") {
			uas = append(uas, n)
		}
	}
	if !slices.Equal(uas, []string{"http.user_agent=agent-0", "http.user_agent=agent-1", "http.user_agent=agent-2", "http.user_agent=agent-3"}) {
		t.Errorf("user agents %q", uas)
	}
}

// TestNamesHTTPSniffBounded: with the parser off, a head that never ends
// is given up after maxSniffBytes and yields nothing.
func TestNamesHTTPSniffBounded(t *testing.T) {
	w := engine(t, Options{}, namesModes[0].rules).NewWorker()
	w.SetRecordNames(true)
	long := "GET / HTTP/1.1\r\nX-Pad: " + strings.Repeat("a", maxSniffBytes) + "\r\nUser-Agent: late\r\n\r\n"
	var parts []string
	for i := 0; i < len(long); i += 1000 {
		parts = append(parts, long[i:min(i+1000, len(long))])
	}
	pkts := append(handshake3(80), segs(4, false, 1, parts...)...)
	names, protos := endedNames(t, w, pkts...)
	if len(names[0]) != 0 || protos[0] != "http" {
		t.Errorf("names %q app_proto %q", names, protos)
	}
}

// tlsCertificate is a TLS 1.2 record holding a Certificate message with one
// self-signed certificate for cn and sans.
func tlsCertificate(t *testing.T, cn string, sans ...string) string {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: cn}, DNSNames: sans,
		NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1<<31, 0)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
	if err != nil {
		t.Fatal(err)
	}
	u24 := func(n int) []byte { return []byte{byte(n >> 16), byte(n >> 8), byte(n)} }
	list := append(u24(len(der)), der...)
	body := append(u24(len(list)), list...)
	hs := append(append([]byte{11}, u24(len(body))...), body...)
	return string(append([]byte{22, 3, 3, byte(len(hs) >> 8), byte(len(hs))}, hs...))
}

func TestNamesTLS(t *testing.T) {
	for _, m := range namesModes {
		t.Run(m.name, func(t *testing.T) {
			e := engine(t, Options{}, m.rules)
			w := e.NewWorker()
			w.SetRecordNames(true)
			pkts := handshake3(8443)
			pkts = append(pkts, onPort(8443, segs(4, false, 1, tlsClientHello("Web.Lab.Example"))...)...)
			server := tlsServerHello(0x0303) + tlsCertificate(t, "web.lab.example", "web.lab.example", "www.lab.example")
			pkts = append(pkts, onPort(8443, segs(5, true, 1, server[:100], server[100:])...)...)
			names, protos := endedNames(t, w, pkts...)
			want := []string{"tls.sni=web.lab.example", "tls.cert=web.lab.example", "tls.cert=www.lab.example"}
			if len(names) != 1 || protos[0] != "tls" || !sameSet(names[0], want) {
				t.Fatalf("names %q app_proto %q, want %q", names, protos, want)
			}
		})
	}
}

func TestNamesDNS(t *testing.T) {
	for _, m := range namesModes {
		t.Run(m.name, func(t *testing.T) {
			w := engine(t, Options{}, m.rules).NewWorker()
			w.SetRecordNames(true)
			q := udp(1, false, dnsQuery(7, false, "web.lab.example"))
			// The answer must not add names, even ones the query lacked.
			r := udp(2, true, dnsQuery(7, true, "web.lab.example", "other.example"))
			names, protos := endedNames(t, w, q, r)
			if len(names) != 1 || protos[0] != "dns" || !slices.Equal(names[0], []string{"dns.query=web.lab.example"}) {
				t.Fatalf("names %q app_proto %q", names, protos)
			}
		})
	}
}

func TestNamesDNSOverTCP(t *testing.T) {
	for _, m := range namesModes {
		t.Run(m.name, func(t *testing.T) {
			w := engine(t, Options{}, m.rules).NewWorker()
			w.SetRecordNames(true)
			msg := dnsQuery(9, false, "tcp.lab.example")
			framed := string([]byte{0, byte(len(msg))}) + msg
			pkts := append(handshake3(53), onPort(53, segs(4, false, 1, framed[:5], framed[5:])...)...)
			names, protos := endedNames(t, w, pkts...)
			if len(names) != 1 || protos[0] != "dns" || !slices.Equal(names[0], []string{"dns.query=tcp.lab.example"}) {
				t.Fatalf("names %q app_proto %q", names, protos)
			}
		})
	}
}

// TestNamesSSH: SSH is detected by content on any port, from the server's
// line (it speaks first); each side's identification line becomes a name.
func TestNamesSSH(t *testing.T) {
	for _, m := range namesModes {
		t.Run(m.name, func(t *testing.T) {
			w := engine(t, Options{}, m.rules).NewWorker()
			w.SetRecordNames(true)
			pkts := handshake3(2222)
			pkts = append(pkts, onPort(2222, segs(4, true, 1, "SSH-2.0-tapwatch", "lab_1.0\r\n\x00\x00\x01\x0c\x0a\x14")...)...)
			pkts = append(pkts, onPort(2222, segs(6, false, 1, "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n\x00\x00\x01\x0c")...)...)
			names, protos := endedNames(t, w, pkts...)
			want := []string{"ssh.server=SSH-2.0-tapwatchlab_1.0", "ssh.client=SSH-2.0-OpenSSH_9.2p1 Debian-2"}
			if len(names) != 1 || protos[0] != "ssh" || !slices.Equal(names[0], want) {
				t.Fatalf("names %q app_proto %q, want %q", names, protos, want)
			}
		})
	}
}

// TestSSHBuffers: ssh.proto and ssh.software hold each side's versions;
// a rule alerts once per flow (one transaction), with Suricata's EVE
// "ssh" object.
func TestSSHBuffers(t *testing.T) {
	e := engine(t, Options{}, `alert ssh any any -> any any (msg:"openssh"; ssh.software; content:"OpenSSH_"; startswith; sid:1;)
alert ssh any any -> any any (msg:"server v1.99"; flow:to_client; ssh.proto; content:"1.99"; bsize:4; sid:2;)
alert ssh any any -> any any (msg:"client v2"; flow:to_server; ssh.proto; content:"2.0"; sid:3;)
alert ssh any any -> any any (msg:"never"; ssh.software; content:"dropbear"; sid:4;)
alert ssh any any -> any any (msg:"any ssh"; flow:to_server; content:"SSH-"; depth:4; sid:5;)
`)
	pkts := handshake3(22)
	pkts = append(pkts, onPort(22, segs(4, true, 1, "SSH-1.99-OpenSSH_3.4\r\n")...)...)
	pkts = append(pkts, onPort(22, segs(5, false, 1, "SSH-2.0-OpenSSH_9.2\r\n")...)...)
	got := runApp(e.NewWorker(), pkts...)
	var s []uint32
	for _, a := range got {
		s = append(s, a.sid)
		if a.appProto != "ssh" {
			t.Errorf("sid %d app_proto %q", a.sid, a.appProto)
		}
		if a.sid == 1 {
			o, _ := a.app["ssh"].(map[string]any)
			if srv, _ := o["server"].(map[string]any); srv["software_version"] != "OpenSSH_3.4" || srv["proto_version"] != "1.99" {
				t.Errorf("EVE ssh %v", a.app)
			}
		}
	}
	slices.Sort(s)
	if !slices.Equal(s, []uint32{1, 2, 3, 5}) {
		t.Errorf("sids %v, want 1 2 3 5 (each once)", s)
	}
}

// TestNamesOffByDefault: a worker not asked for names (replay, tests)
// keeps none and runs no parser for them.
func TestNamesOffByDefault(t *testing.T) {
	e := engine(t, Options{}, namesModes[0].rules)
	w := e.NewWorker()
	pkts := append(handshake3(80), segs(4, false, 1, "GET / HTTP/1.1\r\nUser-Agent: x\r\n\r\n")...)
	names, protos := endedNames(t, w, append(pkts, udp(20, false, dnsQuery(1, false, "a.example")))...)
	for i, n := range names {
		if n != nil {
			t.Errorf("flow %d (%s) has names %q", i, protos[i], n)
		}
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
