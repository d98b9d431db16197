package sv

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"time"
)

// ReplayFunc is replay.Main's signature; tests inject a fake.
type ReplayFunc func(ctx context.Context, args []string, stdout, stderr io.Writer) int

// Status of one test.
type Status string

// Statuses as printed.
const (
	Pass Status = "PASS"
	Fail Status = "FAIL"
	Skip Status = "SKIP"
)

// Result is the outcome of one test.
type Result struct {
	Name    string
	Tier    int
	Status  Status
	Detail  string // first failing check, or the skip reason
	Stderr  string // replay's stderr, for -v
	Elapsed time.Duration
}

// Runner runs suricata-verify tests.
type Runner struct {
	// Corpus is the corpus root (holding suricata-verify/ and suricata-defaults/).
	Corpus string
	Replay ReplayFunc
	Jobs   int
	// Timeout bounds one test; a replay still running after it is
	// abandoned and the test fails.
	Timeout time.Duration
	// TempDir holds per-test output directories ("" for os.TempDir).
	TempDir string
}

func (r *Runner) svDir() string { return filepath.Join(r.Corpus, "suricata-verify") }

// Run runs tests in parallel and returns results in the order given.
func (r *Runner) Run(ctx context.Context, tests []IndexEntry) []Result {
	jobs := r.Jobs
	if jobs < 1 {
		jobs = 1
	}
	res := make([]Result, len(tests))
	next := make(chan int)
	var wg sync.WaitGroup
	for range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				res[i] = r.runOne(ctx, tests[i])
			}
		}()
	}
	for i := range tests {
		next <- i
	}
	close(next)
	wg.Wait()
	return res
}

// requirementsUnmet returns why a test's requires cannot be met, or "".
// tapwatch targets Suricata master behaviour, so version floors are met.
func requirementsUnmet(req map[string]any) string {
	for k, v := range req {
		switch k {
		case "min-version", "pcap":
		case "lt-version":
			return fmt.Sprintf("requires lt-version %v", v)
		default:
			return fmt.Sprintf("requires %s: %v", k, v)
		}
	}
	return ""
}

// Args builds the replay command line for a test, as upstream's run.py
// does: pcap, -S rules, -c suricata.yaml, the test's args with ${TEST_DIR}
// substituted, -k none, --simulate-ips for IPS tests.
func (r *Runner) Args(t IndexEntry, ty *TestYAML, outDir string) ([]string, string) {
	sv := r.svDir()
	dir := filepath.Join(sv, t.Name)
	var pcap string
	switch {
	case ty.Pcap != "":
		pcap = filepath.Join(dir, ty.Pcap)
	case len(t.Pcaps) > 0:
		pcap = filepath.Join(sv, t.Pcaps[0].Path)
	default:
		var found []string
		for _, g := range []string{"*.pcap", "*.pcapng"} {
			m, _ := filepath.Glob(filepath.Join(dir, g))
			found = append(found, m...)
		}
		if len(found) != 1 {
			return nil, fmt.Sprintf("no single pcap in %s (found %d)", dir, len(found))
		}
		pcap = found[0]
	}
	if _, err := os.Stat(pcap); err != nil {
		return nil, fmt.Sprintf("pcap missing: %v", err)
	}
	args := []string{"-r", pcap, "-l", outDir, "--workers", "1", "--no-progress", "-k", "none",
		"--set", "classification-file=" + filepath.Join(r.Corpus, "suricata-defaults", "classification.config")}
	rules := t.RulesFiles
	if len(rules) == 0 {
		m, _ := filepath.Glob(filepath.Join(dir, "*.rules"))
		for _, p := range m {
			rel, _ := filepath.Rel(sv, p)
			rules = append(rules, rel)
		}
	}
	for _, rf := range rules {
		args = append(args, "-S", filepath.Join(sv, rf))
	}
	if _, err := os.Stat(filepath.Join(dir, "suricata.yaml")); err == nil {
		args = append(args, "-c", filepath.Join(dir, "suricata.yaml"))
	}
	ips := t.SimulateIPS || strings.Contains(filepath.Base(t.Name), "ips")
	for _, a := range ty.Args {
		a = strings.ReplaceAll(a, "${TEST_DIR}", dir)
		for _, f := range splitArgs(a) {
			if f == "--simulate-ips" {
				ips = true
				continue
			}
			args = append(args, f)
		}
	}
	if ips {
		args = append(args, "--simulate-ips")
	}
	return args, ""
}

// splitArgs splits an args entry on whitespace, honouring quotes.
func splitArgs(s string) []string {
	var out []string
	var cur strings.Builder
	var quote rune
	have := false
	for _, c := range s {
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			} else {
				cur.WriteRune(c)
			}
		case c == '\'' || c == '"':
			quote, have = c, true
		case c == ' ' || c == '\t' || c == '\n':
			if have {
				out = append(out, cur.String())
				cur.Reset()
				have = false
			}
		default:
			cur.WriteRune(c)
			have = true
		}
	}
	if have {
		out = append(out, cur.String())
	}
	return out
}

