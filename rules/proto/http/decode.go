package http

import (
	"bytes"
	"compress/flate"
	"compress/zlib"
	"io"
)

type coding uint8

const (
	codeGzip coding = iota + 1
	codeDeflate
)

// coded is the Content-Encoding state of one body.
type coded struct {
	enc     []coding
	raw     []byte // encoded body awaiting decode
	decoded bool
}

// setEncodings reads Content-Encoding into the list of layers to undo, in
// the order the server applied them. Tokens are matched loosely (NULs and
// odd separators ignored, "x-gzip", "gzip_x"...) because the client's
// decoder is what the attacker targets, and browsers are lenient.
func (p *Parser) setEncodings(t *Tx, c *coded, hs []Header) {
	c.enc = c.enc[:0]
	if p.cfg.DecompressLayerLimit < 0 {
		return
	}
	v, ok := findHeader(hs, "Content-Encoding")
	if !ok {
		return
	}
	tok := make([]byte, 0, 16)
	flush := func() {
		if len(tok) == 0 {
			return
		}
		switch {
		case bytes.Contains(tok, []byte("gzip")):
			c.enc = append(c.enc, codeGzip)
		case bytes.Contains(tok, []byte("deflate")):
			c.enc = append(c.enc, codeDeflate)
		case string(tok) == "identity" || string(tok) == "none":
		default:
			t.event(EvUnknownContentEncoding)
		}
		tok = tok[:0]
	}
	for _, c := range v {
		switch {
		case c == 0:
			continue
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
			tok = append(tok, lower(c))
		default:
			flush()
		}
	}
	flush()
	if len(c.enc) > p.cfg.DecompressLayerLimit {
		t.event(EvTooManyEncodings)
	}
}

// decodeBody undoes the content codings once the body is complete. A layer
// that does not decode is skipped and the data passed on as is, as libhtp
// falls back to the raw body.
func (p *Parser) decodeBody(t *Tx, c *coded, dst *[]byte, limit int) {
	if c.decoded || len(c.enc) == 0 {
		c.decoded = true
		return
	}
	c.decoded = true
	data := c.raw
	layers, fresh := 0, false
	for i := len(c.enc) - 1; i >= 0 && layers < p.cfg.DecompressLayerLimit; i-- {
		layers++
		out, ok := p.dec.decompress(c.enc[i], data, limit)
		if !ok {
			t.event(EvDecompressFailed)
			continue
		}
		data, fresh = out, true
	}
	if len(data) > limit {
		data = data[:limit]
		t.event(EvBodyTruncated)
	}
	if fresh {
		*dst = data // freshly decoded: the tx can own it
	} else {
		*dst = append((*dst)[:0], data...)
	}
	c.raw = nil
}

// decompress undoes one gzip or deflate layer whatever framing the server
// really used (gzip header, zlib header, raw deflate), as lenient clients
// do: "gzip" with a zlib body and "deflate" with a gzip body are common
// evasions. Truncated or corrupt streams still give what decoded before the
// damage, where the framing makes that output credible.
func (d *decoders) decompress(c coding, in []byte, limit int) ([]byte, bool) {
	in = bytes.TrimLeft(in, "\r\n\t ")
	var best []byte
	keep := func(out []byte) {
		if len(out) > len(best) {
			best = out
		}
	}
	// A gzip magic is strong evidence: whatever inflates after it counts,
	// even when the header flags lie or the trailer is damaged.
	if len(in) >= 2 && in[0] == 0x1f && in[1] == 0x8b {
		if body, ok := gzipPayload(in); ok {
			out, _, _ := d.inflateRaw(body, limit)
			keep(out)
		}
		if len(best) == 0 && len(in) > 10 {
			out, _, _ := d.inflateRaw(in[10:], limit)
			keep(out)
		}
		if len(best) > 0 {
			return best, true
		}
	}
	// A zlib header carries its own check bits.
	if out, clean, _ := d.inflateZlib(in, limit); clean || len(out) >= len(in)/2 {
		keep(out)
	}
	// Raw deflate has no header at all and inflates plain text into
	// garbage, so only a stream that ends properly and uses up the input
	// (a gzip trailer at most) is believed.
	if len(best) == 0 {
		if out, clean, left := d.inflateRaw(in, limit); clean && left <= 8 {
			keep(out)
		}
	}
	if len(best) == 0 {
		return nil, false
	}
	_ = c // the declared coding only says that decoding is wanted
	return best, true
}

// gzipPayload skips an RFC 1952 header, honouring the optional fields its
// flags announce.
func gzipPayload(b []byte) ([]byte, bool) {
	if len(b) < 10 {
		return nil, false
	}
	flg := b[3]
	b = b[10:]
	if flg&0x04 != 0 { // FEXTRA
		if len(b) < 2 {
			return nil, false
		}
		n := int(b[0]) | int(b[1])<<8
		if len(b) < 2+n {
			return nil, false
		}
		b = b[2+n:]
	}
	for _, f := range []byte{0x08, 0x10} { // FNAME, FCOMMENT
		if flg&f != 0 {
			i := bytes.IndexByte(b, 0)
			if i < 0 {
				return nil, false
			}
			b = b[i+1:]
		}
	}
	if flg&0x02 != 0 { // FHCRC
		if len(b) < 2 {
			return nil, false
		}
		b = b[2:]
	}
	return b, true
}

// decoders keeps the inflate state of one parser for reuse: a fresh flate
// reader costs a 32 KiB window per body.
type decoders struct {
	fr  io.ReadCloser
	zr  io.ReadCloser
	src bytes.Reader
	buf []byte
}

// inflateRaw and inflateZlib return the output, whether the stream ended
// cleanly (or filled the limit) and how many input bytes were left unread.
func (d *decoders) inflateRaw(in []byte, limit int) ([]byte, bool, int) {
	d.src.Reset(in)
	if d.fr == nil {
		d.fr = flate.NewReader(&d.src)
	} else if err := d.fr.(flate.Resetter).Reset(&d.src, nil); err != nil {
		return nil, false, len(in)
	}
	out, clean := d.readLimited(d.fr, len(in), limit)
	return out, clean, d.src.Len()
}

func (d *decoders) inflateZlib(in []byte, limit int) ([]byte, bool, int) {
	d.src.Reset(in)
	if d.zr == nil {
		r, err := zlib.NewReader(&d.src)
		if err != nil {
			return nil, false, len(in)
		}
		d.zr = r
	} else if err := d.zr.(zlib.Resetter).Reset(&d.src, nil); err != nil {
		return nil, false, len(in)
	}
	out, clean := d.readLimited(d.zr, len(in), limit)
	return out, clean, d.src.Len()
}

// readLimited keeps what decoded before any error: a damaged tail must not
// hide the data before it. clean is false when the stream was corrupt or
// cut short; reaching the limit counts as clean.
func (d *decoders) readLimited(r io.Reader, inLen, limit int) (out []byte, clean bool) {
	if d.buf == nil {
		d.buf = make([]byte, 16<<10)
	}
	for len(out) < limit {
		n, err := r.Read(d.buf)
		if n > 0 && out == nil {
			out = make([]byte, 0, min(limit, max(4*inLen, n)))
		}
		out = append(out, d.buf[:n]...)
		if err != nil {
			clean = err == io.EOF
			break
		}
	}
	if len(out) >= limit {
		return out[:limit], true
	}
	return out, clean
}
