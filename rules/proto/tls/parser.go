package tls

import (
	"github.com/tapwatch/tapwatch/rules/stream"
)

// Dir is a direction within a connection (the engine's stream.Dir).
type Dir = stream.Dir

// Directions, as the engine names them.
const (
	ToServer = stream.ToServer
	ToClient = stream.ToClient
)

// Record content types.
const (
	recChangeCipherSpec = 20
	recAlert            = 21
	recHandshake        = 22
	recApplicationData  = 23
	recHeartbeat        = 24
)

// Handshake message types.
const (
	hsClientHello = 1
	hsServerHello = 2
	hsCertificate = 11
)

const (
	recordHeaderLen = 5
	// maxRecordLen is the largest record TLS allows on the wire (2^14 of
	// plaintext plus 2048 of expansion); anything larger is not TLS.
	maxRecordLen = 1<<14 + 2048
	// maxHandshakeLen bounds one handshake message gathered across
	// records, and so the memory one connection can pin. Chains of a few
	// KiB are usual, but certificates with thousands of SANs exist (Zeek's
	// test corpus has a 340 KiB Certificate message).
	maxHandshakeLen = 1 << 20
	// maxCerts bounds how many certificates of a chain are kept.
	maxCerts = 16
)

// Anomaly is a set of reasons a connection's handshake looked odd.
type Anomaly uint32

// Anomalies the parser records. Any of the first four stops parsing in the
// direction where it happened.
const (
	// AnomalyNotTLS: a record header with an unknown type or version.
	AnomalyNotTLS Anomaly = 1 << iota
	// AnomalyRecordTooLong: a record longer than TLS allows.
	AnomalyRecordTooLong
	// AnomalyHandshakeTooLong: a handshake message over maxHandshakeLen.
	AnomalyHandshakeTooLong
	// AnomalyBadHandshake: a hello or certificate message whose fields do
	// not add up; what was read before the fault is kept.
	AnomalyBadHandshake
	// AnomalyBadCertificate: the leaf certificate's DER could not be fully
	// walked (fields read before the fault are kept).
	AnomalyBadCertificate
	// AnomalySSLv2: the client spoke the SSLv2 record format.
	AnomalySSLv2
	// AnomalyTrailingHandshake: a hello carried bytes after its extensions.
	AnomalyTrailingHandshake
)

// Parser follows one TLS connection. The zero value is not ready; use
// NewParser.
type Parser struct {
	half  [2]half
	state State
}

// half is the record-layer progress in one direction.
type half struct {
	hdr     [recordHeaderLen]byte
	hdrN    int  // header bytes gathered
	left    int  // body bytes of the current record still to come
	recType byte // type of the current record
	inBody  bool
	v2      bool   // the current record is an SSLv2 record
	v2buf   []byte // an SSLv2 record's body, gathered
	records int    // records started
	hs      []byte // handshake bytes not yet consumed
	done    bool   // encrypted from here on, or not TLS: stop
}

// NewParser returns a parser for one connection.
func NewParser() *Parser { return &Parser{} }

// State returns what the handshake has revealed so far. The pointer stays
// valid and is updated by later Feeds.
func (p *Parser) State() *State { return &p.state }

// Done reports whether dir will not be parsed further (encrypted data or
// not TLS); once both directions are done the engine can stop feeding.
func (p *Parser) Done(dir Dir) bool { return p.half[dir&1].done }

// Feed consumes the next bytes of dir's reassembled stream. Records may be
// split anywhere across calls, a record may carry several handshake
// messages and a handshake message may span several records.
func (p *Parser) Feed(dir Dir, data []byte) {
	h := &p.half[dir&1]
	for len(data) > 0 && !h.done {
		if !h.inBody {
			data = p.header(dir, h, data)
			continue
		}
		n := min(h.left, len(data))
		p.body(dir, h, data[:n])
		data = data[n:]
		h.left -= n
		if h.left == 0 {
			h.inBody = false
			if h.v2 {
				p.sslv2(dir, h.v2buf)
				h.v2, h.v2buf = false, h.v2buf[:0]
			}
		}
	}
}

