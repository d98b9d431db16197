package testutil

import (
	"os"
	"testing"
)

// RequireRoot skips a test that needs root (BPF, netns, netlink) when not
// root, and fails it instead when CI=true, where a skip would hide a gap.
func RequireRoot(tb testing.TB) {
	tb.Helper()
	if os.Geteuid() != 0 {
		SkipOrFail(tb, "test needs root (CAP_BPF+CAP_NET_ADMIN+CAP_SYS_ADMIN): run the suite as root to include it")
	}
}
