package tls

import "bytes"

// maxDNSNames bounds the subjectAltName dNSName entries kept from a
// certificate: some carry thousands, and what reads them (a VM's profile)
// wants a few.
const maxDNSNames = 16

// OIDs the name walk looks for, as DER content octets.
var (
	oidCommonName     = []byte{0x55, 0x04, 0x03}
	oidSubjectAltName = []byte{0x55, 0x1d, 0x11}
)

// certNames reads the names a certificate is for: the subject's common
// name (the last one, the most specific, when there are several) and the
// subjectAltName extension's dNSName entries. It is best effort and apart
// from parseCert, which Suricata's buffers depend on: a certificate whose
// extensions do not parse keeps its common name, and nothing here records
// an anomaly.
func certNames(der []byte) (cn string, dns []string) {
	var short error
	cert, err := openClamped(der, "certificate", &short)
	if err != nil {
		return "", nil
	}
	b, err := openClamped(cert, "tbsCertificate", &short)
	if err != nil {
		return "", nil
	}
	if len(b) > 0 && b[0] == 0xa0 { // [0] EXPLICIT version
		if _, b, err = next(b); err != nil {
			return "", nil
		}
	}
	// serialNumber, signature, issuer, validity.
	for range 4 {
		if _, b, err = next(b); err != nil {
			return "", nil
		}
	}
	subject, b, err := expect(b, 0x30, "subject")
	if err != nil {
		return "", nil
	}
	cn = commonName(subject.body)
	if _, b, err = expect(b, 0x30, "subjectPublicKeyInfo"); err != nil {
		return cn, nil
	}
	for len(b) > 0 {
		var t tlv
		if t, b, err = next(b); err != nil {
			return cn, dns
		}
		if t.tag == 0xa3 { // [3] EXPLICIT extensions
			return cn, sanDNSNames(t.body)
		}
	}
	return cn, nil
}

// commonName returns the last CN attribute of an RDNSequence's content.
func commonName(b []byte) string {
	var cn []byte
	for len(b) > 0 {
		set, rest, err := expect(b, 0x31, "RDN")
		if err != nil {
			break
		}
		b = rest
		for s := set.body; len(s) > 0; {
			atv, rest, err := expect(s, 0x30, "attribute")
			if err != nil {
				break
			}
			s = rest
			oid, val, err := expect(atv.body, 0x06, "attribute type")
			if err != nil || !bytes.Equal(oid.body, oidCommonName) {
				continue
			}
			if v, _, err := next(val); err == nil {
				cn = v.body
			}
		}
	}
	return string(cn)
}

// sanDNSNames returns the dNSName entries of the subjectAltName extension
// in an [3] extensions field's content.
func sanDNSNames(b []byte) []string {
	exts, _, err := expect(b, 0x30, "extensions")
	if err != nil {
		return nil
	}
	for s := exts.body; len(s) > 0; {
		ext, rest, err := expect(s, 0x30, "extension")
		if err != nil {
			return nil
		}
		s = rest
		oid, v, err := expect(ext.body, 0x06, "extnID")
		if err != nil || !bytes.Equal(oid.body, oidSubjectAltName) {
			continue
		}
		if len(v) > 0 && v[0] == 0x01 { // critical BOOLEAN
			if _, v, err = next(v); err != nil {
				return nil
			}
		}
		val, _, err := expect(v, 0x04, "extnValue")
		if err != nil {
			return nil
		}
		names, _, err := expect(val.body, 0x30, "GeneralNames")
		if err != nil {
			return nil
		}
		var out []string
		for g := names.body; len(g) > 0 && len(out) < maxDNSNames; {
			gn, rest, err := next(g)
			if err != nil {
				break
			}
			g = rest
			if gn.tag == 0x82 && len(gn.body) > 0 { // [2] IMPLICIT IA5String dNSName
				out = append(out, string(gn.body))
			}
		}
		return out
	}
	return nil
}
