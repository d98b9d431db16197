package decode

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"os"
	"time"
)

// CaptureInfo describes one captured frame.
type CaptureInfo struct {
	Timestamp     time.Time
	CaptureLength int
	Length        int
	// LinkType is the file's link type, or for pcapng the link type of the
	// interface that captured this frame.
	LinkType LinkType
}

// PcapReader reads pcap (micro- or nanosecond, either byte order,
// optionally gzipped) and pcapng capture files.
//
// It is a small native reader rather than gopacket's pcapgo: pcapgo's
// package also holds a Linux live-capture source that pulls in
// golang.org/x/net, which the module does not carry.
type PcapReader struct {
	path string
	f    *os.File
	gz   *gzip.Reader
	r    *bufio.Reader
	fr   *bufio.Reader // reads f (r reads the gzip stream of a .gz capture)
	rb   *ReadBuffers  // where fr and buf go back on Close, if set
	n    int           // packets returned so far
	lt   LinkType
	hdr  [32]byte
	buf  []byte // the current record or block body; reused
	bo   binary.ByteOrder

	// pcap
	nanoFactor int64 // 1 for nanosecond files, 1000 for microsecond
	snaplen    int

	// pcapng
	ng     bool
	ifaces []ngInterface

	// err is sticky: after a broken record the stream position is
	// unknown, so every later Next repeats the error.
	err error
}

type ngInterface struct {
	lt      LinkType
	snaplen int
	units   uint64 // timestamp units per second
	offset  int64  // seconds added to every timestamp (if_tsoffset)
}

// Magic numbers at the start of capture files, read little-endian.
const (
	magicPcapMicro   = 0xa1b2c3d4
	magicPcapNano    = 0xa1b23c4d
	magicPcapMicroBE = 0xd4c3b2a1
	magicPcapNanoBE  = 0x4d3cb2a1
	magicPcapNG      = 0x0a0d0d0a
)

// pcapng block types.
const (
	ngBlockOldPacket    = 0x00000002
	ngBlockIDB          = 0x00000001
	ngBlockSimplePacket = 0x00000003
	ngBlockEPB          = 0x00000006
	ngBlockSHB          = magicPcapNG
)

const ngByteOrderMagic uint32 = 0x1a2b3c4d

const (
	// maxRecord bounds a single record or block: GSO frames reach 64 KiB
	// and some writers exceed their snap length, but a larger value means
	// a corrupt file, and must not become a huge allocation.
	maxRecord = 16 << 20
)

// ErrCorruptCapture is wrapped by errors about capture files whose
// structure is broken (as opposed to cut short, io.ErrUnexpectedEOF).
var ErrCorruptCapture = errors.New("corrupt capture")

// OpenPcap opens a pcap or pcapng file, telling them apart by their magic
// number.
func OpenPcap(path string) (*PcapReader, error) { return OpenPcapWith(path, nil) }

// ReadBuffers holds a capture reader's buffers (128 KiB) between files, for
// a caller that reads many captures one after the other, such as a replay
// of a directory of small ones: without it each file costs fresh memory
// the garbage collector must then reclaim while detection runs.
type ReadBuffers struct {
	br  *bufio.Reader
	buf []byte
}

// OpenPcapWith is OpenPcap reusing rb's buffers (nil: fresh ones). They
// return to rb when the reader is closed; rb serves one open reader at a
// time.
func OpenPcapWith(path string, rb *ReadBuffers) (*PcapReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open capture %s: %w", path, err)
	}
	r := &PcapReader{path: path, f: f, rb: rb}
	if rb != nil && rb.br != nil {
		rb.br.Reset(f)
		r.fr, r.buf = rb.br, rb.buf[:0]
		rb.br, rb.buf = nil, nil
	} else {
		r.fr = bufio.NewReaderSize(f, 64<<10)
	}
	r.r = r.fr
	if err := r.open(); err != nil {
		r.Close()
		return nil, fmt.Errorf("capture %s: %w", path, err)
	}
	return r, nil
}

