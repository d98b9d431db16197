package keyword

import (
	"encoding/binary"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Suricata's certificate validity keywords: tls_cert_notbefore and
// tls_cert_notafter compare the leaf certificate's dates with a date or
// range; tls_cert_expired and tls_cert_valid compare notAfter with the
// packet's time. They become byte tests on the tls.validity buffer, which
// the engine fills when the certificate arrived.

// Offsets in the tls.validity buffer.
const (
	validityNotBefore = 0
	validityNotAfter  = 8
	validityExpired   = 16
	validityValid     = 17
	// ValidityLen is the tls.validity buffer's size.
	ValidityLen = 18
)

func init() {
	Register(Keyword{Name: "tls_cert_notbefore", Aliases: []string{"tls.cert_notbefore"}, Apply: validityApply(validityNotBefore)})
	Register(Keyword{Name: "tls_cert_notafter", Aliases: []string{"tls.cert_notafter"}, Apply: validityApply(validityNotAfter)})
	Register(Keyword{Name: "tls_cert_expired", Aliases: []string{"tls.cert_expired"}, Apply: validityFlagApply(validityExpired)})
	Register(Keyword{Name: "tls_cert_valid", Aliases: []string{"tls.cert_valid"}, Apply: validityFlagApply(validityValid)})
}

// TLSValidityBytes encodes the tls.validity buffer for a certificate valid
// from notBefore to notAfter, seen at now (Suricata: expired when now is
// past notAfter, valid otherwise).
func TLSValidityBytes(notBefore, notAfter, now time.Time, dst []byte) []byte {
	b := binary.BigEndian.AppendUint64(dst[:0], uint64(notBefore.Unix()))
	b = binary.BigEndian.AppendUint64(b, uint64(notAfter.Unix()))
	expired := now.Unix() > notAfter.Unix()
	return append(b, boolByte(expired), boolByte(!expired))
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

// validityRe is Suricata's syntax: [<|>]date or date<>date.
var validityRe = regexp.MustCompile(`^\s*(<|>)?\s*([ -:TW0-9]+?)\s*(?:(<>)\s*([ -:TW0-9]+?))?\s*$`)

// dateLayouts are the forms Suricata's DateStringToEpoch accepts, in UTC.
var dateLayouts = []string{"2006-01", "2006-01-02", "2006-01-02 15", "2006-01-02 15:04",
	"2006-01-02 15:04:05", "2006-01-02T15", "2006-01-02T15:04", "2006-01-02T15:04:05"}

// parseEpoch reads a date in one of dateLayouts, or Unix seconds.
func parseEpoch(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && !strings.HasPrefix(s, "-") {
		return n, nil
	}
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.Unix(), nil
		}
	}
	return 0, fmt.Errorf("date %q: use YYYY-MM-DD[THH:MM:SS] or Unix seconds", s)
}

func validityApply(off int64) func(*Sig, string) error {
	return func(s *Sig, arg string) error {
		m := validityRe.FindStringSubmatch(arg)
		if m == nil {
			return fmt.Errorf("want [<|>]DATE or DATE<>DATE, got %q", arg)
		}
		if m[1] != "" && m[3] != "" {
			return fmt.Errorf("a range takes no < or >")
		}
		v1, err := parseEpoch(m[2])
		if err != nil {
			return err
		}
		test := func(cmp byte, v int64) {
			s.addValidityOp(&ByteOp{Bytes: 8, BytesVar: noVar, Cmp: cmp,
				Value: Num{V: v, Var: noVar}, Offset: Num{V: off, Var: noVar}})
		}
		switch {
		case m[3] != "":
			v2, err := parseEpoch(m[4])
			if err != nil {
				return err
			}
			if v2 <= v1 {
				return fmt.Errorf("the range's second date must be later than the first")
			}
			test('g', v1)
			test('l', v2)
		case m[1] == "<":
			test('l', v1) // Suricata's < and > include the date itself
		case m[1] == ">":
			test('g', v1)
		default:
			test('=', v1)
		}
		return nil
	}
}

func validityFlagApply(off int64) func(*Sig, string) error {
	return func(s *Sig, arg string) error {
		if strings.TrimSpace(arg) != "" {
			return fmt.Errorf("takes no value")
		}
		s.addValidityOp(&ByteOp{Bytes: 1, BytesVar: noVar, Cmp: '=',
			Value: Num{V: 1, Var: noVar}, Offset: Num{V: off, Var: noVar}})
		return nil
	}
}

// addValidityOp appends a test on the tls.validity buffer without changing
// the sticky buffer of later contents.
func (s *Sig) addValidityOp(b *ByteOp) {
	buf, _ := BufferByName("tls.validity")
	cur, curSet := s.cur, s.curSet
	s.setSticky(buf)
	s.addOp(Op{Kind: OpByteTest, Byte: b})
	s.cur, s.curSet = cur, curSet
}
