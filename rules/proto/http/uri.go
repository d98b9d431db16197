package http

import "bytes"

// uriHost extracts host and port from an absolute URI (scheme://host[:port]/...).
func uriHost(u []byte) (host []byte, port int, ok bool) {
	i := bytes.Index(u, []byte("://"))
	if i <= 0 || !isScheme(u[:i]) {
		return nil, 0, false
	}
	rest := u[i+3:]
	end := bytes.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	auth := rest[:end]
	if at := bytes.LastIndexByte(auth, '@'); at >= 0 {
		auth = auth[at+1:]
	}
	h, p := splitHostPort(auth)
	return h, p, true
}

func isScheme(b []byte) bool {
	for _, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// splitHostPort splits "host:port"; IPv6 literals keep their brackets off.
func splitHostPort(v []byte) ([]byte, int) {
	v = trimSpace(v)
	if len(v) > 0 && v[0] == '[' {
		if j := bytes.IndexByte(v, ']'); j > 0 {
			return v[1:j], parsePort(v[j+1:])
		}
	}
	if j := bytes.LastIndexByte(v, ':'); j >= 0 {
		return v[:j], parsePort(v[j:])
	}
	return v, 0
}

func parsePort(b []byte) int {
	if len(b) < 2 || b[0] != ':' {
		return 0
	}
	n := 0
	for _, c := range b[1:] {
		if c < '0' || c > '9' || n > 65535 {
			return 0
		}
		n = n*10 + int(c-'0')
	}
	if n > 65535 {
		return 0
	}
	return n
}

// normalizeURI appends to dst the URI as Suricata's http.uri shows it with
// libhtp's IDS personality: the path of an absolute URI, percent- and
// %u-decoded, backslashes as slashes, "//" compressed, dot segments removed;
// the query is kept as sent ('+' stays '+'); the fragment is dropped.
func normalizeURI(dst, u []byte) []byte {
	if len(u) == 0 {
		return dst
	}
	if i := bytes.Index(u, []byte("://")); i > 0 && isScheme(u[:i]) {
		rest := u[i+3:]
		j := bytes.IndexAny(rest, "/?#")
		if j < 0 {
			return append(dst, '/')
		}
		u = rest[j:]
	}
	if i := bytes.IndexByte(u, '#'); i >= 0 {
		u = u[:i]
	}
	path, query := u, []byte(nil)
	if i := bytes.IndexByte(u, '?'); i >= 0 {
		path, query = u[:i], u[i:]
	}
	start := len(dst)
	dst = decodePath(dst, path)
	dst = append(dst[:start], removeDots(dst[start:])...)
	return append(dst, query...)
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// decodePath percent-decodes (invalid escapes are preserved), decodes %uXXXX
// with a best-fit to one byte, converts '\' to '/' and compresses slashes.
func decodePath(dst, p []byte) []byte {
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c == '%' {
			if i+5 < len(p) && (p[i+1] == 'u' || p[i+1] == 'U') {
				var v uint16
				ok := true
				for k := 2; k <= 5; k++ {
					h, good := unhex(p[i+k])
					if !good {
						ok = false
						break
					}
					v = v<<4 | uint16(h)
				}
				if ok {
					c = bestFit(v)
					i += 5
					dst = appendPathByte(dst, c)
					continue
				}
			}
			if i+2 < len(p) {
				h, ok1 := unhex(p[i+1])
				l, ok2 := unhex(p[i+2])
				if ok1 && ok2 {
					c = h<<4 | l
					i += 2
				}
			}
		}
		dst = appendPathByte(dst, c)
	}
	return dst
}

func appendPathByte(dst []byte, c byte) []byte {
	if c == '\\' {
		c = '/'
	}
	if c == '/' && len(dst) > 0 && dst[len(dst)-1] == '/' {
		return dst
	}
	return append(dst, c)
}

// bestFit maps a %u code point to one byte the way IIS does: Latin-1 as is,
// full-width ASCII to ASCII, everything else to '?'.
func bestFit(v uint16) byte {
	switch {
	case v < 0x100:
		return byte(v)
	case v >= 0xff01 && v <= 0xff5e:
		return byte(v - 0xfee0)
	}
	return '?'
}

// removeDots applies RFC 3986 remove_dot_segments in place.
func removeDots(p []byte) []byte {
	if bytes.IndexByte(p, '.') < 0 {
		return p
	}
	out := make([]byte, 0, len(p))
	in := p
	for len(in) > 0 {
		switch {
		case bytes.HasPrefix(in, []byte("../")):
			in = in[3:]
		case bytes.HasPrefix(in, []byte("./")):
			in = in[2:]
		case bytes.HasPrefix(in, []byte("/./")):
			in = in[2:]
		case bytes.Equal(in, []byte("/.")):
			in = []byte("/")
		case bytes.HasPrefix(in, []byte("/../")) || bytes.Equal(in, []byte("/..")):
			if len(in) == 3 {
				in = []byte("/")
			} else {
				in = in[3:]
			}
			if j := bytes.LastIndexByte(out, '/'); j >= 0 {
				out = out[:j]
			} else {
				out = out[:0]
			}
		case bytes.Equal(in, []byte(".")) || bytes.Equal(in, []byte("..")):
			in = nil
		default:
			j := 0
			if in[0] == '/' {
				j = 1
			}
			k := bytes.IndexByte(in[j:], '/')
			if k < 0 {
				k = len(in)
			} else {
				k += j
			}
			out = append(out, in[:k]...)
			in = in[k:]
		}
	}
	return append(p[:0], out...)
}
