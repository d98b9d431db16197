package dns

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/tapwatch/tapwatch/rules/stream"
)

// Dir is a direction within a connection (the engine's stream.Dir).
type Dir = stream.Dir

// Directions, as the engine names them.
const (
	ToServer = stream.ToServer
	ToClient = stream.ToClient
)

// Errors returned by Parse; callers test them with errors.Is.
var (
	// ErrTruncated means the message ended before every section its header
	// announced was read; what was read is kept.
	ErrTruncated = errors.New("dns: message truncated")
	// ErrMalformed means the bytes cannot be a DNS message at the point
	// parsing stopped (bad label type, pointer outside the message, ...).
	ErrMalformed = errors.New("dns: malformed message")
)

// Anomaly is a set of reasons a message was odd; several may be set.
type Anomaly uint16

// Anomalies recorded while parsing.
const (
	// AnomalyTruncated: the message is shorter than its header promises.
	AnomalyTruncated Anomaly = 1 << iota
	// AnomalyMalformed: parsing stopped at bytes that make no sense.
	AnomalyMalformed
	// AnomalyNameLoop: a compression pointer pointed at itself.
	AnomalyNameLoop
	// AnomalyLabelLimit: a name needed more than 255 labels and pointers,
	// which is how pointer loops between names are caught.
	AnomalyLabelLimit
	// AnomalyNameTooLong: a name was cut at MaxNameLen bytes.
	AnomalyNameTooLong
	// AnomalyBadRData: an RR's rdata did not parse as its type requires;
	// the record is kept with its raw Data.
	AnomalyBadRData
	// AnomalyTrailing: bytes follow the last announced record.
	AnomalyTrailing
	// AnomalyZFlag: the reserved Z bit of the header is set.
	AnomalyZFlag
	// AnomalyExpansion: compression expanded the message's names beyond
	// MaxExpanded bytes; parsing stopped there.
	AnomalyExpansion
)

// Limits, as Suricata applies them.
const (
	// MaxNameLen is the longest name kept, in presentation bytes (dnsmasq's
	// limit, which Suricata adopted).
	MaxNameLen = 1025
	// maxNameSteps bounds labels plus pointers followed in one name.
	maxNameSteps = 255
	// MaxExpanded bounds the bytes of names (and copied rdata) one message
	// may expand to. Compression pointers let a 64 KiB message name a
	// thousand-byte name in every two-byte question (Zeek's dns_fwdptr
	// capture does: 11 MB of names); no honest message comes near 1 MiB.
	MaxExpanded = 1 << 20
	headerLen   = 12
)

// Record types the package renders specially.
const (
	TypeA     uint16 = 1
	TypeNS    uint16 = 2
	TypeCNAME uint16 = 5
	TypeSOA   uint16 = 6
	TypeNULL  uint16 = 10
	TypePTR   uint16 = 12
	TypeMX    uint16 = 15
	TypeTXT   uint16 = 16
	TypeAAAA  uint16 = 28
	TypeSRV   uint16 = 33
	TypeOPT   uint16 = 41
	TypeSSHFP uint16 = 44
)

// Query is one entry of the question section.
type Query struct {
	// Name is dotted and decompressed, exactly Suricata's dns.query
	// buffer: label bytes are not escaped, the root is empty.
	Name        []byte
	Type, Class uint16
}

// SOA is the rdata of an SOA record.
type SOA struct {
	MName, RName                            []byte
	Serial, Refresh, Retry, Expire, Minimum uint32
}

// SRV is the rdata of an SRV record.
type SRV struct {
	Priority, Weight, Port uint16
	Target                 []byte
}

// RR is one resource record. A TXT record holding several strings is split
// into one RR per string, as Suricata logs it.
type RR struct {
	Name  []byte
	Type  uint16
	Class uint16
	TTL   uint32
	// Data is the rdata as the type defines it: the address bytes for A and
	// AAAA, the decompressed name for CNAME, NS, PTR and MX, the string for
	// TXT, the raw rdata otherwise (SOA and SRV also fill their structs).
	Data []byte
	// Text is the rdata as Suricata's EVE prints it: dotted IPv4, AAAA as
	// eight groups of four hex digits, names and TXT strings as they are.
	// SOA and SRV, which EVE logs as objects, render space-separated.
	Text       string
	Preference uint16 // MX
	SOA        SOA
	SRV        SRV
}

// Message is one parsed DNS message. Parse reuses its slices.
type Message struct {
	ID       uint16
	Flags    uint16 // the raw flags word of the header
	Response bool
	Opcode   uint8
	Rcode    uint8
	// Header counts as sent; the sections hold what could be parsed.
	QDCount, ANCount, NSCount, ARCount uint16

	Queries     []Query
	Answers     []RR
	Authorities []RR
	Additionals []RR

	// Anomalies says what was odd; Truncated is a shortcut for
	// Anomalies&AnomalyTruncated.
	Anomalies Anomaly
	Truncated bool

	arena []byte   // backing store for decompressed names
	names [][]byte // QueryNames' result, reused
}

