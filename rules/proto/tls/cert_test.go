package tls

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tapwatch/tapwatch/test/testutil"
)

// render formats an RDNSequence decoded by encoding/asn1 the way nameString
// should, as an independent check of the DER walker.
func render(seq pkix.RDNSequence) string {
	var rdns []string
	for _, set := range seq {
		var atvs []string
		for _, a := range set {
			oid := asn1.ObjectIdentifier(a.Type)
			der, _ := asn1.Marshal(oid)
			name, ok := attrName(string(der[2:]))
			if !ok {
				name = oid.String()
			}
			atvs = append(atvs, name+"="+fmt.Sprint(a.Value))
		}
		rdns = append(rdns, strings.Join(atvs, " + "))
	}
	return strings.Join(rdns, ", ")
}

// TestCorpusCertsAgainstX509 checks every certificate the corpus' TLS flows
// carry: where crypto/x509 can parse one, our subject, issuer, serial and
// validity must agree with it.
func TestCorpusCertsAgainstX509(t *testing.T) {
	root := testutil.Corpus(t)
	var checked, x509Rejects, ours int
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if ext := filepath.Ext(path); ext != ".pcap" && ext != ".pcapng" {
			return nil
		}
		for _, s := range parseFlows(t, path) {
			for i, der := range s.Certs {
				var f certFields
				perr := parseCert(der, &f)
				if perr == nil {
					ours++
				}
				c, err := x509.ParseCertificate(der)
				if err != nil {
					x509Rejects++
					continue
				}
				checked++
				var sub, iss pkix.RDNSequence
				if _, err := asn1.Unmarshal(c.RawSubject, &sub); err != nil {
					continue
				}
				if _, err := asn1.Unmarshal(c.RawIssuer, &iss); err != nil {
					continue
				}
				where := fmt.Sprintf("%s cert %d", filepath.Base(path), i)
				if perr != nil {
					t.Errorf("%s: x509 parses it, we fail: %v", where, perr)
					continue
				}
				if want := render(sub); f.subject != want {
					t.Errorf("%s: subject\n got %q\nwant %q", where, f.subject, want)
				}
				if want := render(iss); f.issuer != want {
					t.Errorf("%s: issuer\n got %q\nwant %q", where, f.issuer, want)
				}
				if !f.notBefore.Equal(c.NotBefore) || !f.notAfter.Equal(c.NotAfter) {
					t.Errorf("%s: validity %v..%v, x509 %v..%v", where, f.notBefore, f.notAfter, c.NotBefore, c.NotAfter)
				}
				if c.SerialNumber.Sign() > 0 {
					want := serialString(c.SerialNumber.Bytes())
					if got := strings.TrimPrefix(f.serial, "00:"); got != want {
						t.Errorf("%s: serial %q, x509 %q", where, f.serial, want)
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("certificates: %d compared with crypto/x509, %d rejected by crypto/x509, %d fully walked by us", checked, x509Rejects, ours)
	if checked == 0 {
		t.Fatal("no certificates compared")
	}
}
