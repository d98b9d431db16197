package keyword

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
)

// legacyValue lists the TLS sticky names that Suricata also accepts in
// their older value form (tls.subject:"CN=x"), which ET Open and
// suricata-verify rules still use.
var legacyValue = map[string]bool{
	"tls.subject": true, "tls.issuerdn": true, "tls.fingerprint": true,
}

func init() {
	for n := range legacyValue {
		b, _ := BufferByName(n)
		// Fingerprints are hex: Suricata lower-cases the rule's value, so
		// any case matches.
		Register(Keyword{Name: n, Apply: legacyValueApply(b, n == "tls.fingerprint")})
	}
	Register(Keyword{Name: "tls.version", Apply: applyTLSVersion})
}

// legacyValueApply handles `tls.subject` (sticky, no value) and
// `tls.subject:[!]"value"` (a substring test on that buffer that leaves
// the sticky buffer of later contents alone).
func legacyValueApply(b Buffer, nocase bool) func(*Sig, string) error {
	sticky := stickyApply(b)
	return func(s *Sig, arg string) error {
		a := strings.TrimSpace(arg)
		if a == "" {
			return sticky(s, "")
		}
		neg := false
		if strings.HasPrefix(a, "!") {
			neg, a = true, strings.TrimSpace(a[1:])
		}
		if len(a) >= 2 && a[0] == '"' && a[len(a)-1] == '"' {
			a = a[1 : len(a)-1]
		}
		if a == "" {
			return fmt.Errorf("empty value")
		}
		cur, curSet := s.cur, s.curSet
		s.setSticky(b)
		s.addOp(Op{Kind: OpContent, Pat: []byte(a), Negated: neg, Nocase: nocase,
			Offset: Num{Var: noVar}, Depth: Num{Var: noVar}, Distance: Num{Var: noVar}, Within: Num{Var: noVar}})
		s.cur, s.curSet = cur, curSet
		return nil
	}
}

// TLSVersionBytes encodes v as the tls.version buffer: the version with
// TLS 1.3 drafts (0x7fxx) counted as TLS 1.3, as tls.version:1.3 matches
// them, then the version as sent, which the raw form (tls.version:0x7f1c)
// compares.
func TLSVersionBytes(v uint16, dst []byte) []byte {
	m := v
	if v>>8 == 0x7f {
		m = 0x0304
	}
	return binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint16(dst[:0], m), v)
}

// applyTLSVersion parses `tls.version:1.2` (1.0, 1.1, 1.2, 1.3, optionally
// quoted, as Suricata takes them, plus ssl3/3.0 and sslv2) or the raw form
// `tls.version:0x0303` into a two-byte equality test on the tls.version
// buffer. The packet direction picks the side: the client's hello version
// toward the server, the server's toward the client.
func applyTLSVersion(s *Sig, arg string) error {
	a := strings.ToLower(strings.Trim(strings.TrimSpace(arg), `"`))
	var v uint64
	off := int64(0)
	switch a {
	case "1.0":
		v = 0x0301
	case "1.1":
		v = 0x0302
	case "1.2":
		v = 0x0303
	case "1.3":
		v = 0x0304
	case "3.0", "ssl3", "sslv3":
		v = 0x0300
	case "2.0", "sslv2":
		v = 0x0200
	default:
		n, err := strconv.ParseUint(a, 0, 16)
		if err != nil || !strings.HasPrefix(a, "0x") {
			return fmt.Errorf("version %q: use 1.0, 1.1, 1.2, 1.3 or a raw 0xNNNN", arg)
		}
		v, off = n, 2 // raw: compared as sent, drafts included
	}
	b, _ := BufferByName("tls.version")
	cur, curSet := s.cur, s.curSet
	s.setSticky(b)
	s.addOp(Op{Kind: OpByteTest, Byte: &ByteOp{Bytes: 2, BytesVar: noVar, Cmp: '=',
		Value: Num{V: int64(v), Var: noVar}, Offset: Num{V: off, Var: noVar}}})
	s.cur, s.curSet = cur, curSet
	return nil
}