// Header flag bits.
const (
	flagQR = 0x8000
	flagAA = 0x0400
	flagTC = 0x0200
	flagRD = 0x0100
	flagRA = 0x0080
	flagZ  = 0x0040
)

func (m *Message) reset() {
	arena, names := m.arena[:0], m.names[:0]
	q, an, ns, ar := m.Queries[:0], m.Answers[:0], m.Authorities[:0], m.Additionals[:0]
	*m = Message{arena: arena, names: names, Queries: q, Answers: an, Authorities: ns, Additionals: ar}
}

// QueryNames returns the dns.query multi-buffer: one entry per question
// name, in order. A rule matches when any entry matches. The slice is reused
// by the next Parse.
func (m *Message) QueryNames() [][]byte {
	m.names = m.names[:0]
	for i := range m.Queries {
		m.names = append(m.names, m.Queries[i].Name)
	}
	return m.names
}

// Parse decodes msg into m, reusing m's storage. Names in m point into m's
// own arena, never into msg, so msg may be reused after Parse returns. On a
// truncated or malformed message m holds everything read before the fault
// and the error wraps ErrTruncated or ErrMalformed.
func Parse(msg []byte, m *Message) error {
	m.reset()
	if len(msg) < headerLen {
		m.flag(AnomalyTruncated)
		return fmt.Errorf("dns header needs %d bytes, have %d: %w", headerLen, len(msg), ErrTruncated)
	}
	m.ID = binary.BigEndian.Uint16(msg)
	m.Flags = binary.BigEndian.Uint16(msg[2:])
	m.Response = m.Flags&flagQR != 0
	m.Opcode = uint8(m.Flags>>11) & 0xf
	m.Rcode = uint8(m.Flags & 0xf)
	if m.Flags&flagZ != 0 {
		m.Anomalies |= AnomalyZFlag
	}
	m.QDCount = binary.BigEndian.Uint16(msg[4:])
	m.ANCount = binary.BigEndian.Uint16(msg[6:])
	m.NSCount = binary.BigEndian.Uint16(msg[8:])
	m.ARCount = binary.BigEndian.Uint16(msg[10:])

	// A name takes at least one byte, so the message length bounds how much
	// storage the arena can need: reserving once keeps slices handed out
	// earlier from being orphaned by a regrow, and avoids regrowing.
	if need := 4 * len(msg); cap(m.arena) < need && need <= 4*65535 {
		m.arena = make([]byte, 0, need)
	}

	off := headerLen
	for i := 0; i < int(m.QDCount); i++ {
		var q Query
		var err error
		q.Name, off, err = m.name(msg, off)
		if err != nil {
			return m.fail("question", i, err)
		}
		if len(msg)-off < 4 {
			m.flag(AnomalyTruncated)
			return fmt.Errorf("question %d type/class: %w", i, ErrTruncated)
		}
		if len(m.arena) > MaxExpanded {
			m.Anomalies |= AnomalyExpansion
			return m.fail("question", i, fmt.Errorf("names expand beyond %d bytes: %w", MaxExpanded, ErrMalformed))
		}
		q.Type = binary.BigEndian.Uint16(msg[off:])
		q.Class = binary.BigEndian.Uint16(msg[off+2:])
		off += 4
		m.Queries = append(m.Queries, q)
	}
	sections := [3]struct {
		n    uint16
		dst  *[]RR
		name string
	}{{m.ANCount, &m.Answers, "answer"}, {m.NSCount, &m.Authorities, "authority"}, {m.ARCount, &m.Additionals, "additional"}}
	for _, s := range sections {
		for i := 0; i < int(s.n); i++ {
			var err error
			off, err = m.rr(msg, off, s.dst)
			if err != nil {
				return m.fail(s.name, i, err)
			}
			if len(m.arena) > MaxExpanded {
				m.Anomalies |= AnomalyExpansion
				return m.fail(s.name, i, fmt.Errorf("names expand beyond %d bytes: %w", MaxExpanded, ErrMalformed))
			}
		}
	}
	if off < len(msg) {
		m.Anomalies |= AnomalyTrailing
	}
	return nil
}

func (m *Message) flag(a Anomaly) {
	m.Anomalies |= a
	if a&AnomalyTruncated != 0 {
		m.Truncated = true
	}
}

func (m *Message) fail(section string, i int, err error) error {
	if errors.Is(err, ErrTruncated) {
		m.flag(AnomalyTruncated)
	} else {
		m.flag(AnomalyMalformed)
	}
	return fmt.Errorf("%s %d: %w", section, i, err)
}

