package ssh

import (
	"bytes"
	"errors"
	"fmt"
)

// MaxLineLen is the longest identification line RFC 4253 allows, CR LF
// included. Other lines before it are held to the same bound.
const MaxLineLen = 255

// Errors Parse and Parser report; each is wrapped with the detail.
var (
	// ErrNotSSH: the line does not start with "SSH-".
	ErrNotSSH = errors.New("not an SSH identification line")
	// ErrMalformed: the line starts with "SSH-" but its fields are wrong.
	ErrMalformed = errors.New("malformed SSH identification line")
	// ErrTooLong: the line, or what came before it, exceeds the bounds.
	ErrTooLong = errors.New("SSH identification too long")
)

// Banner is one side's identification line, split into its fields. The
// slices alias the line they were parsed from.
type Banner struct {
	// Line is the whole line without its line terminator, e.g.
	// "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3".
	Line []byte
	// ProtoVersion is "2.0" (or "1.99" for servers that also speak SSH 1,
	// "1.5" for SSH 1 only): Suricata's ssh.proto buffer.
	ProtoVersion []byte
	// SoftwareVersion is e.g. "OpenSSH_9.2p1": Suricata's ssh.software.
	SoftwareVersion []byte
	// Comments is what follows the first space, nil when there is none.
	Comments []byte
}

var prefix = []byte("SSH-")

// Parse reads one identification line. line may end in CR LF or LF (or
// nothing); its length, terminator included, may not exceed MaxLineLen.
// Errors wrap ErrNotSSH, ErrMalformed or ErrTooLong.
func Parse(line []byte) (Banner, error) {
	if len(line) > MaxLineLen {
		return Banner{}, fmt.Errorf("%d bytes, at most %d allowed: %w", len(line), MaxLineLen, ErrTooLong)
	}
	line = bytes.TrimSuffix(line, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	if !bytes.HasPrefix(line, prefix) {
		return Banner{}, ErrNotSSH
	}
	for i, c := range line {
		if c < 0x20 || c > 0x7e {
			return Banner{}, fmt.Errorf("byte %#02x at %d is not printable US-ASCII: %w", c, i, ErrMalformed)
		}
	}
	b := Banner{Line: line}
	rest := line[len(prefix):]
	dash := bytes.IndexByte(rest, '-')
	if sp := bytes.IndexByte(rest, ' '); dash < 0 || (sp >= 0 && sp < dash) {
		return Banner{}, fmt.Errorf("no '-' after the protocol version: %w", ErrMalformed)
	}
	if dash == 0 {
		return Banner{}, fmt.Errorf("empty protocol version: %w", ErrMalformed)
	}
	b.ProtoVersion, rest = rest[:dash], rest[dash+1:]
	if sp := bytes.IndexByte(rest, ' '); sp >= 0 {
		b.SoftwareVersion, b.Comments = rest[:sp], rest[sp+1:]
	} else {
		b.SoftwareVersion = rest
	}
	if len(b.SoftwareVersion) == 0 {
		return Banner{}, fmt.Errorf("empty software version: %w", ErrMalformed)
	}
	return b, nil
}

// Probe reports whether data, the first bytes of either direction of a
// connection, starts like SSH. It judges by content alone, so SSH on any
// port is found; fewer than four bytes are not enough to tell.
func Probe(data []byte) bool {
	return bytes.HasPrefix(data, prefix)
}
