package decode

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type testPkt struct {
	ts   time.Time
	data []byte
	orig int
}

func pcapBytes(bo binary.ByteOrder, nano bool, lt LinkType, pkts []testPkt) []byte {
	var b bytes.Buffer
	h := make([]byte, 24)
	magic := uint32(magicPcapMicro)
	if nano {
		magic = magicPcapNano
	}
	bo.PutUint32(h[0:4], magic)
	bo.PutUint16(h[4:6], 2)
	bo.PutUint16(h[6:8], 4)
	bo.PutUint32(h[16:20], 65535)
	bo.PutUint32(h[20:24], uint32(lt))
	b.Write(h)
	for _, p := range pkts {
		r := make([]byte, 16)
		bo.PutUint32(r[0:4], uint32(p.ts.Unix()))
		frac := p.ts.Nanosecond()
		if !nano {
			frac /= 1000
		}
		bo.PutUint32(r[4:8], uint32(frac))
		bo.PutUint32(r[8:12], uint32(len(p.data)))
		bo.PutUint32(r[12:16], uint32(max(p.orig, len(p.data))))
		b.Write(r)
		b.Write(p.data)
	}
	return b.Bytes()
}

func writeFile(t *testing.T, name string, b []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func readAll(t *testing.T, path string) ([]testPkt, []CaptureInfo, error) {
	t.Helper()
	r, err := OpenPcap(path)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer r.Close()
	var pkts []testPkt
	var cis []CaptureInfo
	for {
		data, ci, err := r.Next()
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			return pkts, cis, err
		}
		pkts = append(pkts, testPkt{ci.Timestamp, append([]byte(nil), data...), ci.Length})
		cis = append(cis, ci)
	}
}

func samplePkts(t *testing.T) []testPkt {
	return []testPkt{
		{time.Unix(1700000000, 123456000).UTC(), ethIPv4TCP(t), 0},
		{time.Unix(1700000001, 999999000).UTC(), ethIPv6TCP(t)[:40], 200},
		{time.Unix(1700000002, 0).UTC(), ethIPv4UDP(t), 0},
	}
}

func checkPkts(t *testing.T, got, want []testPkt) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d packets, want %d", len(got), len(want))
	}
	for i := range want {
		if !got[i].ts.Equal(want[i].ts) || !bytes.Equal(got[i].data, want[i].data) || got[i].orig != max(want[i].orig, len(want[i].data)) {
			t.Errorf("packet %d: ts %v len %d orig %d, want ts %v len %d orig %d", i+1, got[i].ts, len(got[i].data), got[i].orig,
				want[i].ts, len(want[i].data), want[i].orig)
		}
	}
}

func TestPcapVariants(t *testing.T) {
	want := samplePkts(t)
	for _, tc := range []struct {
		name string
		bo   binary.ByteOrder
		nano bool
	}{{"le-micro", binary.LittleEndian, false}, {"be-micro", binary.BigEndian, false}, {"le-nano", binary.LittleEndian, true}, {"be-nano", binary.BigEndian, true}} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, "x.pcap", pcapBytes(tc.bo, tc.nano, LinkSLL, want))
			r, err := OpenPcap(path)
			if err != nil {
				t.Fatal(err)
			}
			if r.LinkType() != LinkSLL {
				t.Errorf("link type %d", r.LinkType())
			}
			r.Close()
			got, cis, err := readAll(t, path)
			if err != nil {
				t.Fatal(err)
			}
			checkPkts(t, got, want)
			if cis[0].LinkType != LinkSLL || cis[1].CaptureLength != 40 || cis[1].Length != 200 {
				t.Errorf("capture info %+v", cis[1])
			}
		})
	}
}

