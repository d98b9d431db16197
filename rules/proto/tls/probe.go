package tls

// Probe reports whether data, the first bytes of dir's stream, starts like a
// TLS handshake: a handshake record header (SSLv3 to TLS 1.3 record versions)
// whose first message is a ClientHello toward the server or a ServerHello
// toward the client, or an SSLv2-format CLIENT-HELLO asking for SSLv3 or
// later. It looks at content only, so it works on any port.
func Probe(dir Dir, data []byte) bool {
	if len(data) >= 3 && data[0]&0x80 != 0 {
		// SSLv2 two-byte header, then msg type 1 and a 3.x version.
		if dir != ToServer || len(data) < 5 {
			return false
		}
		l := int(data[0]&0x7f)<<8 | int(data[1])
		return l >= 9 && data[2] == hsClientHello && (data[3] == 3 || data[3] == 2)
	}
	if len(data) < 6 || data[0] != recHandshake || data[1] != 3 || data[2] > 4 {
		return false
	}
	l := int(data[3])<<8 | int(data[4])
	if l < 4 || l > maxRecordLen {
		return false
	}
	want := byte(hsClientHello)
	if dir == ToClient {
		want = hsServerHello
	}
	if data[5] != want {
		return false
	}
	if len(data) >= 10 {
		// The hello's own version must be a 3.x (or TLS 1.3 draft) one.
		return data[9] == 3 || data[9] == 0x7f || data[9] == 0xfb
	}
	return true
}
