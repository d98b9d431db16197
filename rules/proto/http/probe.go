package http

import "bytes"

// Probe reports whether data, the first bytes of direction dir, looks like
// HTTP/1.x. It judges by content alone, so HTTP on any port is found. For
// requests it wants a method token followed by a space: a known method, or
// an upper-case token on a line that ends in an HTTP version.
func Probe(dir Dir, data []byte) bool {
	for len(data) > 0 && (data[0] == '\r' || data[0] == '\n') {
		data = data[1:]
	}
	if dir == ToClient {
		return len(data) >= 7 && bytes.EqualFold(data[:7], []byte("HTTP/1."))
	}
	i := 0
	for i < len(data) && i < 24 && isTokenChar(data[i]) {
		i++
	}
	if i == 0 || i >= len(data) || (data[i] != ' ' && data[i] != '\t') {
		return false
	}
	m := data[:i]
	if isKnownMethod(m) {
		return true
	}
	for _, c := range m {
		if c < 'A' || c > 'Z' {
			if c != '-' && c != '_' {
				return false
			}
		}
	}
	line := data[i:]
	if j := bytes.IndexByte(line, '\n'); j >= 0 {
		line = line[:j]
	}
	return bytes.Contains(line, []byte(" HTTP/1.")) || bytes.Contains(line, []byte(" HTTP/0.9"))
}
