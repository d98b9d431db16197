package ssh

import (
	"bytes"
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

// maxOtherLines bounds the lines a side may send before its identification
// line. RFC 4253 lets a server send some (banners, notices); more than a few
// is not SSH, and the bound keeps a hostile peer from being read forever.
const maxOtherLines = 8

// Parser reads the identification lines of one connection's two
// reassembled streams. The zero value is ready to use.
type Parser struct {
	half [2]half
}

type half struct {
	buf    []byte // the line being gathered, at most MaxLineLen bytes
	other  int    // lines skipped before the identification line
	done   bool
	banner Banner
	ok     bool
	err    error
}

// Feed consumes data, the next in-order bytes of dir's stream. Bytes after
// the identification line (or after an error) are ignored.
func (p *Parser) Feed(dir Dir, data []byte) {
	h := &p.half[dir&1]
	for len(data) > 0 && !h.done {
		i := bytes.IndexByte(data, '\n')
		chunk := data
		if i >= 0 {
			chunk = data[:i+1]
		}
		data = data[len(chunk):]
		if len(h.buf)+len(chunk) > MaxLineLen {
			h.stop(fmt.Errorf("line over %d bytes: %w", MaxLineLen, ErrTooLong))
			return
		}
		if i < 0 {
			h.buf = append(h.buf, chunk...)
			return
		}
		line := chunk
		if len(h.buf) > 0 {
			h.buf = append(h.buf, chunk...)
			line = h.buf
		}
		h.line(line)
		h.buf = h.buf[:0]
	}
}

// line handles one complete line (terminator included).
func (h *half) line(line []byte) {
	if !bytes.HasPrefix(line, prefix) {
		if h.other++; h.other > maxOtherLines {
			h.stop(fmt.Errorf("%d lines before the identification line: %w", h.other, ErrTooLong))
		}
		return
	}
	// The banner's slices must outlive the caller's data: keep a copy.
	own := append([]byte(nil), line...)
	b, err := Parse(own)
	if err != nil {
		h.stop(err)
		return
	}
	h.banner, h.ok = b, true
	h.stop(nil)
}

func (h *half) stop(err error) {
	h.done, h.err, h.buf = true, err, nil
}

// Banner returns dir's identification line once it was read.
func (p *Parser) Banner(dir Dir) (*Banner, bool) {
	h := &p.half[dir&1]
	if !h.ok {
		return nil, false
	}
	return &h.banner, true
}

// Done reports whether dir needs no more bytes: its identification line
// was read, or reading it failed.
func (p *Parser) Done(dir Dir) bool { return p.half[dir&1].done }

// Err returns why reading dir's identification line failed, or nil.
func (p *Parser) Err(dir Dir) error { return p.half[dir&1].err }
