package decode

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// corpusDir returns ../shared/corpus relative to the module root, skipping
// the test when it is absent (fatal under CI=true, where it must be there).
func corpusDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("getwd: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("no go.mod above the test directory")
		}
		dir = parent
	}
	c := filepath.Join(dir, "..", "shared", "corpus")
	if _, err := os.Stat(c); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("corpus missing at %s: %v", c, err)
		}
		t.Skipf("corpus not present at %s", c)
	}
	return c
}

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
	dir := filepath.Join(corpusDir(t), "pcaps")
	paths := capturePaths(t, dir)
	if len(paths) < 100 {
		t.Fatalf("found only %d capture files under %s", len(paths), dir)
	}
	d := NewDecoder(Config{})
	var p Packet
	var files, notCapture, readErrs, pkts int
	linkTypes := map[LinkType]int{}
	for _, path := range paths {
		r, err := OpenPcap(path)
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
