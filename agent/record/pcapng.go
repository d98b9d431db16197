package record

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// pcapng is written by hand: the blocks tapwatch needs (section header,
// interface description, enhanced packet) are short, and gopacket's pcapgo
// drags in golang.org/x/net. Files are little-endian with nanosecond
// timestamps (if_tsresol = 9).
const (
	blockSHB = 0x0a0d0d0a
	blockIDB = 0x00000001
	blockEPB = 0x00000006

	optEnd       = 0
	optComment   = 1
	optIfName    = 2
	optIfDescr   = 3
	optIfTsresol = 9

	linkEthernet = 1
	snapLen      = 262144

	// flowPrefix starts the EPB comment carrying the flow ID, so Wireshark
	// shows it and `frame.comment contains "flow_id=N"` filters by it.
	flowPrefix = "flow_id="
)

var le = binary.LittleEndian

func pad4(n int) int { return (n + 3) &^ 3 }

// ngWriter encodes pcapng blocks into w, reusing one scratch buffer.
type ngWriter struct {
	w   io.Writer
	buf []byte
	opt []byte
}

func appendOpt[T string | []byte](b []byte, code uint16, v T) []byte {
	b = le.AppendUint16(b, code)
	b = le.AppendUint16(b, uint16(len(v)))
	b = append(b, v...)
	return appendPad(b, len(v))
}

// appendPad pads n bytes just appended to a 32-bit boundary.
func appendPad(b []byte, n int) []byte {
	var zero [3]byte
	return append(b, zero[:pad4(n)-n]...)
}

// appendBlock closes the block begun at start: its length goes into the
// header and the trailer.
func appendBlock(b []byte, start int) []byte {
	b = le.AppendUint32(b, 0)
	n := uint32(len(b) - start)
	le.PutUint32(b[start+4:], n)
	le.PutUint32(b[len(b)-4:], n)
	return b
}

func appendSectionHeader(b []byte) []byte {
	start := len(b)
	b = le.AppendUint32(b, blockSHB)
	b = le.AppendUint32(b, 0)
	b = le.AppendUint32(b, 0x1a2b3c4d)
	b = le.AppendUint16(b, 1)
	b = le.AppendUint16(b, 0)
	b = le.AppendUint64(b, ^uint64(0)) // section length unknown
	b = appendOpt(b, 4, "tapwatch")    // shb_userappl
	b = appendOpt(b, optEnd, "")
	return appendBlock(b, start)
}

func appendInterfaceDescription(b []byte, iface, vm string) []byte {
	start := len(b)
	b = le.AppendUint32(b, blockIDB)
	b = le.AppendUint32(b, 0)
	b = le.AppendUint16(b, linkEthernet)
	b = le.AppendUint16(b, 0)
	b = le.AppendUint32(b, snapLen)
	b = appendOpt(b, optIfName, iface)
	b = appendOpt(b, optIfDescr, "vm "+vm) // once per segment
	b = appendOpt(b, optIfTsresol, "\x09")
	b = appendOpt(b, optEnd, "")
	return appendBlock(b, start)
}

// maxFlowOpts is the most appendFlowOpts adds: a comment of flowPrefix and
// 20 digits, and the end of options.
const maxFlowOpts = 4 + (len(flowPrefix)+20+3)&^3 + 4

// appendFlowOpts appends an enhanced packet block's options: the flow
// comment and the end of options. They depend on the flow alone, so the
// writer encodes them once per flow and segment.
func appendFlowOpts(b []byte, flowID uint64) []byte {
	var num [len(flowPrefix) + 20]byte
	v := strconv.AppendUint(append(num[:0], flowPrefix...), flowID, 10)
	b = appendOpt(b, optComment, v)
	return appendOpt(b, optEnd, "")
}

// epbLen is the size of an enhanced packet block of n bytes with options
// of optLen bytes.
func epbLen(n, optLen int) int { return 28 + pad4(n) + optLen + 4 }

// appendEnhancedPacket appends an enhanced packet block; opts come from
// appendFlowOpts.
func appendEnhancedPacket(b []byte, ifaceID uint32, ns int64, data []byte, origLen int, opts []byte) []byte {
	total := uint32(epbLen(len(data), len(opts)))
	var h [28]byte
	le.PutUint32(h[0:], blockEPB)
	le.PutUint32(h[4:], total)
	le.PutUint32(h[8:], ifaceID)
	le.PutUint32(h[12:], uint32(uint64(ns)>>32))
	le.PutUint32(h[16:], uint32(ns))
	le.PutUint32(h[20:], uint32(len(data)))
	le.PutUint32(h[24:], uint32(max(origLen, len(data))))
	b = append(b, h[:]...)
	b = append(b, data...)
	b = appendPad(b, len(data))
	b = append(b, opts...)
	return le.AppendUint32(b, total)
}

