package tls

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"
)

var (
	notBefore = time.Date(2003, 3, 29, 0, 57, 44, 0, time.UTC)
	notAfter  = time.Date(2049, 12, 31, 23, 59, 59, 0, time.UTC)
)

func testCert(t *testing.T) []byte {
	sub := pkix.RDNSequence{
		rdn(atv(oidC, "US")), rdn(atv(oidST, "California")), rdn(atv(oidL, "Sunnyvale")),
		rdn(atv(oidO, "Example, Inc.")), rdn(atv(oidOU, "Ops"), atv(oidOdd, "x")),
		rdn(atv(oidCN, "www.example.com")), rdn(atv(oidEmail, "ops@example.com")),
	}
	iss := pkix.RDNSequence{rdn(atv(oidC, "US")), rdn(atv(oidO, "Test CA")), rdn(atv(oidCN, "Test CA R1"))}
	return makeCert(t, big.NewInt(0x80ff01), sub, iss, notBefore, notAfter)
}

const (
	wantSubject = "C=US, ST=California, L=Sunnyvale, O=Example, Inc., OU=Ops + 1.3.6.1.4.1.99999.7=x, CN=www.example.com, Email=ops@example.com"
	wantIssuer  = "C=US, O=Test CA, CN=Test CA R1"
	wantSerial  = "00:80:FF:01" // DER keeps the sign octet and so does Suricata
)

func TestFullHandshake12(t *testing.T) {
	cert := testCert(t)
	chello := clientHello(0x0303, []int{0x0a0a, 0xc02b, 0xc02f, 0x009c},
		ext(0x1a1a, nil),
		sniExt("www.example.com"),
		ext(10, cat(u16(6), list16(0x2a2a, 29, 23))),
		ext(11, []byte{2, 0, 1}),
		ext(35, nil),
	)
	client := cat(
		record(recHandshake, 0x0301, handshake(hsClientHello, chello)),
		record(recChangeCipherSpec, 0x0303, []byte{1}),
		// Encrypted: must not be read as a second hello.
		record(recHandshake, 0x0303, handshake(hsClientHello, clientHello(0x0301, []int{5}, sniExt("evil.example")))),
	)
	shello := serverHello(0x0303, 0xc02f, ext(0xff01, []byte{0}), ext(11, []byte{1, 0}))
	// ServerHello, Certificate and ServerHelloDone share one record; the
	// Certificate message then continues across two more records.
	msgs := cat(handshake(hsServerHello, shello), handshake(hsCertificate, certificateMsg(cert, []byte{0x30, 0})), handshake(14, nil))
	cut1, cut2 := len(msgs)/3, 2*len(msgs)/3
	server := cat(
		record(recHandshake, 0x0303, msgs[:cut1]),
		record(recHandshake, 0x0303, msgs[cut1:cut2]),
		record(recHandshake, 0x0303, msgs[cut2:]),
		record(recChangeCipherSpec, 0x0303, []byte{1}),
	)
	p := run(t, client, server)
	s := p.State()
	if !s.ClientHelloDone || !s.ServerHelloDone || !s.CertDone {
		t.Fatalf("done flags: %s", summary(p))
	}
	if string(s.SNI) != "www.example.com" {
		t.Errorf("SNI %q", s.SNI)
	}
	wantJA3 := "771,49195-49199-156,0-10-11-35,29-23,0-1"
	if s.JA3String != wantJA3 {
		t.Errorf("JA3 %q, want %q (GREASE removed)", s.JA3String, wantJA3)
	}
	if sum := md5.Sum([]byte(wantJA3)); s.JA3Hash != hex.EncodeToString(sum[:]) {
		t.Errorf("JA3 hash %s", s.JA3Hash)
	}
	if s.JA3SString != "771,49199,65281-11" {
		t.Errorf("JA3S %q", s.JA3SString)
	}
	if s.CertSubject != wantSubject {
		t.Errorf("subject\n got %q\nwant %q", s.CertSubject, wantSubject)
	}
	if s.CertIssuer != wantIssuer || s.CertSerial != wantSerial {
		t.Errorf("issuer %q serial %q", s.CertIssuer, s.CertSerial)
	}
	sum := sha1.Sum(cert)
	var fp []string
	for _, c := range sum {
		fp = append(fp, hex.EncodeToString([]byte{c}))
	}
	if s.CertFingerprint != strings.Join(fp, ":") {
		t.Errorf("fingerprint %q", s.CertFingerprint)
	}
	if !s.NotBefore.Equal(notBefore) || !s.NotAfter.Equal(notAfter) {
		t.Errorf("validity %v %v", s.NotBefore, s.NotAfter)
	}
	if len(s.Certs) != 2 || string(s.Certs[0]) != string(cert) {
		t.Errorf("chain of %d", len(s.Certs))
	}
	if !p.Done(ToServer) || !p.Done(ToClient) {
		t.Errorf("both directions should stop at ChangeCipherSpec")
	}

	eve := s.EVE()
	want := map[string]any{
		"subject": wantSubject, "issuerdn": wantIssuer, "serial": wantSerial,
		"fingerprint": s.CertFingerprint, "sni": "www.example.com", "version": "TLS 1.2",
		"notbefore": "2003-03-29T00:57:44", "notafter": "2049-12-31T23:59:59",
	}
	for k, v := range want {
		if eve[k] != v {
			t.Errorf("EVE %s = %v, want %v", k, eve[k], v)
		}
	}
	if j, _ := eve["ja3"].(map[string]any); j["string"] != wantJA3 {
		t.Errorf("EVE ja3 %v", eve["ja3"])
	}
	if j, _ := eve["ja3s"].(map[string]any); j["hash"] != s.JA3SHash {
		t.Errorf("EVE ja3s %v", eve["ja3s"])
	}

	for name, want := range map[string]string{
		"tls.sni": "www.example.com", "tls.cert_subject": wantSubject, "tls.subject": wantSubject,
		"tls.cert_issuer": wantIssuer, "tls.issuerdn": wantIssuer, "tls.cert_serial": wantSerial,
		"tls.cert_fingerprint": s.CertFingerprint, "ja3.string": wantJA3, "ja3.hash": s.JA3Hash,
		"ja3s.string": s.JA3SString, "ja3s.hash": s.JA3SHash, "tls.version": "TLS 1.2",
	} {
		if got, ok := s.Buffer(name); !ok || string(got) != want {
			t.Errorf("Buffer(%s) = %q, %v; want %q", name, got, ok, want)
		}
	}
	if _, ok := s.Buffer("http.uri"); ok {
		t.Error("unknown buffer reported present")
	}
}

