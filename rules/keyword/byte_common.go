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
	Base       int
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
			b.Base = 16
		case "dec":
			b.Base = 10
		case "oct":
			b.Base = 8
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
	max := 8
	if b.String {
		max = 23
	}
	min := 1
	if kw == "byte_jump" {
		// byte_jump:0 with post_offset moves the cursor without reading.
		min = 0
	}
	if b.BytesVar == noVar && (b.Bytes < min || b.Bytes > max) {
		return fmt.Errorf("%s: byte count %d out of range 1..%d", kw, b.Bytes, max)
	}
	return nil
}

// extract reads b.Bytes at pos of buf.
func (b *ByteOp) extract(buf []byte, pos int) (uint64, bool) {
	return b.extractN(buf, pos, b.Bytes)
}

func (b *ByteOp) extractN(buf []byte, pos, n int) (uint64, bool) {
	if pos < 0 || n < 0 || n > 23 || pos+n > len(buf) {
		return 0, false
	}
	d := buf[pos : pos+n]
	var v uint64
	if b.String {
		if len(d) == 0 {
			return 0, true
		}
		for _, c := range d {
			x, ok := digit(c, b.Base)
			if !ok {
				return 0, false
			}
			v = v*uint64(b.Base) + x
		}
	} else if b.Little {
		for i := len(d) - 1; i >= 0; i-- {
			v = v<<8 | uint64(d[i])
		}
	} else {
		for _, c := range d {
			v = v<<8 | uint64(c)
		}
	}
	if b.Bitmask != 0 {
		v &= b.Bitmask
		v >>= uint(bits.TrailingZeros64(b.Bitmask))
	}
	return v, true
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
