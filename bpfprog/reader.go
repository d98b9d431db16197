package bpfprog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/cilium/ebpf/ringbuf"
	"golang.org/x/sys/unix"
)

// Header flags.
const (
	FlagTruncated = 0x1  // CapLen < OrigLen
	FlagGSO       = 0x2  // a GSO super-frame (several wire packets)
	FlagVLANAccel = 0x4  // VLANTCI came from skb metadata, not the bytes
	FlagFlow      = 0x8  // an IPv4/IPv6 flow key was parsed
	FlagFragment  = 0x10 // an IP fragment (keyed without ports)
)

// Header describes one captured packet.
type Header struct {
	Mono     time.Duration // CLOCK_MONOTONIC at capture
	Wall     time.Time     // wall clock at capture (from CLOCK_TAI)
	Ifindex  uint32
	Hook     Hook
	Dir      Direction
	OrigLen  uint32 // length of the frame as the kernel had it
	CapLen   uint32 // bytes in Data
	Flags    uint16
	VLANTCI  uint16 // when FlagVLANAccel
	Protocol uint16 // skb->protocol (EtherType), host order
	Zone     uint32
}

// Record is one packet from the ring buffer. Data aliases a buffer the
// Reader reuses: it is valid until the next Read with the same Record.
type Record struct {
	Header
	Data []byte
	raw  ringbuf.Record
}

// ErrClosed is returned by Read after Close.
var ErrClosed = errors.New("bpfprog: reader closed")

// Reader reads records from the ring buffer. One goroutine reads; Close may
// be called from any.
type Reader struct {
	rb       *ringbuf.Reader
	interval time.Duration
	taiToRT  int64 // CLOCK_REALTIME - CLOCK_TAI in ns

	mu       sync.Mutex
	deadline time.Time
}

// ReaderOptions configure NewReader.
type ReaderOptions struct {
	// PollInterval bounds how long a record below the wake-up mark waits
	// in the ring (the program wakes the reader only past WakeupBytes).
	// Default 20ms.
	PollInterval time.Duration
}

// NewReader opens a reader on the ring buffer. Only one reader should
// consume a ring at a time.
func (o *Objects) NewReader(opts ReaderOptions) (*Reader, error) {
	if opts.PollInterval <= 0 {
		opts.PollInterval = 20 * time.Millisecond
	}
	rb, err := ringbuf.NewReader(o.objs.Events)
	if err != nil {
		return nil, fmt.Errorf("bpfprog: open ring buffer reader: %w", err)
	}
	var tai, rt unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_TAI, &tai); err != nil {
		rb.Close()
		return nil, fmt.Errorf("bpfprog: read CLOCK_TAI: %w", err)
	}
	if err := unix.ClockGettime(unix.CLOCK_REALTIME, &rt); err != nil {
		rb.Close()
		return nil, fmt.Errorf("bpfprog: read CLOCK_REALTIME: %w", err)
	}
	r := &Reader{rb: rb, interval: opts.PollInterval}
	// TAI - UTC is a whole number of seconds (leap seconds); rounding
	// removes the few ns between the two reads.
	r.taiToRT = int64(time.Duration(rt.Nano() - tai.Nano()).Round(time.Second))
	rb.SetDeadline(time.Now().Add(r.interval))
	return r, nil
}

// SetDeadline makes Read return os.ErrDeadlineExceeded once t has passed
// and the ring is empty. The zero time removes the deadline.
func (r *Reader) SetDeadline(t time.Time) {
	r.mu.Lock()
	r.deadline = t
	r.mu.Unlock()
}

// Pending returns the bytes waiting in the ring.
func (r *Reader) Pending() int { return r.rb.AvailableBytes() }

// Read blocks for the next record and decodes it into rec, reusing rec's
// buffer.
func (r *Reader) Read(rec *Record) error {
	for {
		err := r.rb.ReadInto(&rec.raw)
		if err == nil {
			return r.decode(rec)
		}
		if errors.Is(err, ringbuf.ErrClosed) || errors.Is(err, os.ErrClosed) {
			return ErrClosed
		}
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			return fmt.Errorf("bpfprog: read ring buffer: %w", err)
		}
		// The internal deadline fired: records written with NO_WAKEUP
		// have been drained; wait another interval unless the caller's
		// deadline has passed.
		now := time.Now()
		r.mu.Lock()
		d := r.deadline
		r.mu.Unlock()
		if !d.IsZero() && !now.Before(d) {
			r.rb.SetDeadline(now.Add(r.interval))
			return os.ErrDeadlineExceeded
		}
		next := now.Add(r.interval)
		if !d.IsZero() && d.Before(next) {
			next = d
		}
		r.rb.SetDeadline(next)
	}
}

func (r *Reader) decode(rec *Record) error {
	b := rec.raw.RawSample
	if len(b) < HeaderSize {
		return fmt.Errorf("bpfprog: short ring buffer record (%d bytes): program and reader disagree on the header; regenerate bindings", len(b))
	}
	le := binary.LittleEndian
	h := &rec.Header
	h.Mono = time.Duration(le.Uint64(b[0:]))
	h.Wall = time.Unix(0, int64(le.Uint64(b[8:]))+r.taiToRT)
	h.Ifindex = le.Uint32(b[16:])
	h.OrigLen = le.Uint32(b[20:])
	h.CapLen = le.Uint32(b[24:])
	h.Flags = le.Uint16(b[28:])
	h.VLANTCI = le.Uint16(b[30:])
	h.Protocol = le.Uint16(b[32:])
	h.Hook = Hook(b[34])
	h.Dir = Direction(b[35])
	h.Zone = le.Uint32(b[36:])
	end := HeaderSize + int(h.CapLen)
	if end > len(b) {
		return fmt.Errorf("bpfprog: record claims %d bytes, has %d", h.CapLen, len(b)-HeaderSize)
	}
	rec.Data = b[HeaderSize:end]
	return nil
}

// Close stops the reader; a blocked Read returns ErrClosed.
func (r *Reader) Close() error {
	if err := r.rb.Close(); err != nil {
		return fmt.Errorf("bpfprog: close ring buffer reader: %w", err)
	}
	return nil
}