func (r *PcapReader) open() error {
	magic, err := r.r.Peek(4)
	if err != nil {
		return fmt.Errorf("reading magic number: %w", err)
	}
	if magic[0] == 0x1f && magic[1] == 0x8b {
		if r.gz, err = gzip.NewReader(r.r); err != nil {
			return fmt.Errorf("gzip: %w", err)
		}
		r.r = bufio.NewReaderSize(r.gz, 64<<10)
		if magic, err = r.r.Peek(4); err != nil {
			return fmt.Errorf("reading magic number: %w", err)
		}
	}
	switch m := binary.LittleEndian.Uint32(magic); m {
	case magicPcapMicro, magicPcapNano, magicPcapMicroBE, magicPcapNanoBE:
		return r.openPcap(m)
	case magicPcapNG:
		r.ng = true
		return r.openNg()
	default:
		return fmt.Errorf("not a pcap or pcapng file (magic %#08x)", m)
	}
}

func (r *PcapReader) openPcap(m uint32) error {
	if _, err := io.ReadFull(r.r, r.hdr[:24]); err != nil {
		return fmt.Errorf("pcap file header: %w", err)
	}
	r.bo, r.nanoFactor = binary.ByteOrder(binary.LittleEndian), 1000
	switch m {
	case magicPcapNano:
		r.nanoFactor = 1
	case magicPcapMicroBE:
		r.bo = binary.BigEndian
	case magicPcapNanoBE:
		r.bo, r.nanoFactor = binary.BigEndian, 1
	}
	if v := r.bo.Uint16(r.hdr[4:6]); v != 2 {
		return fmt.Errorf("pcap version %d not supported", v)
	}
	r.snaplen = int(r.bo.Uint32(r.hdr[16:20]))
	// The upper bits of the link-type word carry FCS information.
	r.lt = LinkType(r.bo.Uint32(r.hdr[20:24]) & 0xffff)
	return nil
}

// openNg reads blocks up to the first packet so LinkType is known; the
// packet itself stays in the buffer for the first Next.
func (r *PcapReader) openNg() error {
	r.lt = LinkEthernet
	for len(r.ifaces) == 0 {
		b, err := r.r.Peek(8)
		if err != nil {
			break // an empty or cut capture: Next reports EOF or the error
		}
		typ := binary.LittleEndian.Uint32(b[0:4])
		if r.bo != nil {
			typ = r.bo.Uint32(b[0:4])
		}
		if typ == ngBlockEPB || typ == ngBlockSimplePacket || typ == ngBlockOldPacket {
			break // a packet before any interface: Next reports it
		}
		if _, _, err := r.readNgBlock(); err != nil {
			return err
		}
	}
	if len(r.ifaces) > 0 {
		r.lt = r.ifaces[0].lt
	}
	return nil
}

// LinkType returns the file's link type; for pcapng, that of the first
// interface (LinkEthernet when the file declares none).
func (r *PcapReader) LinkType() LinkType { return r.lt }

// Next returns the next frame. data is owned by the reader and valid until
// the next call. At the end it returns io.EOF; a truncated or corrupt file
// returns an error naming the file and the packet number, after the packets
// before it.
func (r *PcapReader) Next() (data []byte, ci CaptureInfo, err error) {
	if r.err != nil {
		return nil, CaptureInfo{}, r.err
	}
	defer func() { r.err = err }()
	if r.ng {
		for data == nil && err == nil {
			data, ci, err = r.readNgBlock()
		}
	} else {
		data, ci, err = r.readPcapRecord()
	}
	if err != nil {
		if err == io.EOF {
			return nil, CaptureInfo{}, io.EOF
		}
		return nil, CaptureInfo{}, fmt.Errorf("capture %s: packet %d: %w", r.path, r.n+1, err)
	}
	r.n++
	return data, ci, nil
}

// fill reads n bytes into the reused buffer.
func (r *PcapReader) fill(n int) ([]byte, error) {
	if cap(r.buf) < n {
		r.buf = make([]byte, n, max(n, 64<<10))
	}
	b := r.buf[:n]
	if _, err := io.ReadFull(r.r, b); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return b, nil
}