// rr parses one resource record at off and appends it (or, for TXT, one
// record per string) to dst.
func (m *Message) rr(msg []byte, off int, dst *[]RR) (int, error) {
	var r RR
	var err error
	r.Name, off, err = m.name(msg, off)
	if err != nil {
		return off, err
	}
	if len(msg)-off < 10 {
		return off, fmt.Errorf("record header: %w", ErrTruncated)
	}
	r.Type = binary.BigEndian.Uint16(msg[off:])
	r.Class = binary.BigEndian.Uint16(msg[off+2:])
	r.TTL = binary.BigEndian.Uint32(msg[off+4:])
	rdlen := int(binary.BigEndian.Uint16(msg[off+8:]))
	off += 10
	if len(msg)-off < rdlen {
		// Keep the record with what rdata there is: an answer cut short by
		// a snap length still names what was asked.
		r.Data = msg[off:]
		r.Data = m.keep(r.Data)
		*dst = append(*dst, r)
		return len(msg), fmt.Errorf("rdata of %d bytes: %w", rdlen, ErrTruncated)
	}
	rd := msg[off : off+rdlen]
	end := off + rdlen
	if !m.rdata(msg, off, rd, &r, dst) {
		m.Anomalies |= AnomalyBadRData
		r.Data = m.keep(rd)
		r.Text = ""
		*dst = append(*dst, r)
	}
	return end, nil
}

// keep copies b into the arena so the message does not alias the caller's
// buffer.
func (m *Message) keep(b []byte) []byte {
	start := len(m.arena)
	m.arena = append(m.arena, b...)
	return m.arena[start:len(m.arena):len(m.arena)]
}

// rdata decodes rd (which starts at off in msg) by type and appends the
// record(s) to dst; false means the rdata is malformed for its type.
func (m *Message) rdata(msg []byte, off int, rd []byte, r *RR, dst *[]RR) bool {
	var err error
	end := off + len(rd)
	switch r.Type {
	case TypeA, TypeAAAA:
		r.Data = m.keep(rd)
		r.Text = addrText(rd)
	case TypeCNAME, TypeNS, TypePTR:
		if r.Data, _, err = m.rdName(msg, off, end); err != nil {
			return false
		}
		r.Text = string(r.Data)
	case TypeMX:
		if len(rd) < 2 {
			return false
		}
		r.Preference = binary.BigEndian.Uint16(rd)
		if r.Data, _, err = m.rdName(msg, off+2, end); err != nil {
			return false
		}
		r.Text = string(r.Data)
	case TypeSOA:
		lim := msg[:end]
		p := off
		if r.SOA.MName, p, err = m.rdName(msg, p, end); err != nil {
			return false
		}
		if r.SOA.RName, p, err = m.rdName(msg, p, end); err != nil {
			return false
		}
		if len(lim)-p < 20 {
			return false
		}
		s := &r.SOA
		s.Serial = binary.BigEndian.Uint32(lim[p:])
		s.Refresh = binary.BigEndian.Uint32(lim[p+4:])
		s.Retry = binary.BigEndian.Uint32(lim[p+8:])
		s.Expire = binary.BigEndian.Uint32(lim[p+12:])
		s.Minimum = binary.BigEndian.Uint32(lim[p+16:])
		r.Data = m.keep(rd)
		r.Text = fmt.Sprintf("%s %s %d %d %d %d %d", s.MName, s.RName, s.Serial, s.Refresh, s.Retry, s.Expire, s.Minimum)
	case TypeSRV:
		if len(rd) < 6 {
			return false
		}
		s := &r.SRV
		s.Priority = binary.BigEndian.Uint16(rd)
		s.Weight = binary.BigEndian.Uint16(rd[2:])
		s.Port = binary.BigEndian.Uint16(rd[4:])
		if s.Target, _, err = m.rdName(msg, off+6, end); err != nil {
			return false
		}
		r.Data = m.keep(rd)
		r.Text = fmt.Sprintf("%d %d %d %s", s.Priority, s.Weight, s.Port, s.Target)
	case TypeTXT:
		if len(rd) == 0 {
			return false
		}
		// Validate first so a bad string does not leave half the record
		// appended.
		for p := 0; p < len(rd); p += 1 + int(rd[p]) {
			if p+1+int(rd[p]) > len(rd) {
				return false
			}
		}
		for p := 0; p < len(rd); p += 1 + int(rd[p]) {
			t := *r
			t.Data = m.keep(rd[p+1 : p+1+int(rd[p])])
			t.Text = string(t.Data)
			*dst = append(*dst, t)
		}
		return true
	default:
		r.Data = m.keep(rd)
	}
	*dst = append(*dst, *r)
	return true
}

