package tls

import (
	"crypto/x509/pkix"
	"math/big"
	"testing"
)

// FuzzTLS feeds arbitrary bytes as both directions of a connection, whole
// and split at an arbitrary point. Nothing may panic and the result must not
// depend on the split.
func FuzzTLS(f *testing.F) {
	sub := pkix.RDNSequence{rdn(atv(oidC, "US")), rdn(atv(oidCN, "fuzz.example"))}
	cert := makeCert(f, big.NewInt(77), sub, sub, notBefore, notAfter)
	ch := record(recHandshake, 0x0301, handshake(hsClientHello, clientHello(0x0303, []int{0x1301, 0xc02f},
		sniExt("fuzz.example"), ext(10, cat(u16(4), list16(29, 23))), ext(11, []byte{1, 0}), ext(43, cat([]byte{4}, list16(0x0304, 0x0303))))))
	sh := record(recHandshake, 0x0303, cat(
		handshake(hsServerHello, serverHello(0x0303, 0xc02f, ext(0xff01, []byte{0}))),
		handshake(hsCertificate, certificateMsg(cert)),
		handshake(14, nil)))
	v2 := []byte{0x80, 0x0f, 1, 3, 1, 0, 3, 0, 0, 0, 0, 0, 0, 4, 0x41, 0x42, 0x43}
	f.Add(ch, sh, uint16(7))
	f.Add(v2, sh[:40], uint16(3))
	f.Add(ch[:30], cat(sh, record(recChangeCipherSpec, 0x0303, []byte{1})), uint16(200))
	f.Fuzz(func(t *testing.T, client, server []byte, cut uint16) {
		whole := NewParser()
		whole.Feed(ToServer, client)
		whole.Feed(ToClient, server)
		split := NewParser()
		c1 := int(cut) % (len(client) + 1)
		c2 := int(cut) % (len(server) + 1)
		split.Feed(ToServer, client[:c1])
		split.Feed(ToServer, client[c1:])
		split.Feed(ToClient, server[:c2])
		split.Feed(ToClient, server[c2:])
		if a, b := summary(whole), summary(split); a != b {
			t.Fatalf("split at %d/%d changes the result\n%s\n%s", c1, c2, a, b)
		}
		s := whole.State()
		_ = s.EVE()
		for _, name := range []string{"tls.sni", "tls.cert_subject", "tls.cert_issuer", "tls.cert_serial", "tls.cert_fingerprint", "ja3.hash", "ja3.string", "ja3s.hash", "ja3s.string", "tls.version"} {
			_, _ = s.Buffer(name)
		}
		_ = Probe(ToServer, client)
		_ = Probe(ToClient, server)
	})
}
