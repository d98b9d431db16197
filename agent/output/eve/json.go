package eve

import (
	"encoding/base64"
	"encoding/json"
	"maps"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// TimeLayout is Suricata's EVE timestamp format.
const TimeLayout = "2006-01-02T15:04:05.000000-0700"

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string. Invalid UTF-8 becomes \ufffd
// rather than corrupting the line, since payload-derived fields carry
// arbitrary bytes.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func appendBytesString(b []byte, s []byte) []byte {
	// The conversion does not escape: appendString only reads s.
	return appendString(b, string(s))
}

func appendKey(b []byte, k string) []byte {
	b = appendString(b, k)
	return append(b, ':')
}

// appendTime writes TimeLayout by hand: time.AppendFormat re-parses the
// layout on every call and showed up first in the alert benchmark.
func appendTime(b []byte, t time.Time, loc *time.Location) []byte {
	t = t.In(loc)
	year, month, day := t.Date()
	hour, min, sec := t.Clock()
	_, off := t.Zone()
	b = append(b, '"')
	b = appendDigits(b, year, 4)
	b = append(b, '-')
	b = appendDigits(b, int(month), 2)
	b = append(b, '-')
	b = appendDigits(b, day, 2)
	b = append(b, 'T')
	b = appendDigits(b, hour, 2)
	b = append(b, ':')
	b = appendDigits(b, min, 2)
	b = append(b, ':')
	b = appendDigits(b, sec, 2)
	b = append(b, '.')
	b = appendDigits(b, t.Nanosecond()/1000, 6)
	if off < 0 {
		b = append(b, '-')
		off = -off
	} else {
		b = append(b, '+')
	}
	off /= 60
	b = appendDigits(b, off/60, 2)
	b = appendDigits(b, off%60, 2)
	return append(b, '"')
}

// appendDigits writes v zero-padded to width digits.
func appendDigits(b []byte, v, width int) []byte {
	var tmp [20]byte
	i := len(tmp)
	for v >= 10 || width > 1 {
		i--
		tmp[i] = byte('0' + v%10)
		v /= 10
		width--
	}
	i--
	tmp[i] = byte('0' + v)
	return append(b, tmp[i:]...)
}

// appendAddr writes IPv4 dotted and IPv6 in Suricata's fully expanded
// form (eight zero-padded groups, no "::"), which tools and
// suricata-verify compare as strings.
func appendAddr(b []byte, a netip.Addr) []byte {
	a = a.Unmap()
	b = append(b, '"')
	if a.Is4() || !a.IsValid() {
		b = a.AppendTo(b)
		return append(b, '"')
	}
	x := a.As16()
	for i := 0; i < 16; i += 2 {
		if i > 0 {
			b = append(b, ':')
		}
		b = append(b, hexDigits[x[i]>>4], hexDigits[x[i]&0xf], hexDigits[x[i+1]>>4], hexDigits[x[i+1]&0xf])
	}
	return append(b, '"')
}

func appendMAC(b []byte, m [6]byte) []byte {
	b = append(b, '"')
	for i, c := range m {
		if i > 0 {
			b = append(b, ':')
		}
		b = append(b, hexDigits[c>>4], hexDigits[c&0xf])
	}
	return append(b, '"')
}

// appendValue encodes the loosely typed values app-layer parsers and
// callers hand in. Maps are written with sorted keys for stable output.
func appendValue(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case string:
		return appendString(b, x)
	case []byte:
		return appendBytesString(b, x)
	case bool:
		return strconv.AppendBool(b, x)
	case int:
		return strconv.AppendInt(b, int64(x), 10)
	case int8:
		return strconv.AppendInt(b, int64(x), 10)
	case int16:
		return strconv.AppendInt(b, int64(x), 10)
	case int32:
		return strconv.AppendInt(b, int64(x), 10)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case uint:
		return strconv.AppendUint(b, uint64(x), 10)
	case uint8:
		return strconv.AppendUint(b, uint64(x), 10)
	case uint16:
		return strconv.AppendUint(b, uint64(x), 10)
	case uint32:
		return strconv.AppendUint(b, uint64(x), 10)
	case uint64:
		return strconv.AppendUint(b, x, 10)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return append(b, "null"...)
		}
		return strconv.AppendFloat(b, x, 'f', -1, 64)
	case float32:
		return appendValue(b, float64(x))
	case netip.Addr:
		return appendAddr(b, x)
	case time.Time:
		return appendTime(b, x, time.UTC)
	case json.RawMessage:
		if len(x) == 0 {
			return append(b, "null"...)
		}
		return append(b, x...)
	case map[string]any:
		b = append(b, '{')
		for i, k := range slices.Sorted(maps.Keys(x)) {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendKey(b, k)
			b = appendValue(b, x[k])
		}
		return append(b, '}')
	case map[string]string:
		m := make(map[string]any, len(x))
		for k, v := range x {
			m[k] = v
		}
		return appendValue(b, m)
	case map[string][]string:
		m := make(map[string]any, len(x))
		for k, v := range x {
			m[k] = v
		}
		return appendValue(b, m)
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendValue(b, e)
		}
		return append(b, ']')
	case []string:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, e)
		}
		return append(b, ']')
	case []map[string]any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendValue(b, e)
		}
		return append(b, ']')
	}
	// Rare shapes (structs from plugins) go through encoding/json; a value
	// it cannot encode becomes null so the line stays valid JSON.
	enc, err := json.Marshal(v)
	if err != nil {
		return append(b, "null"...)
	}
	return append(b, enc...)
}

func appendBase64(b []byte, data []byte) []byte {
	b = append(b, '"')
	b = base64.StdEncoding.AppendEncode(b, data)
	return append(b, '"')
}

// appendBase64Pair encodes a followed by b as one base64 string.
func appendBase64Pair(dst, a, b []byte) []byte {
	buf := make([]byte, 0, len(a)+len(b))
	buf = append(append(buf, a...), b...)
	return appendBase64(dst, buf)
}

// appendPrintable writes data as Suricata's payload_printable does:
// printable ASCII and CR/LF kept, everything else as '.'.
func appendPrintable(b []byte, data []byte) []byte { return appendPrintableGap(b, 0, data) }

// appendPrintableGap is appendPrintable for stream data that follows gap
// bytes the capture missed, which Suricata marks "[N bytes missing]".
func appendPrintableGap(b []byte, gap uint32, data []byte) []byte {
	b = append(b, '"')
	if gap > 0 {
		b = append(b, '[')
		b = strconv.AppendUint(b, uint64(gap), 10)
		b = append(b, " bytes missing]"...)
	}
	for _, c := range data {
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c >= 0x20 && c < 0x7f:
			b = append(b, c)
		default:
			b = append(b, '.')
		}
	}
	return append(b, '"')
}
