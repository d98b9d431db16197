package keyword

import (
	"fmt"
	"strconv"
	"strings"
)

// base64DecodeMax is how many encoded bytes base64_decode reads when its
// bytes option is absent or 0 (Suricata's BASE64_DECODE_MAX).
const base64DecodeMax = 65535

// Base64Decode is base64_decode's parameters: decode at most Bytes encoded
// bytes starting Offset bytes after the buffer's start or, with Relative,
// after the previous match. The ops after the base64_data that follows
// inspect the result (base64_data.go, inspectBase64 in inspect.go).
type Base64Decode struct {
	Bytes    int
	Offset   int
	Relative bool
}

func init() {
	Register(Keyword{Name: "base64_decode", Apply: applyBase64Decode})
}

// parseBase64Decode reads `[bytes N] [offset N] [relative]`, the options
// separated by commas or spaces; no value means the defaults.
func parseBase64Decode(arg string) (Base64Decode, error) {
	d := Base64Decode{Bytes: base64DecodeMax}
	f := strings.FieldsFunc(arg, func(r rune) bool {
		return r == ',' || r == ' ' || r == '\t'
	})
	seen := map[string]bool{}
	for i := 0; i < len(f); i++ {
		name := f[i]
		if seen[name] {
			return d, fmt.Errorf("%s given twice", name)
		}
		seen[name] = true
		switch name {
		case "relative":
			d.Relative = true
		case "bytes", "offset":
			if i+1 == len(f) {
				return d, fmt.Errorf("%s needs a number", name)
			}
			i++
			n, err := strconv.ParseUint(f[i], 10, 32)
			if err != nil {
				return d, fmt.Errorf("%s %q: want a number from 0 to 4294967295", name, f[i])
			}
			if name == "offset" {
				d.Offset = int(n)
			} else if n > 0 {
				// bytes 0 means the default, as in Suricata.
				d.Bytes = int(n)
			}
		default:
			return d, fmt.Errorf("unknown option %q: use bytes N, offset N, relative", name)
		}
	}
	return d, nil
}

func applyBase64Decode(s *Sig, arg string) error {
	d, err := parseBase64Decode(arg)
	if err != nil {
		return err
	}
	if s.inBase64Data() {
		return unsupported("base64_decode after base64_data (decoding decoded data)")
	}
	// Without a sticky buffer Suricata puts base64_decode in the buffer of
	// the last content, pcre, byte_* or isdataat, relative or not.
	last := s.lastBuf
	o := s.addOp(Op{Kind: OpBase64Decode, B64: &d, Relative: d.Relative,
		Offset: Num{Var: noVar}, Depth: Num{Var: noVar}, Distance: Num{Var: noVar}, Within: Num{Var: noVar}})
	if !s.curSet && last >= 0 {
		o.Buf = s.Ops[last].Buf
	}
	return nil
}

// decode appends to dst what d decodes from buf, whose previous match
// ended at cursor, and returns it.
func (d *Base64Decode) decode(dst, buf []byte, cursor int) []byte {
	src := buf
	if d.Relative {
		if cursor > len(src) {
			return dst
		}
		src = src[cursor:]
	}
	if d.Offset > 0 {
		if d.Offset >= len(src) {
			return dst
		}
		src = src[d.Offset:]
	}
	if len(src) > d.Bytes {
		src = src[:d.Bytes]
	}
	return decodeBase64(dst, src)
}

// b64Value maps a byte to its value in the standard base64 alphabet, or
// to 0xff.
var b64Value = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := 0; i < len(alphabet); i++ {
		t[alphabet[i]] = byte(i)
	}
	return t
}()

// decodeBase64 appends to dst the decoding of src as Suricata's
// base64_decode does it (DecodeBase64 in RFC 4648 mode, not strict):
//   - decoding stops at the first byte that is neither in the alphabet nor
//     '=', and keeps what came before;
//   - '=' counts as a 0 digit and as padding wherever it is: a group of
//     four yields 3 bytes less one per '=' (at least 0), and decoding
//     goes on after it;
//   - a last group of 1, 2 or 3 digits yields 1, 1 or 2 bytes.
func decodeBase64(dst, src []byte) []byte {
	var q [4]byte
	n, pad := 0, 0
	for _, c := range src {
		v := b64Value[c]
		if v == 0xff {
			if c != '=' {
				break
			}
			v = 0
			pad++
		}
		q[n] = v
		n++
		if n == 4 {
			dst = appendGroup(dst, q, 3-min(pad, 3))
			q, n, pad = [4]byte{}, 0, 0
		}
	}
	switch n {
	case 1, 2:
		dst = appendGroup(dst, q, 1)
	case 3:
		dst = appendGroup(dst, q, 2)
	}
	return dst
}

// appendGroup appends the first k of the 3 bytes four base64 digits hold.
func appendGroup(dst []byte, q [4]byte, k int) []byte {
	b := [3]byte{q[0]<<2 | q[1]>>4, q[1]<<4 | q[2]>>2, q[2]<<6 | q[3]}
	return append(dst, b[:k]...)
}
