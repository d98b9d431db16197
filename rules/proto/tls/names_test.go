package tls

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tapwatch/tapwatch/test/testutil"
)

func TestCertNames(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(9),
		Subject:   pkix.Name{Organization: []string{"lab"}, CommonName: "web.lab.example"},
		DNSNames:  []string{"web.lab.example", "www.lab.example"},
		NotBefore: notBefore, NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
	if err != nil {
		t.Fatal(err)
	}
	cn, dns := certNames(der)
	if cn != "web.lab.example" || !slices.Equal(dns, []string{"web.lab.example", "www.lab.example"}) {
		t.Errorf("certNames = %q %q", cn, dns)
	}
	// Through the parser, as the engine sees it.
	p := run(t, nil, record(recHandshake, 0x0303, handshake(hsCertificate, certificateMsg(der))))
	if s := p.State(); s.CertCommonName != "web.lab.example" || len(s.CertDNSNames) != 2 {
		t.Errorf("state names %q %q", s.CertCommonName, s.CertDNSNames)
	}
	// Cut anywhere, the walk stops cleanly and keeps what came before.
	for i := range der {
		certNames(der[:i])
	}
	// No subjectAltName: the CN alone.
	sub := pkix.RDNSequence{rdn(atv(oidC, "US")), rdn(atv(oidCN, "only-cn.test"))}
	if cn, dns := certNames(makeCert(t, big.NewInt(3), sub, sub, notBefore, notAfter)); cn != "only-cn.test" || dns != nil {
		t.Errorf("CN only: %q %q", cn, dns)
	}
}

// TestCorpusCertNamesMatchX509 compares the names the DER walk reads from
// every leaf certificate in the corpus with what crypto/x509 reads, where
// crypto/x509 accepts the certificate.
func TestCorpusCertNamesMatchX509(t *testing.T) {
	testutil.SkipIfShort(t, "the walk of the corpus captures")
	root := testutil.CorpusPath(t, "pcaps")
	leaves, compared := 0, 0
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".pcap") {
			return err
		}
		for _, s := range parseFlows(t, path) {
			if len(s.Certs) == 0 {
				continue
			}
			leaves++
			c, err := x509.ParseCertificate(s.Certs[0])
			if err != nil {
				continue
			}
			compared++
			want := c.DNSNames
			if len(want) > maxDNSNames {
				want = want[:maxDNSNames]
			}
			if s.CertCommonName != c.Subject.CommonName || !slices.Equal(s.CertDNSNames, want) {
				t.Errorf("%s: names %q %q, crypto/x509 reads %q %q", path, s.CertCommonName, s.CertDNSNames, c.Subject.CommonName, want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d leaf certificates, %d compared with crypto/x509", leaves, compared)
	if compared < 20 {
		t.Errorf("only %d certificates compared", compared)
	}
}
