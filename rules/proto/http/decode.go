package http

import (
	"bytes"
	"io"
	"sync"

	// klauspost's inflate is a drop-in for the standard library's and
	// faster: response bodies are inflated for file.data whenever a rule
	// set has file.data rules (ET Open: 2-6% of its detection time).
	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/zlib"
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
	d := decoderPool.Get().(*decoders)
	defer d.done()
	data, slot := c.raw, -1
	layers := 0
	for i := len(c.enc) - 1; i >= 0 && layers < p.cfg.DecompressLayerLimit; i-- {
		layers++
		out, at, ok := d.decompress(c.enc[i], data, limit, slot)
		if !ok {
			t.event(EvDecompressFailed)
			continue
		}
		data, slot = out, at
	}
	if len(data) > limit {
		data = data[:limit]
		t.event(EvBodyTruncated)
	}
	// The decoded bytes are in a decoder slot, which goes back to the
	// pool, or still in c.raw: the tx takes that storage and gives its
	// own (empty while the body was encoded) in exchange, so the body is
	// not copied.
	if slot >= 0 {
		*dst, d.out[slot] = data, (*dst)[:0]
		c.raw = c.raw[:0]
	} else {
		*dst, c.raw = data, (*dst)[:0]
	}
}

// decompress undoes one gzip or deflate layer whatever framing the server
// really used (gzip header, zlib header, raw deflate), as lenient clients
// do: "gzip" with a zlib body and "deflate" with a gzip body are common
// evasions. Truncated or corrupt streams still give what decoded before the
// damage, where the framing makes that output credible.
//
// The output is in d.out[slot]; busy is the slot that holds in (-1: none),
// which must survive the call.
func (d *decoders) decompress(c coding, in []byte, limit, busy int) (out []byte, slot int, ok bool) {
	in = bytes.TrimLeft(in, "\r\n\t ")
	var best []byte
	bestSlot := -1
	// next returns a slot that holds neither the input nor the best
	// output so far.
	next := func() int {
		for i := range d.out {
			if i != busy && i != bestSlot {
				return i
			}
		}
		panic("http: no free decompression buffer")
	}
	// keep gives slot back its storage, grown or not, and makes out the
	// best so far when it is credible and longer.
	keep := func(slot int, out []byte, credible bool) {
		d.out[slot] = out[:0]
		if credible && len(out) > len(best) {
			best, bestSlot = out, slot
		}
	}
	// A gzip magic is strong evidence: whatever inflates after it counts,
	// even when the header flags lie or the trailer is damaged.
	if len(in) >= 2 && in[0] == 0x1f && in[1] == 0x8b {
		if body, ok := gzipPayload(in); ok {
			i := next()
			out, _, _ := d.inflateRaw(body, d.out[i], limit)
			keep(i, out, true)
		}
		if len(best) == 0 && len(in) > 10 {
			i := next()
			out, _, _ := d.inflateRaw(in[10:], d.out[i], limit)
			keep(i, out, true)
		}
		if len(best) > 0 {
			return best, bestSlot, true
		}
	}
	// A zlib header carries its own check bits.
	i := next()
	out, clean, _ := d.inflateZlib(in, d.out[i], limit)
	keep(i, out, clean || len(out) >= len(in)/2)
	// Raw deflate has no header at all and inflates plain text into
	// garbage, so only a stream that ends properly and uses up the input
	// (a gzip trailer at most) is believed.
	if len(best) == 0 {
		i := next()
		out, clean, left := d.inflateRaw(in, d.out[i], limit)
		keep(i, out, clean && left <= 8)
	}
	if len(best) == 0 {
		return nil, -1, false
	}
	_ = c // the declared coding only says that decoding is wanted
	return best, bestSlot, true
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

// decoders is the inflate state and scratch a body's decoding needs. A
// fresh flate reader costs a 32 KiB window, so parsers borrow decoders
// from decoderPool while they decode, rather than each keeping its own.
type decoders struct {
	fr  io.ReadCloser
	zr  io.ReadCloser
	src bytes.Reader
	buf []byte
	// out holds decoded outputs: a layer's input and the best two
	// candidate outputs of the next layer.
	out [3][]byte
}

var decoderPool = sync.Pool{New: func() any { return new(decoders) }}

// done returns d to the pool, without outputs too large to keep.
func (d *decoders) done() {
	for i, b := range d.out {
		d.out[i] = emptied(b)
	}
	d.src.Reset(nil)
	decoderPool.Put(d)
}

// inflateRaw and inflateZlib append the output to dst[:0] and return it,
// whether the stream ended cleanly (or filled the limit) and how many
// input bytes were left unread.
func (d *decoders) inflateRaw(in, dst []byte, limit int) ([]byte, bool, int) {
	d.src.Reset(in)
	if d.fr == nil {
		d.fr = flate.NewReader(&d.src)
	} else if err := d.fr.(flate.Resetter).Reset(&d.src, nil); err != nil {
		return dst[:0], false, len(in)
	}
	out, clean := d.readLimited(d.fr, dst, len(in), limit)
	return out, clean, d.src.Len()
}

func (d *decoders) inflateZlib(in, dst []byte, limit int) ([]byte, bool, int) {
	d.src.Reset(in)
	if d.zr == nil {
		r, err := zlib.NewReader(&d.src)
		if err != nil {
			return dst[:0], false, len(in)
		}
		d.zr = r
	} else if err := d.zr.(zlib.Resetter).Reset(&d.src, nil); err != nil {
		return dst[:0], false, len(in)
	}
	out, clean := d.readLimited(d.zr, dst, len(in), limit)
	return out, clean, d.src.Len()
}

// readLimited keeps what decoded before any error: a damaged tail must not
// hide the data before it. clean is false when the stream was corrupt or
// cut short; reaching the limit counts as clean. The output is appended to
// out[:0].
func (d *decoders) readLimited(r io.Reader, out []byte, inLen, limit int) ([]byte, bool) {
	if d.buf == nil {
		d.buf = make([]byte, 16<<10)
	}
	out = out[:0]
	clean := false
	for len(out) < limit {
		n, err := r.Read(d.buf)
		if n > 0 && cap(out) == 0 {
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