func TestPcapGzip(t *testing.T) {
	want := samplePkts(t)
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(pcapBytes(binary.LittleEndian, false, LinkEthernet, want))
	zw.Close()
	got, _, err := readAll(t, writeFile(t, "x.pcap.gz", b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	checkPkts(t, got, want)
}

func TestPcapTruncatedFile(t *testing.T) {
	want := samplePkts(t)
	full := pcapBytes(binary.LittleEndian, false, LinkEthernet, want)
	path := writeFile(t, "cut.pcap", full[:len(full)-10]) // inside packet 3
	got, _, err := readAll(t, path)
	if len(got) != 2 {
		t.Errorf("%d packets before the error, want 2", len(got))
	}
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "packet 3") || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("error %v should name %s, packet 3 and wrap io.ErrUnexpectedEOF", err, path)
	}
	// Cut inside a record header.
	path = writeFile(t, "cut2.pcap", full[:24+16+len(want[0].data)+5])
	got, _, err = readAll(t, path)
	if len(got) != 1 || err == nil || !strings.Contains(err.Error(), "packet 2") {
		t.Errorf("cut in header: %d packets, err %v", len(got), err)
	}
	// A record claiming an absurd length is corrupt, not an allocation.
	bad := append([]byte(nil), full...)
	binary.LittleEndian.PutUint32(bad[24+8:], 0x7fffffff)
	got, _, err = readAll(t, writeFile(t, "bad.pcap", bad))
	if len(got) != 0 || !errors.Is(err, ErrCorruptCapture) || !strings.Contains(err.Error(), "packet 1") {
		t.Errorf("huge record: %d packets, err %v", len(got), err)
	}
}