// header gathers a record header and starts its body.
func (p *Parser) header(dir Dir, h *half, data []byte) []byte {
	if h.hdrN == 0 && h.records == 0 && data[0]&0x80 != 0 {
		// The first record with the top bit set is an SSLv2 record with a
		// two-byte header; TLS content types never have that bit.
		h.v2 = true
	}
	need := recordHeaderLen
	if h.v2 {
		need = 2
	}
	n := min(need-h.hdrN, len(data))
	copy(h.hdr[h.hdrN:], data[:n])
	h.hdrN += n
	data = data[n:]
	if h.hdrN < need {
		return data
	}
	h.hdrN = 0
	h.records++
	if h.v2 {
		h.left = int(h.hdr[0]&0x7f)<<8 | int(h.hdr[1])
		p.state.Anomalies |= AnomalySSLv2
		p.state.SSLv2 = true
	} else {
		typ, major, minor := h.hdr[0], h.hdr[1], h.hdr[2]
		if typ < recChangeCipherSpec || typ > recHeartbeat || major != 3 || minor > 4 {
			p.stop(h, AnomalyNotTLS)
			return nil
		}
		h.recType = typ
		h.left = int(h.hdr[3])<<8 | int(h.hdr[4])
		if h.left > maxRecordLen {
			p.stop(h, AnomalyRecordTooLong)
			return nil
		}
		v := uint16(major)<<8 | uint16(minor)
		if dir == ToClient && p.state.serverRecordVersion == 0 {
			p.state.serverRecordVersion = v
		}
		switch typ {
		case recChangeCipherSpec, recApplicationData:
			// Everything after is encrypted; Suricata stops here too.
			h.done = true
			if dir == ToClient && typ == recApplicationData {
				p.state.Encrypted = true
			}
			return nil
		}
	}
	h.inBody = true
	if h.left == 0 {
		h.inBody = false
		if h.v2 {
			h.v2 = false
		}
	}
	return data
}

func (p *Parser) stop(h *half, a Anomaly) {
	p.state.Anomalies |= a
	h.done = true
	h.hs = h.hs[:0]
}

// body consumes part of the current record's body.
func (p *Parser) body(dir Dir, h *half, b []byte) {
	if h.v2 {
		h.v2buf = append(h.v2buf, b...)
		return
	}
	if h.recType != recHandshake {
		return
	}
	// Parse straight from the caller's bytes when nothing is pending;
	// copy only a partial message left at the end.
	src := b
	if len(h.hs) > 0 {
		h.hs = append(h.hs, b...)
		src = h.hs
	}
	rest := p.handshakes(dir, h, src)
	if h.done {
		return
	}
	if len(rest) > maxHandshakeLen+4 {
		p.stop(h, AnomalyHandshakeTooLong)
		return
	}
	if len(h.hs) > 0 {
		n := copy(h.hs, rest)
		h.hs = h.hs[:n]
	} else {
		h.hs = append(h.hs[:0], rest...)
	}
}

// handshakes processes every complete handshake message in b and returns
// the incomplete remainder.
func (p *Parser) handshakes(dir Dir, h *half, b []byte) []byte {
	for len(b) >= 4 {
		n := int(b[1])<<16 | int(b[2])<<8 | int(b[3])
		if n > maxHandshakeLen {
			p.stop(h, AnomalyHandshakeTooLong)
			return nil
		}
		if len(b) < 4+n {
			break
		}
		p.message(dir, b[0], b[4:4+n])
		b = b[4+n:]
	}
	return b
}

func (p *Parser) message(dir Dir, typ byte, body []byte) {
	s := &p.state
	switch typ {
	case hsClientHello:
		if !s.ClientHelloDone {
			s.clientHello(body)
		}
	case hsServerHello:
		if !s.ServerHelloDone {
			s.serverHello(body)
		}
	case hsCertificate:
		// A client's certificate (mutual TLS) must not replace the
		// server's, which is what the tls.cert_* buffers describe.
		if dir == ToClient && !s.CertDone {
			s.certificate(body)
		}
	}
}

// sslv2 handles one SSLv2 record; only the CLIENT-HELLO matters (it carries
// the highest version the client speaks).
func (p *Parser) sslv2(dir Dir, b []byte) {
	s := &p.state
	if len(b) < 9 || b[0] != hsClientHello || dir != ToServer || s.ClientHelloDone {
		return
	}
	s.ClientVersion = uint16(b[1])<<8 | uint16(b[2])
	s.ClientHelloDone = true
}
