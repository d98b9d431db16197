package tls

import (
	"crypto/sha1"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
)

// errDER is wrapped by every certificate walking error.
var errDER = errors.New("tls: malformed certificate DER")

// tlv is one DER element.
type tlv struct {
	tag  byte // the identifier octet (class, constructed bit, number)
	body []byte
}

// next reads the DER element at the front of b. Only single-octet tags are
// needed for certificates; lengths up to four octets are accepted.
func next(b []byte) (tlv, []byte, error) {
	if len(b) < 2 {
		return tlv{}, nil, fmt.Errorf("element header: %w", errDER)
	}
	tag := b[0]
	if tag&0x1f == 0x1f {
		return tlv{}, nil, fmt.Errorf("multi-octet tag: %w", errDER)
	}
	l := int(b[1])
	b = b[2:]
	if l&0x80 != 0 {
		n := l & 0x7f
		if n == 0 || n > 4 || len(b) < n {
			return tlv{}, nil, fmt.Errorf("length of %d octets: %w", n, errDER)
		}
		l = 0
		for _, c := range b[:n] {
			l = l<<8 | int(c)
		}
		b = b[n:]
	}
	if l < 0 || l > len(b) {
		return tlv{}, nil, fmt.Errorf("element of %d bytes, %d left: %w", l, len(b), errDER)
	}
	return tlv{tag: tag, body: b[:l]}, b[l:], nil
}

func expect(b []byte, tag byte, what string) (tlv, []byte, error) {
	t, rest, err := next(b)
	if err != nil {
		return t, rest, fmt.Errorf("%s: %w", what, err)
	}
	if t.tag != tag {
		return t, rest, fmt.Errorf("%s: tag %#x, want %#x: %w", what, t.tag, tag, errDER)
	}
	return t, rest, nil
}

// certFields is what the tls buffers need from a certificate.
type certFields struct {
	subject, issuer string
	serial          string
	notBefore       time.Time
	notAfter        time.Time
	hasSubject      bool
	hasIssuer       bool
	hasSerial       bool
}

// parseCert walks the TBSCertificate as far as the subject. It fills f with
// every field it reached, so a certificate broken after its serial still
// yields the serial.
func parseCert(der []byte, f *certFields) error {
	// The two outer SEQUENCEs are opened leniently: a certificate cut short
	// (or with a lying outer length) still has readable leading fields, and
	// Suricata-style fallback wants them.
	var short error
	cert, err := openClamped(der, "certificate", &short)
	if err != nil {
		return err
	}
	tbs, err := openClamped(cert, "tbsCertificate", &short)
	if err != nil {
		return err
	}
	if err := walkTBS(tbs, f); err != nil {
		return err
	}
	return short
}

// openClamped reads a SEQUENCE header and returns its body, cut to the bytes
// present when the length claims more; short records that it did.
func openClamped(b []byte, what string, short *error) ([]byte, error) {
	if len(b) < 2 || b[0] != 0x30 {
		return nil, fmt.Errorf("%s: not a SEQUENCE: %w", what, errDER)
	}
	l := int(b[1])
	b = b[2:]
	if l&0x80 != 0 {
		n := l & 0x7f
		if n == 0 || n > 4 || len(b) < n {
			return nil, fmt.Errorf("%s: length of %d octets: %w", what, n, errDER)
		}
		l = 0
		for _, c := range b[:n] {
			l = l<<8 | int(c)
		}
		b = b[n:]
	}
	if l > len(b) || l < 0 {
		if *short == nil {
			*short = fmt.Errorf("%s: %d bytes announced, %d present: %w", what, l, len(b), errDER)
		}
		return b, nil
	}
	return b[:l], nil
}

func walkTBS(b []byte, f *certFields) error {
	var err error
	if len(b) > 0 && b[0] == 0xa0 { // [0] EXPLICIT version
		if _, b, err = next(b); err != nil {
			return fmt.Errorf("version: %w", err)
		}
	}
	serial, b, err := expect(b, 0x02, "serialNumber")
	if err != nil {
		return err
	}
	f.serial, f.hasSerial = serialString(serial.body), true
	if _, b, err = expect(b, 0x30, "signature"); err != nil {
		return err
	}
	issuer, b, err := expect(b, 0x30, "issuer")
	if err != nil {
		return err
	}
	if f.issuer, err = nameString(issuer.body); err != nil {
		return fmt.Errorf("issuer: %w", err)
	}
	f.hasIssuer = true
	validity, b, err := expect(b, 0x30, "validity")
	if err != nil {
		return err
	}
	nb, rest, err := next(validity.body)
	if err != nil {
		return fmt.Errorf("notBefore: %w", err)
	}
	na, _, err := next(rest)
	if err != nil {
		return fmt.Errorf("notAfter: %w", err)
	}
	if f.notBefore, err = derTime(nb); err != nil {
		return fmt.Errorf("notBefore: %w", err)
	}
	if f.notAfter, err = derTime(na); err != nil {
		return fmt.Errorf("notAfter: %w", err)
	}
	subject, _, err := expect(b, 0x30, "subject")
	if err != nil {
		return err
	}
	if f.subject, err = nameString(subject.body); err != nil {
		return fmt.Errorf("subject: %w", err)
	}
	f.hasSubject = true
	return nil
}