func TestTLS13(t *testing.T) {
	chello := clientHello(0x0303, []int{0x1301, 0x1302},
		sniExt("one.example"),
		ext(43, cat([]byte{6}, list16(0x3a3a, 0x0304, 0x0303))),
		ext(10, cat(u16(2), list16(29))),
	)
	client := record(recHandshake, 0x0301, handshake(hsClientHello, chello))
	shello := serverHello(0x0303, 0x1301, ext(43, u16(0x0304)), ext(51, make([]byte, 36)))
	server := cat(
		record(recHandshake, 0x0303, handshake(hsServerHello, shello)),
		record(recChangeCipherSpec, 0x0303, []byte{1}),
		record(recApplicationData, 0x0303, make([]byte, 40)),
	)
	p := run(t, client, server)
	s := p.State()
	if s.ServerVersion != 0x0304 || VersionString(s.Version()) != "TLS 1.3" {
		t.Errorf("version %x %q", s.ServerVersion, VersionString(s.Version()))
	}
	if len(s.ClientVersions) != 2 || s.ClientVersions[0] != 0x0304 {
		t.Errorf("client versions %x", s.ClientVersions)
	}
	// JA3 uses the legacy version, as the spec says.
	if !strings.HasPrefix(s.JA3String, "771,4865-4866,0-43-10,29,") {
		t.Errorf("JA3 %q", s.JA3String)
	}
	if s.JA3SString != "771,4865,43-51" {
		t.Errorf("JA3S %q", s.JA3SString)
	}
	if s.CertDone {
		t.Error("TLS 1.3 certificates are encrypted; none expected")
	}
}

