package tls

import (
	"crypto/md5"
	"encoding/hex"
	"strconv"
)

// Extension types the parser reads.
const (
	extServerName        = 0
	extSupportedGroups   = 10
	extECPointFormats    = 11
	extSupportedVersions = 43
)

// isGREASE reports whether v is one of RFC 8701's reserved GREASE values
// (0x0a0a, 0x1a1a, ... 0xfafa), which the JA3 spec leaves out.
func isGREASE(v uint16) bool {
	return v&0x0f0f == 0x0a0a && v>>8 == v&0xff
}

// reader walks a hello without panicking: every read checks the length and
// a failed read sets bad and returns zero values from then on.
type reader struct {
	b   []byte
	bad bool
}

func (r *reader) u8() int {
	if r.bad || len(r.b) < 1 {
		r.bad = true
		return 0
	}
	v := int(r.b[0])
	r.b = r.b[1:]
	return v
}

func (r *reader) u16() int {
	if r.bad || len(r.b) < 2 {
		r.bad = true
		return 0
	}
	v := int(r.b[0])<<8 | int(r.b[1])
	r.b = r.b[2:]
	return v
}

func (r *reader) bytes(n int) []byte {
	if r.bad || len(r.b) < n {
		r.bad = true
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

// appendList appends the 16-bit values in b (skipping GREASE) joined by '-'.
func appendList16(dst, b []byte) []byte {
	first := true
	for i := 0; i+1 < len(b); i += 2 {
		v := uint16(b[i])<<8 | uint16(b[i+1])
		if isGREASE(v) {
			continue
		}
		if !first {
			dst = append(dst, '-')
		}
		first = false
		dst = strconv.AppendUint(dst, uint64(v), 10)
	}
	return dst
}

func (s *State) clientHello(body []byte) {
	s.ClientHelloDone = true
	r := reader{b: body}
	s.ClientVersion = uint16(r.u16())
	r.bytes(32) // random
	r.bytes(r.u8())
	ciphers := r.bytes(r.u16())
	r.bytes(r.u8()) // compression methods
	if r.bad {
		s.Anomalies |= AnomalyBadHandshake
		return
	}
	s.ClientCiphers = s.ClientCiphers[:0]
	for i := 0; i+1 < len(ciphers); i += 2 {
		s.ClientCiphers = append(s.ClientCiphers, uint16(ciphers[i])<<8|uint16(ciphers[i+1]))
	}
	var exts, groups, formats []byte
	if len(r.b) > 0 {
		var ok bool
		exts, ok = s.extensions(&r, func(typ uint16, data []byte) {
			xr := reader{b: data}
			switch typ {
			case extServerName:
				s.sni(&xr)
			case extSupportedGroups:
				groups = xr.bytes(xr.u16())
			case extECPointFormats:
				formats = xr.bytes(xr.u8())
			case extSupportedVersions:
				vs := xr.bytes(xr.u8())
				s.ClientVersions = s.ClientVersions[:0]
				for i := 0; i+1 < len(vs); i += 2 {
					if v := uint16(vs[i])<<8 | uint16(vs[i+1]); !isGREASE(v) {
						s.ClientVersions = append(s.ClientVersions, v)
					}
				}
			}
			if xr.bad {
				s.Anomalies |= AnomalyBadHandshake
			}
		})
		if !r.bad && len(r.b) > 0 {
			s.Anomalies |= AnomalyTrailingHandshake
		}
		if !ok {
			return
		}
	}
	// JA3: SSLVersion,Ciphers,Extensions,EllipticCurves,EllipticCurvePointFormats
	ja3 := make([]byte, 0, 64+3*len(ciphers)+3*len(exts)+3*len(groups)+2*len(formats))
	ja3 = strconv.AppendUint(ja3, uint64(s.ClientVersion), 10)
	ja3 = append(ja3, ',')
	ja3 = appendList16(ja3, ciphers)
	ja3 = append(ja3, ',')
	ja3 = appendList16(ja3, exts)
	ja3 = append(ja3, ',')
	ja3 = appendList16(ja3, groups)
	ja3 = append(ja3, ',')
	for i, f := range formats {
		if i > 0 {
			ja3 = append(ja3, '-')
		}
		ja3 = strconv.AppendUint(ja3, uint64(f), 10)
	}
	s.JA3String, s.JA3Hash = s.fingerprint(ja3, bufJA3String, bufJA3Hash)
}

// extensions walks the extensions block at r (a 16-bit length, then type,
// length and data for each extension), calling fn for each, and returns the
// extension types in order, two bytes each, for JA3 and JA3S. A malformed
// block sets AnomalyBadHandshake and returns ok false.
func (s *State) extensions(r *reader, fn func(typ uint16, data []byte)) (exts []byte, ok bool) {
	er := reader{b: r.bytes(r.u16())}
	if r.bad {
		s.Anomalies |= AnomalyBadHandshake
		return nil, false
	}
	for len(er.b) > 0 && !er.bad {
		typ := uint16(er.u16())
		data := er.bytes(er.u16())
		if er.bad {
			break
		}
		exts = append(exts, byte(typ>>8), byte(typ))
		fn(typ, data)
	}
	if er.bad {
		s.Anomalies |= AnomalyBadHandshake
		return nil, false
	}
	return exts, true
}

// fingerprint sets a JA3 or JA3S string and its MD5 as the buffers str and
// hash, and returns them.
func (s *State) fingerprint(b []byte, str, hash int) (string, string) {
	sum := md5.Sum(b)
	h := hex.EncodeToString(sum[:])
	s.setBuf(str, b)
	s.setBuf(hash, []byte(h))
	return string(b), h
}

// sni reads the server_name extension: the first host_name entry.
func (s *State) sni(xr *reader) {
	list := reader{b: xr.bytes(xr.u16())}
	for len(list.b) > 0 && !list.bad {
		typ := list.u8()
		name := list.bytes(list.u16())
		if !list.bad && typ == 0 && s.SNI == nil {
			s.SNI = append([]byte(nil), name...)
			s.setBuf(bufSNI, s.SNI)
		}
	}
	if list.bad {
		xr.bad = true
	}
}

func (s *State) serverHello(body []byte) {
	s.ServerHelloDone = true
	r := reader{b: body}
	legacy := uint16(r.u16())
	r.bytes(32)
	if legacy>>8 == 0x7f && legacy&0xff < 22 {
		// TLS 1.3 drafts before 22 dropped session id and compression
		// from the ServerHello.
		s.CipherSuite = uint16(r.u16())
	} else {
		r.bytes(r.u8())
		s.CipherSuite = uint16(r.u16())
		r.u8() // compression
	}
	if r.bad {
		s.Anomalies |= AnomalyBadHandshake
		return
	}
	s.ServerVersion = legacy
	var exts []byte
	if len(r.b) > 0 {
		var ok bool
		exts, ok = s.extensions(&r, func(typ uint16, data []byte) {
			if typ == extSupportedVersions && len(data) == 2 {
				// TLS 1.3 negotiates here; the legacy field says 1.2.
				s.ServerVersion = uint16(data[0])<<8 | uint16(data[1])
			}
		})
		if !ok {
			return
		}
	}
	// JA3S: SSLVersion,Cipher,Extensions
	ja3s := make([]byte, 0, 32+3*len(exts))
	ja3s = strconv.AppendUint(ja3s, uint64(legacy), 10)
	ja3s = append(ja3s, ',')
	ja3s = strconv.AppendUint(ja3s, uint64(s.CipherSuite), 10)
	ja3s = append(ja3s, ',')
	ja3s = appendList16(ja3s, exts)
	s.JA3SString, s.JA3SHash = s.fingerprint(ja3s, bufJA3SString, bufJA3SHash)
}