func TestPcapNotACapture(t *testing.T) {
	for name, b := range map[string][]byte{"text": []byte("hello, this is not a pcap"), "empty": nil, "short": {0xd4, 0xc3}} {
		path := writeFile(t, name, b)
		if r, err := OpenPcap(path); err == nil {
			r.Close()
			t.Errorf("%s: opened", name)
		} else if !strings.Contains(err.Error(), path) {
			t.Errorf("%s: error %v does not name the file", name, err)
		}
	}
	if _, err := OpenPcap(filepath.Join(t.TempDir(), "missing.pcap")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

type ngOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// ngBlock encodes a pcapng block.
func ngBlock(bo ngOrder, typ uint32, body []byte) []byte {
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	b := make([]byte, 8, 12+len(body))
	bo.PutUint32(b[0:4], typ)
	bo.PutUint32(b[4:8], uint32(12+len(body)))
	b = append(b, body...)
	return bo.AppendUint32(b, uint32(12+len(body)))
}

func ngSHB(bo ngOrder) []byte {
	body := bo.AppendUint32(nil, ngByteOrderMagic)
	body = bo.AppendUint16(body, 1)
	body = bo.AppendUint16(body, 0)
	body = bo.AppendUint64(body, ^uint64(0))
	return ngBlock(bo, ngBlockSHB, body)
}

func ngIDB(bo ngOrder, lt LinkType, tsresol byte) []byte {
	body := bo.AppendUint16(nil, uint16(lt))
	body = bo.AppendUint16(body, 0)
	body = bo.AppendUint32(body, 65535)
	if tsresol != 0 {
		body = bo.AppendUint16(body, 9)
		body = bo.AppendUint16(body, 1)
		body = append(body, tsresol, 0, 0, 0)
		body = append(body, 0, 0, 0, 0) // opt_endofopt
	}
	return ngBlock(bo, ngBlockIDB, body)
}

func ngEPB(bo ngOrder, iface uint32, ts uint64, data []byte, orig int) []byte {
	body := bo.AppendUint32(nil, iface)
	body = bo.AppendUint32(body, uint32(ts>>32))
	body = bo.AppendUint32(body, uint32(ts))
	body = bo.AppendUint32(body, uint32(len(data)))
	body = bo.AppendUint32(body, uint32(max(orig, len(data))))
	return ngBlock(bo, ngBlockEPB, append(body, data...))
}

func TestPcapNg(t *testing.T) {
	v4 := ipv4Bytes(t)
	frame := ethIPv4TCP(t)
	for _, bo := range []ngOrder{binary.LittleEndian, binary.BigEndian} {
		t.Run(bo.String(), func(t *testing.T) {
			var b []byte
			b = append(b, ngSHB(bo)...)
			b = append(b, ngIDB(bo, LinkEthernet, 0)...)       // microseconds
			b = append(b, ngIDB(bo, LinkRaw, 9)...)            // nanoseconds
			b = append(b, ngBlock(bo, 5, make([]byte, 16))...) // interface statistics: skipped
			b = append(b, ngEPB(bo, 0, 1700000000_123456, frame, 0)...)
			b = append(b, ngEPB(bo, 1, 1700000000_123456789, v4[:21], 1500)...)
			spb := bo.AppendUint32(nil, uint32(len(frame)))
			b = append(b, ngBlock(bo, ngBlockSimplePacket, append(spb, frame...))...)
			path := writeFile(t, "x.pcapng", b)
			r, err := OpenPcap(path)
			if err != nil {
				t.Fatal(err)
			}
			if r.LinkType() != LinkEthernet {
				t.Errorf("link type %d", r.LinkType())
			}
			r.Close()
			got, cis, err := readAll(t, path)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 3 {
				t.Fatalf("%d packets", len(got))
			}
			if cis[0].LinkType != LinkEthernet || !bytes.Equal(got[0].data, frame) || !got[0].ts.Equal(time.Unix(1700000000, 123456000)) {
				t.Errorf("packet 1: %+v", cis[0])
			}
			if cis[1].LinkType != LinkRaw || !bytes.Equal(got[1].data, v4[:21]) || cis[1].Length != 1500 || !got[1].ts.Equal(time.Unix(1700000000, 123456789)) {
				t.Errorf("packet 2: %+v", cis[1])
			}
			if cis[2].LinkType != LinkEthernet || !bytes.Equal(got[2].data, frame) {
				t.Errorf("simple packet: %+v", cis[2])
			}
			// Cut inside the second packet block.
			cut := len(ngSHB(bo)) + 2*len(ngIDB(bo, 0, 0)) + 4 + 28 + len(ngEPB(bo, 0, 0, frame, 0)) + 30
			path = writeFile(t, "cut.pcapng", b[:cut])
			got, _, err = readAll(t, path)
			if len(got) != 1 || err == nil || !strings.Contains(err.Error(), "packet 2") || !strings.Contains(err.Error(), path) {
				t.Errorf("cut file: %d packets, err %v", len(got), err)
			}
		})
	}
}

// Captures read one after another through shared ReadBuffers come back as
// they do with fresh readers, gzipped and broken ones included, and the
// buffers are reused rather than allocated per file.
func TestPcapReadBuffersAcrossFiles(t *testing.T) {
	want := samplePkts(t)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(pcapBytes(binary.BigEndian, true, LinkEthernet, want))
	zw.Close()
	files := []string{
		writeFile(t, "a.pcap", pcapBytes(binary.LittleEndian, false, LinkEthernet, want)),
		writeFile(t, "b.pcap.gz", gz.Bytes()),
		writeFile(t, "c.txt", []byte("not a capture at all")),
		writeFile(t, "d.pcap", pcapBytes(binary.LittleEndian, true, LinkEthernet, want[:2])),
	}
	var rb ReadBuffers
	read := func(path string) ([]testPkt, error) {
		r, err := OpenPcapWith(path, &rb)
		if err != nil {
			return nil, err
		}
		defer r.Close()
		var got []testPkt
		for {
			data, ci, err := r.Next()
			if err == io.EOF {
				return got, nil
			}
			if err != nil {
				return got, err
			}
			got = append(got, testPkt{ci.Timestamp, append([]byte(nil), data...), ci.Length})
		}
	}
	for round := 0; round < 2; round++ {
		for _, f := range files {
			got, err := read(f)
			fresh, _, ferr := func() ([]testPkt, []CaptureInfo, error) {
				if _, oerr := OpenPcap(f); oerr != nil {
					return nil, nil, oerr
				}
				return readAll(t, f)
			}()
			if (err == nil) != (ferr == nil) {
				t.Fatalf("%s: error %v with shared buffers, %v with fresh ones", f, err, ferr)
			}
			checkPkts(t, got, fresh)
		}
	}
	if rb.br == nil {
		t.Fatal("the buffers did not go back to ReadBuffers on Close")
	}
	f := files[0]
	allocs := testing.AllocsPerRun(20, func() {
		if _, err := read(f); err != nil {
			t.Fatal(err)
		}
	})
	// The reader, the file and the copies the test keeps; not the 128 KiB
	// of buffers, which would show as two more.
	if fresh := testing.AllocsPerRun(20, func() { readAll(t, f) }); allocs > fresh-2 {
		t.Fatalf("%.0f allocations per file with shared buffers, %.0f with fresh ones", allocs, fresh)
	}
}