func (e *ngWriter) sectionHeader() (int, error) {
	e.buf = appendSectionHeader(e.buf[:0])
	return e.w.Write(e.buf)
}

func (e *ngWriter) interfaceDescription(iface, vm string) (int, error) {
	e.buf = appendInterfaceDescription(e.buf[:0], iface, vm)
	return e.w.Write(e.buf)
}

func (e *ngWriter) enhancedPacket(ifaceID uint32, ts time.Time, flowID uint64, data []byte, origLen int) (int, error) {
	e.opt = appendFlowOpts(e.opt[:0], flowID)
	e.buf = appendEnhancedPacket(e.buf[:0], ifaceID, ts.UnixNano(), data, origLen, e.opt)
	return e.w.Write(e.buf)
}

// recPacket is one packet read back from a segment.
type recPacket struct {
	iface   string
	vm      string
	ts      time.Time
	flowID  uint64
	data    []byte // valid until the next read
	origLen int
}

var errCorrupt = errors.New("corrupt segment")

// ngReader reads the segments this package writes (little-endian, one
// section, nanosecond timestamps). It is not a general pcapng reader.
type ngReader struct {
	r      *bufio.Reader
	ifaces []struct{ name, vm string }
	buf    []byte
	off    int64 // bytes consumed: the end of the last complete block
}

func newNgReader(r io.Reader) *ngReader {
	return &ngReader{r: bufio.NewReaderSize(r, 64<<10)}
}

// next returns the next packet; io.EOF at a clean end, io.ErrUnexpectedEOF
// for a block cut short (a crash mid-write).
func (d *ngReader) next(p *recPacket) error {
	for {
		var h [8]byte
		if _, err := io.ReadFull(d.r, h[:]); err != nil {
			if err == io.EOF {
				return io.EOF
			}
			return io.ErrUnexpectedEOF
		}
		typ, n := le.Uint32(h[0:4]), int(le.Uint32(h[4:8]))
		if n < 12 || n%4 != 0 || n > 16<<20 {
			return fmt.Errorf("%w: block length %d at offset %d", errCorrupt, n, d.off)
		}
		if cap(d.buf) < n-8 {
			d.buf = make([]byte, n-8)
		}
		body := d.buf[:n-8]
		if _, err := io.ReadFull(d.r, body); err != nil {
			return io.ErrUnexpectedEOF
		}
		d.off += int64(n)
		body = body[:len(body)-4]
		switch typ {
		case blockSHB:
			if len(body) < 16 || le.Uint32(body[0:4]) != 0x1a2b3c4d {
				return fmt.Errorf("%w: not a little-endian tapwatch section", errCorrupt)
			}
			d.ifaces = d.ifaces[:0]
		case blockIDB:
			if len(body) < 8 {
				return fmt.Errorf("%w: short interface block", errCorrupt)
			}
			var ifc struct{ name, vm string }
			eachOpt(body[8:], func(code uint16, v []byte) {
				switch code {
				case optIfName:
					ifc.name = string(v)
				case optIfDescr:
					ifc.vm = strings.TrimPrefix(string(v), "vm ")
				}
			})
			d.ifaces = append(d.ifaces, ifc)
		case blockEPB:
			if len(body) < 20 {
				return fmt.Errorf("%w: short packet block", errCorrupt)
			}
			id := int(le.Uint32(body[0:4]))
			capLen := int(le.Uint32(body[12:16]))
			if id >= len(d.ifaces) || 20+capLen > len(body) {
				return fmt.Errorf("%w: packet block at offset %d", errCorrupt, d.off-int64(n))
			}
			ns := uint64(le.Uint32(body[4:8]))<<32 | uint64(le.Uint32(body[8:12]))
			*p = recPacket{iface: d.ifaces[id].name, vm: d.ifaces[id].vm, ts: time.Unix(0, int64(ns)).UTC(),
				data: body[20 : 20+capLen], origLen: int(le.Uint32(body[16:20]))}
			eachOpt(body[20+pad4(capLen):], func(code uint16, v []byte) {
				if code == optComment && strings.HasPrefix(string(v), flowPrefix) {
					p.flowID, _ = strconv.ParseUint(string(v[len(flowPrefix):]), 10, 64)
				}
			})
			return nil
		}
	}
}

func eachOpt(b []byte, f func(code uint16, v []byte)) {
	for len(b) >= 4 {
		code, n := le.Uint16(b[0:2]), int(le.Uint16(b[2:4]))
		if code == optEnd || 4+n > len(b) {
			return
		}
		f(code, b[4:4+n])
		b = b[min(len(b), 4+pad4(n)):]
	}
}