func (r *PcapReader) readPcapRecord() ([]byte, CaptureInfo, error) {
	h := r.hdr[:16]
	if _, err := io.ReadFull(r.r, h); err != nil {
		// io.EOF only when no byte of a record header was there.
		return nil, CaptureInfo{}, err
	}
	caplen, origlen := int(r.bo.Uint32(h[8:12])), int(r.bo.Uint32(h[12:16]))
	if caplen > maxRecord {
		return nil, CaptureInfo{}, fmt.Errorf("%w: record length %d", ErrCorruptCapture, caplen)
	}
	data, err := r.fill(caplen)
	if err != nil {
		return nil, CaptureInfo{}, err
	}
	ts := time.Unix(int64(r.bo.Uint32(h[0:4])), int64(r.bo.Uint32(h[4:8]))*r.nanoFactor).UTC()
	return data, CaptureInfo{Timestamp: ts, CaptureLength: caplen, Length: max(origlen, caplen), LinkType: r.lt}, nil
}

// readNgBlock reads one pcapng block. It returns a frame for packet blocks
// and nil data for the others (section and interface headers are applied,
// the rest skipped).
func (r *PcapReader) readNgBlock() ([]byte, CaptureInfo, error) {
	h := r.hdr[:12]
	if _, err := io.ReadFull(r.r, h[:8]); err != nil {
		return nil, CaptureInfo{}, err
	}
	typ := binary.LittleEndian.Uint32(h[0:4])
	if typ == ngBlockSHB {
		// The byte-order magic after the length decides how this and
		// every later block of the section is read.
		if _, err := io.ReadFull(r.r, h[8:12]); err != nil {
			return nil, CaptureInfo{}, fmt.Errorf("pcapng section header: %w", noEOF(err))
		}
		switch ngByteOrderMagic {
		case binary.LittleEndian.Uint32(h[8:12]):
			r.bo = binary.LittleEndian
		case binary.BigEndian.Uint32(h[8:12]):
			r.bo = binary.BigEndian
		default:
			return nil, CaptureInfo{}, fmt.Errorf("%w: pcapng byte-order magic %x", ErrCorruptCapture, h[8:12])
		}
		r.ifaces = r.ifaces[:0]
		blen := int(r.bo.Uint32(h[4:8]))
		if blen < 28 || blen > maxRecord {
			return nil, CaptureInfo{}, fmt.Errorf("%w: section header length %d", ErrCorruptCapture, blen)
		}
		_, err := r.fill(blen - 12)
		return nil, CaptureInfo{}, noEOF(err)
	}
	if r.bo == nil {
		return nil, CaptureInfo{}, fmt.Errorf("%w: pcapng block before section header", ErrCorruptCapture)
	}
	typ = r.bo.Uint32(h[0:4])
	blen := int(r.bo.Uint32(h[4:8]))
	if blen < 12 || blen > maxRecord {
		return nil, CaptureInfo{}, fmt.Errorf("%w: pcapng block length %d", ErrCorruptCapture, blen)
	}
	// body excludes the type, length and trailing length words.
	b, err := r.fill(blen - 8)
	if err != nil {
		return nil, CaptureInfo{}, err
	}
	body := b[:len(b)-4]
	switch typ {
	case ngBlockIDB:
		return nil, CaptureInfo{}, r.addInterface(body)
	case ngBlockEPB:
		if len(body) < 20 {
			return nil, CaptureInfo{}, fmt.Errorf("%w: short enhanced packet block", ErrCorruptCapture)
		}
		return r.ngPacket(int(r.bo.Uint32(body[0:4])), uint64(r.bo.Uint32(body[4:8]))<<32|uint64(r.bo.Uint32(body[8:12])),
			int(r.bo.Uint32(body[12:16])), int(r.bo.Uint32(body[16:20])), body[20:])
	case ngBlockOldPacket:
		if len(body) < 20 {
			return nil, CaptureInfo{}, fmt.Errorf("%w: short packet block", ErrCorruptCapture)
		}
		return r.ngPacket(int(r.bo.Uint16(body[0:2])), uint64(r.bo.Uint32(body[4:8]))<<32|uint64(r.bo.Uint32(body[8:12])),
			int(r.bo.Uint32(body[12:16])), int(r.bo.Uint32(body[16:20])), body[20:])
	case ngBlockSimplePacket:
		if len(body) < 4 {
			return nil, CaptureInfo{}, fmt.Errorf("%w: short simple packet block", ErrCorruptCapture)
		}
		orig := int(r.bo.Uint32(body[0:4]))
		caplen := min(orig, len(body)-4)
		if len(r.ifaces) > 0 && r.ifaces[0].snaplen > 0 {
			caplen = min(caplen, r.ifaces[0].snaplen)
		}
		data, ci, err := r.ngPacket(0, 0, caplen, orig, body[4:])
		ci.Timestamp = time.Time{} // simple packets carry no time
		return data, ci, err
	}
	return nil, CaptureInfo{}, nil
}

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

