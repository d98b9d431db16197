// The corpus tests and benchmark are an external test package because
// test/testutil, which finds the corpus, imports rules/decode.
package decode_test

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tapwatch/tapwatch/rules/decode"
	"github.com/tapwatch/tapwatch/test/testutil"
)

// capturePaths lists the capture files under dir by extension.
func capturePaths(t testing.TB, dir string) []string {
	t.Helper()
	var paths []string
	err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch strings.ToLower(filepath.Ext(path)) {
		case ".pcap", ".pcapng", ".cap", ".dmp":
			if !e.IsDir() {
				paths = append(paths, path)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", dir, err)
	}
	return paths
}

func TestCorpusPcaps(t *testing.T) {
	dir := testutil.CorpusPath(t, "pcaps")
	paths := capturePaths(t, dir)
	if len(paths) < 100 {
		t.Fatalf("found only %d capture files under %s", len(paths), dir)
	}
	d := decode.NewDecoder(decode.Config{})
	var p decode.Packet
	var files, notCapture, readErrs, pkts int
	linkTypes := map[decode.LinkType]int{}
	for _, path := range paths {
		r, err := decode.OpenPcap(path)
		if err != nil {
			notCapture++
			t.Logf("skip %s: %v", path, err)
			continue
		}
		files++
		for {
			data, ci, err := r.Next()
			if err != nil {
				if !errors.Is(err, io.EOF) {
					readErrs++
					if !strings.Contains(err.Error(), path) {
						t.Errorf("read error does not name the file: %v", err)
					}
					t.Logf("%v", err)
				}
				break
			}
			pkts++
			linkTypes[ci.LinkType]++
			p.Timestamp, p.OrigLen, p.Num = ci.Timestamp, ci.Length, uint64(pkts)
			d.Decode(ci.LinkType, data, &p)
		}
		r.Close()
	}
	st := d.Stats()
	if st.Packets != uint64(pkts) || st.Decoded+st.Malformed != st.Packets {
		t.Errorf("stats do not add up: %+v for %d packets", st, pkts)
	}
	t.Logf("%d capture files (%d not captures, %d with read errors), %d packets, %d decoded, %d malformed",
		files, notCapture, readErrs, pkts, st.Decoded, st.Malformed)
	t.Logf("link types: %v", linkTypes)
	by := st.ByReason()
	names := make([]string, 0, len(by))
	for n := range by {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		t.Logf("  %-20s %d", n, by[n])
	}
	if st.Decoded < st.Packets*9/10 {
		t.Errorf("only %d of %d packets decoded", st.Decoded, st.Packets)
	}
}

type benchPkt struct {
	lt   decode.LinkType
	data []byte
	ts   time.Time
	orig int
}

// BenchmarkDecode decodes the packets of the largest Ethernet corpus
// captures, loaded into memory first; one op is one packet.
func BenchmarkDecode(b *testing.B) {
	dir := testutil.CorpusPath(b, "pcaps")
	paths := capturePaths(b, dir)
	sort.Slice(paths, func(i, j int) bool { return fileSize(paths[i]) > fileSize(paths[j]) })
	var pkts []benchPkt
	var total int
	for _, path := range paths {
		if len(pkts) >= 100_000 {
			break
		}
		r, err := decode.OpenPcap(path)
		if err != nil || r.LinkType() != decode.LinkEthernet {
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
	d := decode.NewDecoder(decode.Config{})
	var p decode.Packet
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
