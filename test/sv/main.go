package sv

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// FindCorpus locates ../shared/corpus next to the module root, starting
// from dir.
func FindCorpus(dir string) (string, error) {
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "..", "shared", "corpus"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("sv: no go.mod above the working directory; pass -corpus")
		}
		dir = parent
	}
}

// Main is svrun's command line. It returns the exit code: 0 when the run
// completed (and met -floor), 1 below the floor, 2 on usage errors.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer, replay ReplayFunc) int {
	fs := flag.NewFlagSet("svrun", flag.ContinueOnError)
	fs.SetOutput(stderr)
	tier := fs.String("tier", "all", "tier to run: 0, 1 or all")
	run := fs.String("run", "", "run only tests whose name matches this regular expression")
	jobs := fs.Int("j", runtime.NumCPU(), "tests run in parallel")
	verbose := fs.Bool("v", false, "show replay's stderr for failures")
	floor := fs.String("floor", "", "file holding the minimum number of passing tests")
	corpus := fs.String("corpus", "", "corpus directory (default ../shared/corpus next to the module root)")
	timeout := fs.Duration("timeout", 2*time.Minute, "time limit per test")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *corpus == "" {
		wd, err := os.Getwd()
		if err == nil {
			*corpus, err = FindCorpus(wd)
		}
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 2
		}
	}
	var re *regexp.Regexp
	if *run != "" {
		var err error
		if re, err = regexp.Compile(*run); err != nil {
			fmt.Fprintf(stderr, "svrun: -run %q: %v\n", *run, err)
			return 2
		}
	}
	wantTier := -1
	switch *tier {
	case "all":
	case "0", "1":
		wantTier, _ = strconv.Atoi(*tier)
	default:
		fmt.Fprintf(stderr, "svrun: -tier %q: want 0, 1 or all\n", *tier)
		return 2
	}
	minPass := -1
	if *floor != "" {
		b, err := os.ReadFile(*floor)
		if err == nil {
			minPass, err = strconv.Atoi(strings.TrimSpace(string(b)))
		}
		if err != nil {
			fmt.Fprintf(stderr, "svrun: -floor %s: %v (the file must hold one integer)\n", *floor, err)
			return 2
		}
	}
	all, err := LoadIndex(filepath.Join(*corpus, "suricata-verify"))
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	var tests []IndexEntry
	for _, t := range all {
		if wantTier >= 0 && t.Tier != wantTier {
			continue
		}
		if re != nil && !re.MatchString(t.Name) {
			continue
		}
		tests = append(tests, t)
	}
	r := &Runner{Corpus: *corpus, Replay: replay, Jobs: *jobs, Timeout: *timeout}
	start := time.Now()
	results := r.Run(ctx, tests)
	fmt.Fprintf(stdout, "ran %d tests in %s\n", len(tests), time.Since(start).Round(time.Millisecond))
	passed, _, _ := Report(stdout, results, *verbose)
	if minPass >= 0 && passed < minPass {
		fmt.Fprintf(stderr, "svrun: %d passed, below the floor of %d in %s\n", passed, minPass, *floor)
		return 1
	}
	return 0
}