// rdName reads a name inside rdata ending at end. Its labels must stay
// inside the rdata, but compression pointers may point anywhere in the
// message, as Suricata allows.
func (m *Message) rdName(msg []byte, off, end int) ([]byte, int, error) {
	if off >= end {
		return nil, off, fmt.Errorf("name at %d past rdata end %d: %w", off, end, ErrMalformed)
	}
	name, next, err := m.name(msg, off)
	if err == nil && next > end {
		err = fmt.Errorf("name at %d runs past rdata end %d: %w", off, end, ErrMalformed)
	}
	return name, next, err
}

// name decompresses the name at off into the arena and returns it with the
// offset just past it in the original position (past the first pointer when
// one was followed).
func (m *Message) name(msg []byte, off int) ([]byte, int, error) {
	start := len(m.arena)
	pos := off
	next := -1 // where parsing resumes once a pointer was followed
	steps := 0
	cut := false
	for {
		if pos >= len(msg) {
			// Suricata treats running out of bytes inside a name as the end
			// of what can be known about it.
			return m.arena[start:len(m.arena):len(m.arena)], pos, fmt.Errorf("name at %d: %w", off, ErrTruncated)
		}
		l := int(msg[pos])
		switch {
		case l == 0:
			pos++
			if next < 0 {
				next = pos
			}
			return m.arena[start:len(m.arena):len(m.arena)], next, nil
		case l&0xc0 == 0:
			if pos+1+l > len(msg) {
				return m.arena[start:len(m.arena):len(m.arena)], pos, fmt.Errorf("label at %d: %w", pos, ErrTruncated)
			}
			if !cut {
				if len(m.arena) > start {
					m.arena = append(m.arena, '.')
				}
				m.arena = append(m.arena, msg[pos+1:pos+1+l]...)
			}
			pos += 1 + l
		case l&0xc0 == 0xc0:
			if pos+2 > len(msg) {
				return m.arena[start:len(m.arena):len(m.arena)], pos, fmt.Errorf("pointer at %d: %w", pos, ErrTruncated)
			}
			target := int(binary.BigEndian.Uint16(msg[pos:]) & 0x3fff)
			if target >= len(msg) {
				return m.arena[start:len(m.arena):len(m.arena)], pos, fmt.Errorf("pointer at %d to %d beyond message: %w", pos, target, ErrMalformed)
			}
			if target == pos {
				m.Anomalies |= AnomalyNameLoop
				if next < 0 {
					return m.arena[start:len(m.arena):len(m.arena)], pos, fmt.Errorf("pointer at %d points at itself: %w", pos, ErrMalformed)
				}
				return m.arena[start:len(m.arena):len(m.arena)], next, nil
			}
			if next < 0 {
				next = pos + 2
			}
			pos = target
		default:
			// 0x40 and 0x80 label types (extended labels) are obsolete.
			return m.arena[start:len(m.arena):len(m.arena)], pos, fmt.Errorf("label type %#x at %d: %w", l&0xc0, pos, ErrMalformed)
		}
		if len(m.arena)-start > MaxNameLen {
			m.arena = m.arena[:start+MaxNameLen]
			m.Anomalies |= AnomalyNameTooLong
			cut = true
			if next >= 0 {
				return m.arena[start:len(m.arena):len(m.arena)], next, nil
			}
		}
		steps++
		if steps > maxNameSteps {
			m.Anomalies |= AnomalyLabelLimit
			if next >= 0 {
				// A pointer was followed, so where the name ends in the
				// message is known: keep the partial name.
				m.Anomalies |= AnomalyNameTooLong
				return m.arena[start:len(m.arena):len(m.arena)], next, nil
			}
			return m.arena[start:len(m.arena):len(m.arena)], pos, fmt.Errorf("name at %d exceeds %d labels: %w", off, maxNameSteps, ErrMalformed)
		}
	}
}

const hexDigits = "0123456789abcdef"

// addrText renders A and AAAA rdata the way Suricata's EVE does: AAAA
// uncompressed, every group four lower-case digits.
func addrText(b []byte) string {
	switch len(b) {
	case 4:
		return fmt.Sprintf("%d.%d.%d.%d", b[0], b[1], b[2], b[3])
	case 16:
		var out [39]byte
		n := 0
		for i := 0; i < 16; i++ {
			if i > 0 && i%2 == 0 {
				out[n] = ':'
				n++
			}
			out[n], out[n+1] = hexDigits[b[i]>>4], hexDigits[b[i]&0xf]
			n += 2
		}
		return string(out[:n])
	}
	return ""
}

// Buffers returns the multi-buffer a rule keyword inspects, by the engine's
// buffer name: "dns.query" (alias "dns_query") yields one entry per question
// name. The second result is false for names this package does not supply.
func (m *Message) Buffers(name string) ([][]byte, bool) {
	switch name {
	case "dns.query", "dns_query":
		return m.QueryNames(), true
	}
	return nil, false
}
