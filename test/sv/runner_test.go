package sv

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func mkfile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// fakeCorpus builds a corpus with four tests: one the fake engine passes,
// one it fails, one with an unmet requirement, one IPS test by name.
func fakeCorpus(t *testing.T) string {
	root := t.TempDir()
	sv := filepath.Join(root, "suricata-verify")
	mkfile(t, filepath.Join(root, "suricata-defaults", "classification.config"), "")
	check := func(sid, count int) string {
		return fmt.Sprintf("  - filter:\n      count: %d\n      match:\n        event_type: alert\n        alert.signature_id: %d\n", count, sid)
	}
	mkfile(t, filepath.Join(sv, "good", "test.yaml"), "args:\n  - -k none --set stream.midstream=true\n  - --set x.dir=${TEST_DIR}\nchecks:\n"+check(1, 1)+
		"  - filter:\n      count: 5\n      match:\n        event_type: flow\n")
	mkfile(t, filepath.Join(sv, "good", "input.pcap"), "pcap")
	mkfile(t, filepath.Join(sv, "good", "test.rules"), "alert ip any any -> any any (sid:1;)\n")
	mkfile(t, filepath.Join(sv, "good", "suricata.yaml"), "%YAML 1.1\n---\n")
	mkfile(t, filepath.Join(sv, "bad", "test.yaml"), "checks:\n"+check(1, 1)+check(2, 1))
	mkfile(t, filepath.Join(sv, "bad", "x.pcap"), "pcap")
	mkfile(t, filepath.Join(sv, "needs", "test.yaml"), "requires:\n  features:\n    - HAVE_LUA\nchecks:\n"+check(1, 1))
	mkfile(t, filepath.Join(sv, "fam", "drop-ips-1", "test.yaml"), "checks:\n"+check(7, 1))
	mkfile(t, filepath.Join(sv, "fam", "drop-ips-1", "input.pcap"), "pcap")
	mkfile(t, filepath.Join(sv, "INDEX.json"), `{"tests":[
{"name":"good","tier":0,"alert_check_indices":[0],"rules_files":["good/test.rules"],"pcaps":[{"path":"good/input.pcap","present":true}]},
{"name":"bad","tier":1,"alert_check_indices":[0,1],"rules_files":[],"pcaps":[]},
{"name":"needs","tier":0,"alert_check_indices":[0]},
{"name":"fam/drop-ips-1","tier":0,"alert_check_indices":[0],"pcaps":[{"path":"fam/drop-ips-1/input.pcap","present":true}]}]}`)
	return root
}

// fakeReplay records its arguments and writes eve.json alerts for sid 1
// always and for sid 7 only in IPS mode.
type fakeReplay struct {
	mu   sync.Mutex
	args map[string][]string
}

func (f *fakeReplay) run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var out, pcap string
	ips := false
	for i, a := range args {
		switch a {
		case "-l":
			out = args[i+1]
		case "-r":
			pcap = args[i+1]
		case "--simulate-ips":
			ips = true
		}
	}
	f.mu.Lock()
	f.args[filepath.Base(filepath.Dir(pcap))] = args
	f.mu.Unlock()
	eve := `{"event_type":"alert","alert":{"signature_id":1}}` + "\n" + `{"event_type":"flow"}` + "\n"
	if ips {
		eve += `{"event_type":"alert","alert":{"signature_id":7}}` + "\n"
	}
	if err := os.WriteFile(filepath.Join(out, "eve.json"), []byte(eve), 0o644); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}

func TestRunnerWithFakeReplay(t *testing.T) {
	corpus := fakeCorpus(t)
	fr := &fakeReplay{args: map[string][]string{}}
	var stdout, stderr bytes.Buffer
	code := Main(context.Background(), []string{"-corpus", corpus, "-j", "3"}, &stdout, &stderr, fr.run)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	out := stdout.String()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if lines[len(lines)-1] != "2 passed, 1 failed" {
		t.Errorf("want 2 passed (good, drop-ips-1), 1 failed (bad):\n%s", out)
	}
	for _, want := range []string{
		"good ", "PASS",
		"check 1: expected count 1, got 0", // bad: sid 2 never alerts
		"SKIP  requires features",
		"1 skipped",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// Check 1 of "good" is a flow check, not an alert check: it must not
	// have been evaluated (its count 5 would fail).
	if strings.Contains(out, "count 5") {
		t.Errorf("a non-alert check was evaluated:\n%s", out)
	}
	args := strings.Join(fr.args["good"], " ")
	for _, want := range []string{"-S " + filepath.Join(corpus, "suricata-verify", "good", "test.rules"),
		"-c " + filepath.Join(corpus, "suricata-verify", "good", "suricata.yaml"), "--workers 1", "--no-progress",
		"-k none", "--set stream.midstream=true", "--set x.dir=" + filepath.Join(corpus, "suricata-verify", "good")} {
		if !strings.Contains(args, want) {
			t.Errorf("good args lack %q: %s", want, args)
		}
	}
	if !strings.Contains(strings.Join(fr.args["drop-ips-1"], " "), "--simulate-ips") {
		t.Errorf("ips test run without --simulate-ips: %v", fr.args["drop-ips-1"])
	}

	// Floor and filters.
	floor := filepath.Join(t.TempDir(), "floor.txt")
	mkfile(t, floor, "3\n")
	stdout.Reset()
	stderr.Reset()
	if code := Main(context.Background(), []string{"-corpus", corpus, "-floor", floor}, &stdout, &stderr, fr.run); code == 0 || !strings.Contains(stderr.String(), "floor") {
		t.Errorf("below floor: exit %d, stderr %q", code, stderr.String())
	}
	stdout.Reset()
	if code := Main(context.Background(), []string{"-corpus", corpus, "-tier", "1", "-run", "ba"}, &stdout, &stderr, fr.run); code != 0 ||
		!strings.HasSuffix(stdout.String(), "0 passed, 1 failed\n") {
		t.Errorf("-tier 1 -run ba: exit %d\n%s", code, stdout.String())
	}
}

func TestRunnerSurvivesPanicAndHang(t *testing.T) {
	corpus := fakeCorpus(t)
	r := &Runner{Corpus: corpus, Jobs: 2, Timeout: 200 * time.Millisecond,
		Replay: func(ctx context.Context, args []string, stdout, stderr io.Writer) int {
			if strings.Contains(strings.Join(args, " "), "good") {
				panic("boom")
			}
			<-ctx.Done()
			return 1
		}}
	tests, err := LoadIndex(filepath.Join(corpus, "suricata-verify"))
	if err != nil {
		t.Fatal(err)
	}
	res := r.Run(context.Background(), tests)
	if res[0].Status != Fail || !strings.Contains(res[0].Detail, "panicked: boom") {
		t.Errorf("panic result = %+v", res[0])
	}
	if res[1].Status != Fail || !strings.Contains(res[1].Detail, "timed out") {
		t.Errorf("hang result = %+v", res[1])
	}
}
