package testutil

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/tapwatch/tapwatch/test/sv"
)

// RepoRoot returns the module root: the nearest directory holding go.mod
// at or above the working directory (go test runs a test in its package
// directory).
func RepoRoot(tb testing.TB) string {
	tb.Helper()
	wd, err := os.Getwd()
	if err != nil {
		tb.Fatalf("getwd: %v", err)
	}
	for dir := wd; ; {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatalf("no go.mod at or above %s", wd)
		}
		dir = parent
	}
}

// Corpus returns the shared test corpus, ../shared/corpus beside the module
// root. When it is absent the test is skipped, or fails under CI=true,
// where the corpus must be present.
func Corpus(tb testing.TB) string {
	tb.Helper()
	c := filepath.Join(RepoRoot(tb), "..", "shared", "corpus")
	requirePath(tb, c, "corpus")
	// Walks do not enter a symlinked root: hand out the real directory.
	if r, err := filepath.EvalSymlinks(c); err == nil {
		c = r
	}
	return c
}

// CorpusPath returns a file or directory of the corpus (elem joined to
// Corpus), skipping the test when it is absent, or failing it under
// CI=true, as Corpus does.
func CorpusPath(tb testing.TB, elem ...string) string {
	tb.Helper()
	p := filepath.Join(append([]string{Corpus(tb)}, elem...)...)
	requirePath(tb, p, "corpus file")
	return p
}

// SVIndex returns the corpus' suricata-verify directory and the tests its
// INDEX.json lists (paths in an entry are relative to that directory).
func SVIndex(tb testing.TB) (string, []sv.IndexEntry) {
	tb.Helper()
	dir := CorpusPath(tb, "suricata-verify")
	tests, err := sv.LoadIndex(dir)
	if err != nil {
		tb.Fatal(err)
	}
	return dir, tests
}

func requirePath(tb testing.TB, path, what string) {
	tb.Helper()
	if _, err := os.Stat(path); err != nil {
		SkipOrFail(tb, "%s missing at %s: %v", what, path, err)
	}
}

// SkipOrFail skips a test whose prerequisite is missing, or fails it when
// CI=true, where a skip would hide a gap in what the suite ran.
func SkipOrFail(tb testing.TB, format string, args ...any) {
	tb.Helper()
	if os.Getenv("CI") == "true" {
		tb.Fatalf(format+" (CI=true: failing rather than skipping)", args...)
	}
	tb.Skipf(format, args...)
}

// SkipIfShort skips a long test (a sweep of the corpus, a VM) under
// go test -short, saying so; CI runs the whole suite, so -short there fails.
func SkipIfShort(tb testing.TB, what string) {
	tb.Helper()
	if testing.Short() {
		SkipOrFail(tb, "-short: skipping %s", what)
	}
}