func TestAppDataStopsParsing(t *testing.T) {
	server := cat(
		record(recApplicationData, 0x0303, []byte("encrypted")),
		record(recHandshake, 0x0303, handshake(hsServerHello, serverHello(0x0303, 1))),
	)
	p := run(t, nil, server)
	if p.State().ServerHelloDone || !p.State().Encrypted || !p.Done(ToClient) {
		t.Errorf("parsed past application data: %s", summary(p))
	}
}

func TestSSLv2ClientHello(t *testing.T) {
	// msg type 1, version 3.1, cipher spec len 6, session id 0, challenge 16
	body := cat([]byte{1, 3, 1}, u16(6), u16(0), u16(16), []byte{0, 0, 4, 1, 0, 0x80}, make([]byte, 16))
	client := cat([]byte{0x80 | byte(len(body)>>8), byte(len(body))}, body)
	server := record(recHandshake, 0x0301, handshake(hsServerHello, serverHello(0x0301, 4)))
	if !Probe(ToServer, client) {
		t.Error("SSLv2 hello not probed")
	}
	p := run(t, client, server)
	s := p.State()
	if !s.SSLv2 || s.Anomalies&AnomalySSLv2 == 0 || s.ClientVersion != 0x0301 || !s.ClientHelloDone {
		t.Errorf("SSLv2 hello: %s", summary(p))
	}
	if VersionString(s.Version()) != "TLSv1" {
		t.Errorf("version %q", VersionString(s.Version()))
	}
}

func TestNotTLS(t *testing.T) {
	p := run(t, []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), nil)
	if p.State().Anomalies&AnomalyNotTLS == 0 || !p.Done(ToServer) {
		t.Errorf("HTTP accepted as TLS: %s", summary(p))
	}
	if Probe(ToServer, []byte("GET / HTTP/1.1\r\n")) {
		t.Error("Probe accepted HTTP")
	}
}

func TestRecordTooLong(t *testing.T) {
	p := NewParser()
	p.Feed(ToClient, []byte{recHandshake, 3, 3, 0xff, 0xff})
	if p.State().Anomalies&AnomalyRecordTooLong == 0 || !p.Done(ToClient) {
		t.Errorf("oversized record accepted: %s", summary(p))
	}
}

func TestMalformedHello(t *testing.T) {
	good := clientHello(0x0303, []int{1, 2}, sniExt("a.example"))
	noExts := len(clientHello(0x0303, []int{1, 2}))
	for cut := 0; cut < len(good); cut++ {
		if cut == noExts {
			continue // a hello without extensions is complete
		}
		p := NewParser()
		p.Feed(ToServer, record(recHandshake, 0x0301, handshake(hsClientHello, good[:cut])))
		s := p.State()
		if !s.ClientHelloDone || s.Anomalies&AnomalyBadHandshake == 0 {
			t.Fatalf("cut at %d: truncated hello not flagged: %s", cut, summary(p))
		}
		if s.JA3String != "" {
			t.Fatalf("cut at %d: JA3 from a broken hello", cut)
		}
	}
}

func TestBadCertificateFallsBack(t *testing.T) {
	cert := testCert(t)
	// Corrupt the DER after the subject: the walker must still give the
	// fields it reached, while crypto/x509 would give nothing.
	broken := append([]byte(nil), cert...)
	cutAt := strings.Index(string(broken), "ops@example.com") + len("ops@example.com")
	broken = broken[:cutAt]
	server := record(recHandshake, 0x0303, cat(
		handshake(hsServerHello, serverHello(0x0303, 0x2f)),
		handshake(hsCertificate, certificateMsg(broken)),
	))
	p := run(t, nil, server)
	s := p.State()
	if s.CertSubject != wantSubject || s.CertSerial != wantSerial {
		t.Errorf("fallback lost fields: %s", summary(p))
	}
	if s.CertError == nil || s.Anomalies&AnomalyBadCertificate == 0 || !errors.Is(s.CertError, errDER) {
		t.Errorf("broken certificate not flagged: %v", s.CertError)
	}

	// Garbage that is no certificate at all still yields a fingerprint.
	server = record(recHandshake, 0x0303, handshake(hsCertificate, certificateMsg([]byte("junk"))))
	p = run(t, nil, server)
	if p.State().CertSubject != "" || p.State().CertFingerprint == "" || p.State().CertError == nil {
		t.Errorf("junk certificate: %s", summary(p))
	}
}