// derTime reads a UTCTime or GeneralizedTime (RFC 5280 forms, seconds
// optional for leniency, fractional seconds ignored).
func derTime(t tlv) (time.Time, error) {
	s := string(t.body)
	var layouts []string
	switch t.tag {
	case 0x17: // UTCTime
		layouts = []string{"060102150405Z0700", "0601021504Z0700"}
	case 0x18: // GeneralizedTime
		layouts = []string{"20060102150405Z0700", "20060102150405.999999999Z0700"}
	default:
		return time.Time{}, fmt.Errorf("time tag %#x: %w", t.tag, errDER)
	}
	for _, l := range layouts {
		if tm, err := time.Parse(l, s); err == nil {
			// RFC 5280: UTCTime years 50-99 are 19xx; Go maps 69-99 only.
			if t.tag == 0x17 && tm.Year() >= 2050 {
				tm = tm.AddDate(-100, 0, 0)
			}
			return tm.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("time %q: %w", s, errDER)
}

// serialString renders the serial's content octets (a leading zero octet
// included) as Suricata does: upper-case hex bytes joined by ':'.
func serialString(b []byte) string {
	const digits = "0123456789ABCDEF"
	var sb strings.Builder
	sb.Grow(3 * len(b))
	for i, c := range b {
		if i > 0 {
			sb.WriteByte(':')
		}
		sb.WriteByte(digits[c>>4])
		sb.WriteByte(digits[c&0xf])
	}
	return sb.String()
}

// fingerprint is the SHA-1 of the DER as lower-case hex bytes joined by ':'.
func fingerprint(der []byte) string {
	const digits = "0123456789abcdef"
	sum := sha1.Sum(der)
	var out [59]byte
	n := 0
	for i, c := range sum {
		if i > 0 {
			out[n] = ':'
			n++
		}
		out[n], out[n+1] = digits[c>>4], digits[c&0xf]
		n += 2
	}
	return string(out[:n])
}

// attrName returns the abbreviation Suricata prints for an attribute type
// (x509-parser's, whose X509Name Display Suricata logs), by the OID's DER
// content octets.
func attrName(oid string) (string, bool) {
	switch oid {
	case "\x55\x04\x03":
		return "CN", true
	case "\x55\x04\x06":
		return "C", true
	case "\x55\x04\x07":
		return "L", true
	case "\x55\x04\x08":
		return "ST", true
	case "\x55\x04\x0a":
		return "O", true
	case "\x55\x04\x0b":
		return "OU", true
	case "\x2a\x86\x48\x86\xf7\x0d\x01\x09\x01":
		return "Email", true
	case "\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x19":
		return "DC", true
	case "\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x01":
		return "UID", true
	case "\x55\x04\x04":
		return "surname", true
	case "\x55\x04\x05":
		return "serialNumber", true
	case "\x55\x04\x09":
		return "street", true
	case "\x55\x04\x0c":
		return "title", true
	case "\x55\x04\x0d":
		return "description", true
	case "\x55\x04\x0f":
		return "businessCategory", true
	case "\x55\x04\x11":
		return "postalCode", true
	case "\x55\x04\x29":
		return "name", true
	case "\x55\x04\x2a":
		return "givenName", true
	case "\x55\x04\x2b":
		return "initials", true
	case "\x55\x04\x2c":
		return "generationQualifier", true
	case "\x55\x04\x2e":
		return "dnQualifier", true
	case "\x55\x04\x41":
		return "pseudonym", true
	case "\x2b\x06\x01\x04\x01\x82\x37\x3c\x02\x01\x01":
		return "jurisdictionL", true
	case "\x2b\x06\x01\x04\x01\x82\x37\x3c\x02\x01\x02":
		return "jurisdictionST", true
	case "\x2b\x06\x01\x04\x01\x82\x37\x3c\x02\x01\x03":
		return "jurisdictionC", true
	}
	return "", false
}

// nameString renders an RDNSequence's content as Suricata prints it: RDNs in
// certificate order joined by ", ", attributes within one RDN by " + ", each
// as ABBREV=value with the value's bytes unescaped (NULs included).
func nameString(b []byte) (string, error) {
	var sb strings.Builder
	firstRDN := true
	for len(b) > 0 {
		set, rest, err := expect(b, 0x31, "RDN")
		if err != nil {
			return sb.String(), err
		}
		b = rest
		if !firstRDN {
			sb.WriteString(", ")
		}
		firstRDN = false
		firstAttr := true
		for s := set.body; len(s) > 0; {
			atv, rest, err := expect(s, 0x30, "attribute")
			if err != nil {
				return sb.String(), err
			}
			s = rest
			oid, val, err := expect(atv.body, 0x06, "attribute type")
			if err != nil {
				return sb.String(), err
			}
			v, _, err := next(val)
			if err != nil {
				return sb.String(), fmt.Errorf("attribute value: %w", err)
			}
			if !firstAttr {
				sb.WriteString(" + ")
			}
			firstAttr = false
			if n, ok := attrName(string(oid.body)); ok {
				sb.WriteString(n)
			} else {
				sb.WriteString(oidString(oid.body))
			}
			sb.WriteByte('=')
			writeValue(&sb, v)
		}
	}
	return sb.String(), nil
}

// writeValue writes a DirectoryString-like value. Character strings are
// written as their bytes (BMPString decoded from UTF-16); anything else as
// hex, so a value never disappears from the rendered name.
func writeValue(sb *strings.Builder, v tlv) {
	switch v.tag {
	case 0x0c, 0x12, 0x13, 0x14, 0x15, 0x16, 0x19, 0x1a, 0x1b, 0x1c:
		sb.Write(v.body)
	case 0x1e: // BMPString
		u := make([]uint16, 0, len(v.body)/2)
		for i := 0; i+1 < len(v.body); i += 2 {
			u = append(u, uint16(v.body[i])<<8|uint16(v.body[i+1]))
		}
		sb.WriteString(string(utf16.Decode(u)))
	default:
		const digits = "0123456789abcdef"
		for _, c := range v.body {
			sb.WriteByte(digits[c>>4])
			sb.WriteByte(digits[c&0xf])
		}
	}
}

// oidString renders an OID's content octets in dotted decimal.
func oidString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	var sb strings.Builder
	var v uint64
	first := true
	for _, c := range b {
		if v > 1<<56 {
			return sb.String() + ".?"
		}
		v = v<<7 | uint64(c&0x7f)
		if c&0x80 != 0 {
			continue
		}
		if first {
			a := min(v/40, 2)
			sb.WriteString(strconv.FormatUint(a, 10))
			sb.WriteByte('.')
			sb.WriteString(strconv.FormatUint(v-40*a, 10))
			first = false
		} else {
			sb.WriteByte('.')
			sb.WriteString(strconv.FormatUint(v, 10))
		}
		v = 0
	}
	return sb.String()
}

// certificate reads a TLS (<= 1.2) Certificate message: the chain, and the
// leaf's fields for the tls.cert_* buffers.
func (s *State) certificate(body []byte) {
	s.CertDone = true
	r := reader{b: body}
	list := reader{b: r.bytes(int(uint32(r.u8())<<16 | uint32(r.u16())))}
	if r.bad {
		s.Anomalies |= AnomalyBadHandshake
		return
	}
	s.Certs = s.Certs[:0]
	for len(list.b) > 0 && len(s.Certs) < maxCerts {
		n := list.u8()<<16 | list.u16()
		der := list.bytes(n)
		if list.bad {
			s.Anomalies |= AnomalyBadHandshake
			break
		}
		s.Certs = append(s.Certs, append([]byte(nil), der...))
	}
	if len(s.Certs) == 0 {
		return
	}
	leaf := s.Certs[0]
	s.CertFingerprint = fingerprint(leaf)
	s.setBuf(bufFingerprint, []byte(s.CertFingerprint))
	var f certFields
	if err := parseCert(leaf, &f); err != nil {
		s.Anomalies |= AnomalyBadCertificate
		s.CertError = err
	}
	if f.hasSerial {
		s.CertSerial = f.serial
		s.setBuf(bufSerial, []byte(f.serial))
	}
	if f.hasIssuer {
		s.CertIssuer = f.issuer
		s.setBuf(bufIssuer, []byte(f.issuer))
	}
	if f.hasSubject {
		s.CertSubject = f.subject
		s.setBuf(bufSubject, []byte(f.subject))
	}
	s.NotBefore, s.NotAfter = f.notBefore, f.notAfter
	s.CertCommonName, s.CertDNSNames = certNames(leaf)
}
