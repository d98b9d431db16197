package keyword

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"
)

// ByteOp holds byte_test, byte_jump and byte_extract parameters.
type ByteOp struct {
	Bytes int
	// BytesVar names a byte_extract variable holding the count (byte_jump), or noVar.
	BytesVar   int8
	Offset     Num
	Relative   bool
	Little     bool
	String     bool
	Base       int // of a string; 0 as C's strtoull base 0 (0x hex, 0 octal, else decimal)
	Bitmask    uint64
	Multiplier int64
	Align      int
	// byte_test
	Cmp   byte // one of < > = ! & ^ and 'l' (<=), 'g' (>=)
	Not   bool
	Value Num
	// byte_jump
	FromBeginning bool
	FromEnd       bool
	PostOffset    int64
	// byte_extract
	VarIdx int
}

// parseByteOpts reads the trailing comma options shared by the byte_* keywords.
func (s *Sig) parseByteOpts(b *ByteOp, opts []string, kw string) error {
	b.Base = 10
	baseSet := false
	for _, o := range opts {
		o = strings.TrimSpace(o)
		name, val, _ := strings.Cut(o, " ")
		val = strings.TrimSpace(val)
		switch name {
		case "relative":
			b.Relative = true
		case "big":
		case "little":
			b.Little = true
		case "string":
			b.String = true
		case "hex":
			b.Base, baseSet = 16, true
		case "dec":
			b.Base, baseSet = 10, true
		case "oct":
			b.Base, baseSet = 8, true
		case "dce":
			b.Little = true
		case "align":
			b.Align = 4
			if val != "" {
				n, err := strconv.Atoi(val)
				if err != nil || (n != 2 && n != 4) {
					return fmt.Errorf("align %q: use 2 or 4", val)
				}
				b.Align = n
			}
		case "from_beginning":
			b.FromBeginning = true
		case "from_end":
			b.FromEnd = true
		case "multiplier":
			n, err := strconv.ParseInt(val, 0, 64)
			if err != nil || n <= 0 {
				return fmt.Errorf("multiplier %q must be a positive number", val)
			}
			b.Multiplier = n
		case "post_offset":
			n, err := strconv.ParseInt(val, 0, 64)
			if err != nil {
				return fmt.Errorf("post_offset %q must be a number", val)
			}
			b.PostOffset = n
		case "bitmask":
			n, err := strconv.ParseUint(val, 0, 64)
			if err != nil || n == 0 {
				return fmt.Errorf("bitmask %q must be a non-zero number", val)
			}
			b.Bitmask = n
		case "":
		default:
			return fmt.Errorf("%s: unknown option %q", kw, name)
		}
	}
	if b.String && !baseSet && !s.Snort3 && kw != "byte_extract" {
		// Suricata's byte_test and byte_jump leave the base unset and
		// read the string as C's strtoull does with base 0: 0x... is hex,
		// 0... octal, anything else decimal (byte_extract defaults to
		// decimal, as Snort 3 does for all three).
		b.Base = 0
	}
	max := 8
	if b.String {
		max = 23
	}
	min := 1
	if kw == "byte_jump" || kw == "byte_test" {
		// byte_jump:0 with post_offset moves the cursor without reading.
		// byte_test:0 with string reads the number written there however
		// long it is (Suricata documents http.content_len;
		// byte_test:0,>=,N,0,string,dec;); Suricata accepts 0 without
		// string too, where the value read is 0.
		min = 0
	}
	if b.BytesVar == noVar && (b.Bytes < min || b.Bytes > max) {
		return fmt.Errorf("%s: byte count %d out of range %d..%d", kw, b.Bytes, min, max)
	}
	return nil
}

// extractN reads n bytes at pos of buf and returns the value and how many
// bytes it took. With string it reads the number written there as
// Suricata does (strtoull on those n bytes, or up to the end of buf when n
// is 0), which may stop before n bytes.
func (b *ByteOp) extractN(buf []byte, pos, n int) (uint64, int, bool) {
	if pos < 0 || n < 0 || n > 23 || pos+n > len(buf) {
		return 0, 0, false
	}
	var v uint64
	used := n
	if b.String {
		d := buf[pos : pos+n]
		if n == 0 {
			d = buf[pos:]
		}
		var ok bool
		if v, used, ok = strtoull(d, b.Base); !ok {
			return 0, 0, false
		}
	} else if b.Little {
		for i := pos + n - 1; i >= pos; i-- {
			v = v<<8 | uint64(buf[i])
		}
	} else {
		for _, c := range buf[pos : pos+n] {
			v = v<<8 | uint64(c)
		}
	}
	if b.Bitmask != 0 {
		v &= b.Bitmask
		v >>= uint(bits.TrailingZeros64(b.Bitmask))
	}
	return v, used, true
}

// strtoull reads a number at the start of d as C's strtoull does, which
// Suricata's byte_* string extraction calls: white space, an optional
// sign, then the digits of base up to the first other byte; base 16 may
// start with 0x, and base 0 picks 16 after 0x, 8 after a leading 0, else
// 10. It returns the value (negated after '-', modulo 2^64, as C does),
// how many bytes of d it read, and false when there is no digit or the
// value overflows 64 bits.
func strtoull(d []byte, base int) (uint64, int, bool) {
	i := 0
	for i < len(d) && isWS(d[i]) { // the C locale's white space
		i++
	}
	neg := false
	if i < len(d) && (d[i] == '+' || d[i] == '-') {
		neg = d[i] == '-'
		i++
	}
	if (base == 0 || base == 16) && i+1 < len(d) && d[i] == '0' && d[i+1]|0x20 == 'x' {
		if i+2 >= len(d) || !isHex(d[i+2]) {
			// "0x" without a hex digit after it: C reads the 0 alone.
			return 0, i + 1, true
		}
		i += 2
		base = 16
	} else if base == 0 {
		base = 10
		if i < len(d) && d[i] == '0' {
			base = 8
		}
	}
	start := i
	var v uint64
	overflow := false
	for ; i < len(d); i++ {
		x, ok := digit(d[i], base)
		if !ok {
			break
		}
		hi, lo := bits.Mul64(v, uint64(base))
		var carry uint64
		v, carry = bits.Add64(lo, x, 0)
		overflow = overflow || hi != 0 || carry != 0
	}
	if i == start || overflow {
		return 0, 0, false
	}
	if neg {
		v = -v
	}
	return v, i, true
}

func splitArgs(arg string) []string {
	parts := strings.Split(arg, ",")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

// digit parses one ASCII digit of base without allocating.
func digit(c byte, base int) (uint64, bool) {
	var x int
	switch {
	case c >= '0' && c <= '9':
		x = int(c - '0')
	case c >= 'a' && c <= 'f':
		x = int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		x = int(c-'A') + 10
	default:
		return 0, false
	}
	return uint64(x), x < base
}