func TestNulInNames(t *testing.T) {
	sub := pkix.RDNSequence{rdn(atv(oidO, "Microsoft Corporat\x00on")), rdn(atv(oidCN, "go.microsoft.com"))}
	cert := makeCert(t, big.NewInt(5), sub, sub, notBefore, notAfter)
	server := record(recHandshake, 0x0303, handshake(hsCertificate, certificateMsg(cert)))
	p := run(t, nil, server)
	if got, _ := p.State().Buffer("tls.cert_subject"); string(got) != "O=Microsoft Corporat\x00on, CN=go.microsoft.com" {
		t.Errorf("NUL byte handling: %q", got)
	}
	if p.State().CertSerial != "05" {
		t.Errorf("serial %q", p.State().CertSerial)
	}
}

func TestClientCertificateIgnored(t *testing.T) {
	cert := testCert(t)
	client := record(recHandshake, 0x0303, handshake(hsCertificate, certificateMsg(cert)))
	p := run(t, client, nil)
	if p.State().CertDone || p.State().CertSubject != "" {
		t.Error("a client certificate filled the server certificate buffers")
	}
}

func TestDraftServerHello(t *testing.T) {
	// TLS 1.3 draft 18: no session id, no compression.
	body := cat(u16(0x7f12), make([]byte, 32), u16(0x1301), u16(4), ext(40, nil))
	server := record(recHandshake, 0x0301, handshake(hsServerHello, body))
	p := run(t, nil, server)
	s := p.State()
	if s.Anomalies&AnomalyBadHandshake != 0 || s.CipherSuite != 0x1301 || VersionString(s.Version()) != "TLS 1.3 draft-18" {
		t.Errorf("draft hello: %s", summary(p))
	}
}

func TestProbe(t *testing.T) {
	ch := record(recHandshake, 0x0301, handshake(hsClientHello, clientHello(0x0303, []int{1})))
	sh := record(recHandshake, 0x0303, handshake(hsServerHello, serverHello(0x0303, 1)))
	cases := []struct {
		dir  Dir
		data []byte
		want bool
	}{
		{ToServer, ch, true},
		{ToServer, ch[:6], true},
		{ToClient, ch, false},
		{ToClient, sh, true},
		{ToServer, sh, false},
		{ToServer, ch[:5], false},
		{ToServer, record(recApplicationData, 0x0303, []byte("xx")), false},
		{ToServer, record(recHandshake, 0x0200, handshake(1, nil)), false},
		{ToServer, nil, false},
	}
	for i, c := range cases {
		if got := Probe(c.dir, c.data); got != c.want {
			t.Errorf("case %d: Probe = %v, want %v", i, got, c.want)
		}
	}
}

func TestVersionString(t *testing.T) {
	for v, want := range map[uint16]string{
		0: "UNDETERMINED", 0x0200: "SSLv2", 0x0300: "SSLv3", 0x0301: "TLSv1", 0x0302: "TLS 1.1",
		0x0303: "TLS 1.2", 0x0304: "TLS 1.3", 0x7f1c: "TLS 1.3 draft-28", 0x7f10: "TLS 1.3 draft-16",
		0x7f01: "TLS 1.3 draft-<16", 0xfb17: "TLS 1.3 draft-23-fb", 0x7f0e: "32526", 0x1234: "4660",
	} {
		if got := VersionString(v); got != want {
			t.Errorf("VersionString(%#x) = %q, want %q", v, got, want)
		}
	}
}

func TestGREASE(t *testing.T) {
	n := 0
	for v := 0; v < 1<<16; v++ {
		if isGREASE(uint16(v)) {
			n++
			if v&0xff != v>>8 || v&0x0f != 0x0a {
				t.Errorf("%#x is not GREASE", v)
			}
		}
	}
	if n != 16 {
		t.Errorf("%d GREASE values, want 16", n)
	}
}

func TestOIDString(t *testing.T) {
	if got := oidString([]byte{0x2b, 0x06, 0x01, 0x04, 0x01, 0x86, 0x8d, 0x1f, 0x07}); got != "1.3.6.1.4.1.99999.7" {
		t.Errorf("oid %q", got)
	}
	if got := oidString([]byte{0x88, 0x37}); got != "2.999" {
		t.Errorf("oid %q", got)
	}
}
