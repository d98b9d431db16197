package tls

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"
)

func u16(v int) []byte { return []byte{byte(v >> 8), byte(v)} }
func u24(v int) []byte { return []byte{byte(v >> 16), byte(v >> 8), byte(v)} }

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func list16(vs ...int) []byte {
	var b []byte
	for _, v := range vs {
		b = append(b, u16(v)...)
	}
	return b
}

func ext(typ int, data []byte) []byte { return cat(u16(typ), u16(len(data)), data) }

func record(typ byte, version int, body []byte) []byte {
	return cat([]byte{typ}, u16(version), u16(len(body)), body)
}

func handshake(typ byte, body []byte) []byte { return cat([]byte{typ}, u24(len(body)), body) }

func sniExt(name string) []byte {
	entry := cat([]byte{0}, u16(len(name)), []byte(name))
	return ext(0, cat(u16(len(entry)), entry))
}

// clientHello builds a ClientHello body.
func clientHello(version int, ciphers []int, exts ...[]byte) []byte {
	cs := list16(ciphers...)
	body := cat(u16(version), make([]byte, 32), []byte{4, 1, 2, 3, 4}, u16(len(cs)), cs, []byte{1, 0})
	if exts != nil {
		e := cat(exts...)
		body = cat(body, u16(len(e)), e)
	}
	return body
}

func serverHello(version, cipher int, exts ...[]byte) []byte {
	body := cat(u16(version), make([]byte, 32), []byte{0}, u16(cipher), []byte{0})
	if exts != nil {
		e := cat(exts...)
		body = cat(body, u16(len(e)), e)
	}
	return body
}

func certificateMsg(ders ...[]byte) []byte {
	var l []byte
	for _, d := range ders {
		l = cat(l, u24(len(d)), d)
	}
	return cat(u24(len(l)), l)
}

var (
	oidC     = asn1.ObjectIdentifier{2, 5, 4, 6}
	oidST    = asn1.ObjectIdentifier{2, 5, 4, 8}
	oidL     = asn1.ObjectIdentifier{2, 5, 4, 7}
	oidO     = asn1.ObjectIdentifier{2, 5, 4, 10}
	oidOU    = asn1.ObjectIdentifier{2, 5, 4, 11}
	oidCN    = asn1.ObjectIdentifier{2, 5, 4, 3}
	oidEmail = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}
	oidOdd   = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 7}
)

func rdn(atvs ...pkix.AttributeTypeAndValue) pkix.RelativeDistinguishedNameSET {
	return pkix.RelativeDistinguishedNameSET(atvs)
}

func atv(oid asn1.ObjectIdentifier, v any) pkix.AttributeTypeAndValue {
	return pkix.AttributeTypeAndValue{Type: oid, Value: v}
}

// makeCert creates a self-signed-looking certificate with the exact subject
// and issuer RDN sequences given.
func makeCert(t testing.TB, serial *big.Int, subject, issuer pkix.RDNSequence, nb, na time.Time) []byte {
	t.Helper()
	rawSub, err := asn1.Marshal(subject)
	if err != nil {
		t.Fatal(err)
	}
	rawIss, err := asn1.Marshal(issuer)
	if err != nil {
		t.Fatal(err)
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	parent := &x509.Certificate{SerialNumber: big.NewInt(1), RawSubject: rawIss}
	tmpl := &x509.Certificate{SerialNumber: serial, RawSubject: rawSub, NotBefore: nb, NotAfter: na}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, priv)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// summary renders everything State exposes so runs can be compared.
func summary(p *Parser) string {
	s := p.State()
	var b strings.Builder
	fmt.Fprintf(&b, "cv=%x cvs=%x sv=%x v=%x cs=%x ciphers=%x sni=%q ja3=%q/%s ja3s=%q/%s\n",
		s.ClientVersion, s.ClientVersions, s.ServerVersion, s.Version(), s.CipherSuite, s.ClientCiphers, s.SNI, s.JA3String, s.JA3Hash, s.JA3SString, s.JA3SHash)
	fmt.Fprintf(&b, "sub=%q iss=%q ser=%q fp=%q nb=%v na=%v certs=%d err=%v cn=%q dns=%q\n",
		s.CertSubject, s.CertIssuer, s.CertSerial, s.CertFingerprint, s.NotBefore, s.NotAfter, len(s.Certs), s.CertError,
		s.CertCommonName, s.CertDNSNames)
	fmt.Fprintf(&b, "done=%v%v%v v2=%v enc=%v anom=%b pdone=%v%v\n", s.ClientHelloDone, s.ServerHelloDone, s.CertDone, s.SSLv2, s.Encrypted, s.Anomalies, p.Done(ToServer), p.Done(ToClient))
	return b.String()
}

// run parses the two streams whole, split at every offset of each
// direction, and a byte at a time, and fails if any split changes the
// result. It returns the parser fed whole.
func run(t *testing.T, client, server []byte) *Parser {
	t.Helper()
	whole := NewParser()
	whole.Feed(ToServer, client)
	whole.Feed(ToClient, server)
	want := summary(whole)
	for dir, data := range [][]byte{client, server} {
		for i := 0; i <= len(data); i++ {
			p := NewParser()
			if dir == 0 {
				p.Feed(ToServer, data[:i])
				p.Feed(ToServer, data[i:])
				p.Feed(ToClient, server)
			} else {
				p.Feed(ToServer, client)
				p.Feed(ToClient, data[:i])
				p.Feed(ToClient, data[i:])
			}
			if got := summary(p); got != want {
				t.Fatalf("dir %d split at %d changes the result\nwhole:\n%s\nsplit:\n%s", dir, i, want, got)
			}
		}
	}
	p := NewParser()
	for i := range client {
		p.Feed(ToServer, client[i:i+1])
	}
	for i := range server {
		p.Feed(ToClient, server[i:i+1])
	}
	if got := summary(p); got != want {
		t.Fatalf("byte at a time changes the result\nwhole:\n%s\nbytewise:\n%s", want, got)
	}
	return whole
}