func (r *Runner) runOne(ctx context.Context, t IndexEntry) (res Result) {
	start := time.Now()
	res = Result{Name: t.Name, Tier: t.Tier}
	defer func() { res.Elapsed = time.Since(start) }()
	dir := filepath.Join(r.svDir(), t.Name)
	ty, err := LoadTestYAML(filepath.Join(dir, "test.yaml"))
	if err != nil {
		res.Status, res.Detail = Fail, err.Error()
		return res
	}
	if why := requirementsUnmet(ty.Requires); why != "" {
		res.Status, res.Detail = Skip, why
		return res
	}
	var filters []*Filter
	var idx []int
	for _, i := range t.AlertCheckIndices {
		if i >= len(ty.Checks) {
			res.Status, res.Detail = Fail, fmt.Sprintf("alert check %d out of range (%d checks)", i, len(ty.Checks))
			return res
		}
		fm, ok := ty.Checks[i]["filter"].(map[string]any)
		if !ok {
			continue
		}
		if req, ok := fm["requires"].(map[string]any); ok && requirementsUnmet(req) != "" {
			continue
		}
		f, err := ParseFilter(fm)
		if err != nil {
			res.Status, res.Detail = Fail, fmt.Sprintf("check %d: %v", i, err)
			return res
		}
		filters = append(filters, f)
		idx = append(idx, i)
	}
	if len(filters) == 0 {
		res.Status, res.Detail = Skip, "no alert checks apply"
		return res
	}
	out, err := os.MkdirTemp(r.TempDir, "sv-")
	if err != nil {
		res.Status, res.Detail = Fail, fmt.Sprintf("temp dir: %v", err)
		return res
	}
	defer os.RemoveAll(out)
	args, why := r.Args(t, ty, out)
	if args == nil {
		res.Status, res.Detail = Skip, why
		return res
	}
	code, stderr, err := r.replay(ctx, args)
	res.Stderr = stderr
	if err != nil {
		res.Status, res.Detail = Fail, err.Error()
		return res
	}
	files := map[string][]map[string]any{}
	for n, f := range filters {
		name := f.Filename
		if name == "" {
			name = "eve.json"
		}
		recs, ok := files[name]
		if !ok {
			recs, err = readEve(filepath.Join(out, name))
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				res.Status, res.Detail = Fail, err.Error()
				return res
			}
			files[name] = recs
		}
		if ok, msg := f.Eval(recs); !ok {
			res.Status, res.Detail = Fail, fmt.Sprintf("check %d: %s", idx[n], msg)
			if code != 0 {
				res.Detail += fmt.Sprintf(" [replay exit %d: %s]", code, lastLine(stderr))
			}
			return res
		}
	}
	// replay exits non-zero for a corrupt capture after processing what it
	// could, where Suricata warns and exits 0; the checks decide then. An
	// engine panic always fails the test.
	if code != 0 && (strings.Contains(stderr, "engine panic") || !strings.Contains(stderr, "capture ")) {
		res.Status, res.Detail = Fail, fmt.Sprintf("checks pass but replay exited %d: %s", code, lastLine(stderr))
		return res
	}
	res.Status = Pass
	if code != 0 {
		res.Detail = fmt.Sprintf("(replay exited %d: %s)", code, lastLine(stderr))
	}
	return res
}

// replay runs the replay function with a timeout and turns a panic into
// an error, so one bad test cannot stop the run.
func (r *Runner) replay(ctx context.Context, args []string) (int, string, error) {
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	type outcome struct {
		code   int
		stderr string
		err    error
	}
	done := make(chan outcome, 1)
	go func() {
		var so, se bytes.Buffer
		var o outcome
		defer func() {
			if v := recover(); v != nil {
				o.err = fmt.Errorf("replay panicked: %v\n%s", v, debug.Stack())
			}
			o.stderr = se.String()
			done <- o
		}()
		o.code = r.Replay(ctx, args, &so, &se)
	}()
	select {
	case o := <-done:
		return o.code, o.stderr, o.err
	case <-ctx.Done():
		// Give a cooperative replay a moment to return after cancellation.
		select {
		case o := <-done:
			return o.code, o.stderr, fmt.Errorf("replay timed out after %s", timeout)
		case <-time.After(5 * time.Second):
			return -1, "", fmt.Errorf("replay timed out after %s and did not stop", timeout)
		}
	}
}

// lastLine picks the line of replay's stderr that explains a failure: the
// last "replay:" line (a panic's stack follows its message), else the last.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	s = lines[len(lines)-1]
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.HasPrefix(lines[i], "replay:") {
			s = lines[i]
			break
		}
	}
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// readEve reads an EVE file; numbers stay json.Number so 64-bit flow ids
// compare exactly.
func readEve(path string) ([]map[string]any, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var recs []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		d := json.NewDecoder(bytes.NewReader(b))
		d.UseNumber()
		var m map[string]any
		if err := d.Decode(&m); err != nil {
			return recs, fmt.Errorf("sv: %s:%d: invalid JSON: %w", path, line, err)
		}
		recs = append(recs, m)
	}
	if err := sc.Err(); err != nil {
		return recs, fmt.Errorf("sv: read %s: %w", path, err)
	}
	return recs, nil
}

// Report prints the result table and the final "N passed, M failed" line.
func Report(w io.Writer, results []Result, verbose bool) (passed, failed, skipped int) {
	width := 20
	for _, r := range results {
		if len(r.Name) > width {
			width = len(r.Name)
		}
	}
	for _, r := range results {
		line := fmt.Sprintf("%-*s  tier%d  %s", width, r.Name, r.Tier, r.Status)
		if r.Detail != "" {
			line += "  " + strings.ReplaceAll(r.Detail, "\n", " | ")
		}
		fmt.Fprintln(w, line)
		if verbose && r.Status == Fail && r.Stderr != "" {
			for _, l := range strings.Split(strings.TrimSpace(r.Stderr), "\n") {
				fmt.Fprintf(w, "    | %s\n", l)
			}
		}
		switch r.Status {
		case Pass:
			passed++
		case Fail:
			failed++
		case Skip:
			skipped++
		}
	}
	if skipped > 0 {
		fmt.Fprintf(w, "%d skipped\n", skipped)
	}
	fmt.Fprintf(w, "%d passed, %d failed\n", passed, failed)
	return passed, failed, skipped
}
