package deploy

import (
	"bytes"
	"context"
	"github.com/tapwatch/tapwatch/test/testutil"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
	buildOut  []byte
)

// binaries builds tapwatchd and tapwatch once per test binary into a private
// directory and returns it.
func binaries(tb testing.TB) string {
	tb.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "tapwatch-deploy-bin-")
		if buildErr != nil {
			return
		}
		goBin, err := exec.LookPath("go")
		if err != nil {
			goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
		}
		cmd := exec.Command(goBin, "build", "-o", binDir+"/", "./agent/cmd/tapwatchd", "./agent/cmd/tapwatch")
		cmd.Dir = testutil.RepoRoot(tb)
		buildOut, buildErr = cmd.CombinedOutput()
	})
	if buildErr != nil {
		tb.Fatalf("go build: %v\n%s", buildErr, buildOut)
	}
	return binDir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

type result struct {
	code           int
	stdout, stderr string
	took           time.Duration
}

// run executes argv with env added to the environment and stdin, bounded by limit.
func run(tb testing.TB, limit time.Duration, env []string, stdin string, argv ...string) result {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	// The host's /etc/default/tapwatch (which other tests may write while
	// this one runs) must not steer the hook under test.
	cmd.Env = append(append(os.Environ(), "TAPWATCH_DEFAULTS=/nonexistent"), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.WaitDelay = time.Second
	start := time.Now()
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String(), took: time.Since(start)}
	if ctx.Err() != nil {
		tb.Fatalf("%s did not return within %v (stderr: %s)", strings.Join(argv, " "), limit, r.stderr)
	}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		tb.Fatalf("%s: %v", strings.Join(argv, " "), err)
	}
	return r
}
