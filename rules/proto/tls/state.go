package tls

import (
	"strconv"
	"time"
)

// Buffer slots, kept as bytes so Buffer hands the engine slices without
// converting strings on every inspection.
const (
	bufSNI = iota
	bufSubject
	bufIssuer
	bufSerial
	bufFingerprint
	bufJA3Hash
	bufJA3String
	bufJA3SHash
	bufJA3SString
	numBufs
)

// State is what a connection's handshake revealed. Fields are filled as the
// messages arrive; the Done flags say which messages were seen.
type State struct {
	// ClientVersion is the ClientHello's legacy version (SSLv2 hellos
	// included); ClientVersions its supported_versions list, GREASE
	// removed. ServerVersion is the negotiated version: supported_versions
	// from the ServerHello when present (TLS 1.3), else its legacy version.
	ClientVersion  uint16
	ClientVersions []uint16
	ServerVersion  uint16
	ClientCiphers  []uint16
	CipherSuite    uint16 // chosen by the server
	SNI            []byte

	JA3String, JA3Hash   string
	JA3SString, JA3SHash string

	// Leaf certificate fields, formatted as Suricata prints them.
	CertSubject, CertIssuer, CertSerial, CertFingerprint string
	NotBefore, NotAfter                                  time.Time
	// CertCommonName and CertDNSNames are the names the leaf certificate
	// is for: its subject's CN and its subjectAltName dNSName entries (at
	// most 16), read best effort for a host's profile, not for rules.
	CertCommonName string
	CertDNSNames   []string
	// Certs is the server's chain as sent, leaf first (DER, copied).
	Certs [][]byte
	// CertError says why the leaf could not be fully read, if it could not.
	CertError error

	ClientHelloDone, ServerHelloDone, CertDone bool
	// SSLv2 is set when the client used the SSLv2 record format.
	SSLv2 bool
	// Encrypted is set once the server sent application data.
	Encrypted bool
	Anomalies Anomaly

	serverRecordVersion uint16
	bufs                [numBufs][]byte
}

func (s *State) setBuf(i int, b []byte) { s.bufs[i] = b }

// Version returns the version Suricata logs and the tls.version keyword
// compares: the server's negotiated version, else the version of the
// server's first record, else 0 (undetermined).
func (s *State) Version() uint16 {
	if s.ServerVersion != 0 {
		return s.ServerVersion
	}
	return s.serverRecordVersion
}

// Buffer returns an inspection buffer by the engine's name: tls.sni,
// tls.cert_subject (alias tls.subject), tls.cert_issuer (alias
// tls.issuerdn), tls.cert_serial, tls.cert_fingerprint (alias
// tls.fingerprint), tls.version, ja3.hash, ja3.string, ja3s.hash,
// ja3s.string; the underscore spellings Suricata still accepts work too.
// The second result is false when the connection has not (yet) supplied it.
func (s *State) Buffer(name string) ([]byte, bool) {
	i := -1
	switch name {
	case "tls.sni", "tls_sni":
		i = bufSNI
	case "tls.cert_subject", "tls.subject", "tls_cert_subject":
		i = bufSubject
	case "tls.cert_issuer", "tls.issuerdn", "tls_cert_issuer":
		i = bufIssuer
	case "tls.cert_serial", "tls_cert_serial":
		i = bufSerial
	case "tls.cert_fingerprint", "tls.fingerprint", "tls_cert_fingerprint":
		i = bufFingerprint
	case "ja3.hash", "ja3_hash":
		i = bufJA3Hash
	case "ja3.string", "ja3_string":
		i = bufJA3String
	case "ja3s.hash", "ja3s_hash":
		i = bufJA3SHash
	case "ja3s.string", "ja3s_string":
		i = bufJA3SString
	case "tls.version":
		if v := s.Version(); v != 0 {
			return []byte(VersionString(v)), true
		}
		return nil, false
	}
	if i < 0 || s.bufs[i] == nil {
		return nil, false
	}
	return s.bufs[i], true
}

// CertBuffers returns the tls.certs multi-buffer: every certificate of the
// chain as DER.
func (s *State) CertBuffers() [][]byte { return s.Certs }

// VersionString names a protocol version as Suricata's EVE does; versions
// it does not know are printed in decimal, 0 is "UNDETERMINED".
func VersionString(v uint16) string {
	switch v {
	case 0:
		return "UNDETERMINED"
	case 0x0200:
		return "SSLv2"
	case 0x0300:
		return "SSLv3"
	case 0x0301:
		return "TLSv1"
	case 0x0302:
		return "TLS 1.1"
	case 0x0303:
		return "TLS 1.2"
	case 0x0304:
		return "TLS 1.3"
	case 0x7f01:
		return "TLS 1.3 draft-<16"
	case 0xfb14, 0xfb15, 0xfb16, 0xfb17, 0xfb1a:
		return "TLS 1.3 draft-" + strconv.Itoa(int(v&0xff)) + "-fb"
	}
	if v >= 0x7f10 && v <= 0x7f1c {
		return "TLS 1.3 draft-" + strconv.Itoa(int(v&0xff))
	}
	return strconv.Itoa(int(v))
}

// timeLayout is how Suricata's EVE prints notbefore/notafter.
const timeLayout = "2006-01-02T15:04:05"

// EVE returns Suricata's EVE "tls" object: subject, issuerdn, serial,
// fingerprint, sni, version, notbefore, notafter, ja3 and ja3s, each present
// only when the handshake supplied it (version always).
func (s *State) EVE() map[string]any {
	o := map[string]any{"version": VersionString(s.Version())}
	if s.bufs[bufSubject] != nil {
		o["subject"] = s.CertSubject
	}
	if s.bufs[bufIssuer] != nil {
		o["issuerdn"] = s.CertIssuer
	}
	if s.bufs[bufSerial] != nil {
		o["serial"] = s.CertSerial
	}
	if s.bufs[bufFingerprint] != nil {
		o["fingerprint"] = s.CertFingerprint
	}
	if s.SNI != nil {
		o["sni"] = string(s.SNI)
	}
	if !s.NotBefore.IsZero() {
		o["notbefore"] = s.NotBefore.UTC().Format(timeLayout)
	}
	if !s.NotAfter.IsZero() {
		o["notafter"] = s.NotAfter.UTC().Format(timeLayout)
	}
	if s.JA3Hash != "" {
		o["ja3"] = map[string]any{"hash": s.JA3Hash, "string": s.JA3String}
	}
	if s.JA3SHash != "" {
		o["ja3s"] = map[string]any{"hash": s.JA3SHash, "string": s.JA3SString}
	}
	return o
}
