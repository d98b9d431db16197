package tls

import (
	"crypto/x509/pkix"
	"math/big"
	"testing"
)

func BenchmarkHandshake(b *testing.B) {
	sub := pkix.RDNSequence{rdn(atv(oidC, "US")), rdn(atv(oidO, "Bench")), rdn(atv(oidCN, "bench.example"))}
	cert := makeCert(b, big.NewInt(1234567), sub, sub, notBefore, notAfter)
	client := record(recHandshake, 0x0301, handshake(hsClientHello, clientHello(0x0303, []int{0x1301, 0x1302, 0xc02b, 0xc02f},
		sniExt("bench.example"), ext(10, cat(u16(4), list16(29, 23))), ext(11, []byte{1, 0}), ext(35, nil), ext(16, []byte{0, 3, 2, 'h', '2'}))))
	server := record(recHandshake, 0x0303, cat(
		handshake(hsServerHello, serverHello(0x0303, 0xc02f, ext(0xff01, []byte{0}))),
		handshake(hsCertificate, certificateMsg(cert)),
		handshake(14, nil)))
	b.SetBytes(int64(len(client) + len(server)))
	b.ReportAllocs()
	for b.Loop() {
		p := NewParser()
		p.Feed(ToServer, client)
		p.Feed(ToClient, server)
		if p.State().CertSubject == "" {
			b.Fatal("no subject")
		}
	}
}

func BenchmarkProbe(b *testing.B) {
	ch := record(recHandshake, 0x0301, handshake(hsClientHello, clientHello(0x0303, []int{1})))
	for b.Loop() {
		_ = Probe(ToServer, ch)
	}
}
