package decode

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"
)

type benchPkt struct {
	lt   LinkType
	data []byte
	ts   time.Time
	orig int
}

// BenchmarkDecode decodes the packets of the largest Ethernet corpus
// captures, loaded into memory first; one op is one packet.
func BenchmarkDecode(b *testing.B) {
	dir := filepath.Join(corpusDir(b), "pcaps")
	paths := capturePaths(b, dir)
	sort.Slice(paths, func(i, j int) bool { return fileSize(paths[i]) > fileSize(paths[j]) })
	var pkts []benchPkt
	var total int
	for _, path := range paths {
		if len(pkts) >= 100_000 {
			break
		}
		r, err := OpenPcap(path)
		if err != nil || r.LinkType() != LinkEthernet {
			if r != nil {
				r.Close()
			}
			continue
		}
		for {
			data, ci, err := r.Next()
			if err != nil {
				if !errors.Is(err, io.EOF) {
					b.Logf("%v", err)
				}
				break
			}
			pkts = append(pkts, benchPkt{ci.LinkType, append([]byte(nil), data...), ci.Timestamp, ci.Length})
			total += len(data)
		}
		r.Close()
	}
	if len(pkts) == 0 {
		b.Skip("no Ethernet captures in the corpus")
	}
	b.Logf("%d packets, %d bytes", len(pkts), total)
	d := NewDecoder(Config{})
	var p Packet
	b.SetBytes(int64(total / len(pkts)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		bp := &pkts[i%len(pkts)]
		p.Timestamp, p.OrigLen = bp.ts, bp.orig
		d.Decode(bp.lt, bp.data, &p)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
}

func fileSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}

// BenchmarkDecodeFrame decodes one crafted frame repeatedly: the decoder's
// own cost with the frame in cache.
func BenchmarkDecodeFrame(b *testing.B) {
	for _, f := range []struct {
		name string
		lt   LinkType
		data []byte
	}{
		{"eth-ipv4-tcp", LinkEthernet, ethIPv4TCP(b)},
		{"qinq-ipv4-udp", LinkEthernet, ethVLANIPv4UDP(b, 1, 2)},
		{"eth-ipv6-tcp", LinkEthernet, ethIPv6TCP(b)},
	} {
		b.Run(f.name, func(b *testing.B) {
			d := NewDecoder(Config{})
			var p Packet
			b.ReportAllocs()
			for b.Loop() {
				d.Decode(f.lt, f.data, &p)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
		})
	}
}