func (r *PcapReader) addInterface(body []byte) error {
	if len(body) < 8 {
		return fmt.Errorf("%w: short interface description block", ErrCorruptCapture)
	}
	ifc := ngInterface{lt: LinkType(r.bo.Uint16(body[0:2])), snaplen: int(r.bo.Uint32(body[4:8])), units: 1e6}
	// Options: code, length, value padded to 4 bytes.
	for opts := body[8:]; len(opts) >= 4; {
		code, olen := r.bo.Uint16(opts[0:2]), int(r.bo.Uint16(opts[2:4]))
		if code == 0 || 4+olen > len(opts) {
			break
		}
		v := opts[4 : 4+olen]
		switch {
		case code == 9 && olen >= 1: // if_tsresol
			e := uint64(v[0] & 0x7f)
			if v[0]&0x80 != 0 {
				if e > 63 {
					return fmt.Errorf("%w: timestamp resolution 2^-%d", ErrCorruptCapture, e)
				}
				ifc.units = 1 << e
			} else {
				if e > 19 {
					return fmt.Errorf("%w: timestamp resolution 10^-%d", ErrCorruptCapture, e)
				}
				ifc.units = 1
				for range e {
					ifc.units *= 10
				}
			}
		case code == 14 && olen >= 8: // if_tsoffset
			ifc.offset = int64(r.bo.Uint64(v[0:8]))
		}
		opts = opts[4+(olen+3)&^3:]
	}
	r.ifaces = append(r.ifaces, ifc)
	return nil
}

func (r *PcapReader) ngPacket(iface int, ts uint64, caplen, orig int, rest []byte) ([]byte, CaptureInfo, error) {
	if iface < 0 || iface >= len(r.ifaces) {
		return nil, CaptureInfo{}, fmt.Errorf("%w: packet on undeclared interface %d", ErrCorruptCapture, iface)
	}
	if caplen < 0 || caplen > len(rest) {
		return nil, CaptureInfo{}, fmt.Errorf("%w: captured length %d exceeds block", ErrCorruptCapture, caplen)
	}
	ifc := &r.ifaces[iface]
	sec, frac := ts/ifc.units, ts%ifc.units
	// frac < units, so the high word is below the divisor: no overflow.
	hi, lo := bits.Mul64(frac, 1e9)
	nsec, _ := bits.Div64(hi, lo, ifc.units)
	t := time.Unix(int64(sec)+ifc.offset, int64(nsec)).UTC()
	return rest[:caplen:caplen], CaptureInfo{Timestamp: t, CaptureLength: caplen, Length: max(orig, caplen), LinkType: ifc.lt}, nil
}

// Close closes the file.
func (r *PcapReader) Close() error {
	if r.gz != nil {
		r.gz.Close()
	}
	if r.rb != nil && r.fr != nil {
		r.fr.Reset(nil)
		r.rb.br, r.rb.buf = r.fr, r.buf[:0]
		r.fr, r.buf = nil, nil
	}
	if err := r.f.Close(); err != nil {
		return fmt.Errorf("close capture %s: %w", r.path, err)
	}
	return nil
}
