package detect

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/tapwatch/tapwatch/rules/keyword"
)

// corpusDir finds ../shared/corpus relative to the module root.
func corpusDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
	c := filepath.Join(dir, "..", "shared", "corpus")
	if _, err := os.Stat(c); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("corpus missing at %s", c)
		}
		t.Skipf("corpus not found at %s", c)
	}
	return c
}

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o644) }

func keywordBuffer(name string) (keyword.Buffer, bool) { return keyword.BufferByName(name) }
