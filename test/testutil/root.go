package testutil

import (
	"os"
	"testing"
)

// RequireRoot skips a test that needs root (BPF, netns, netlink) when not
// root, and fails it instead when CI=true, where a skip would hide a gap.
func RequireRoot(tb testing.TB) {
	tb.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		tb.Fatal("test needs root (CAP_BPF+CAP_NET_ADMIN+CAP_SYS_ADMIN) and CI=true: run the suite as root")
	}
	tb.Skip("test needs root (CAP_BPF+CAP_NET_ADMIN+CAP_SYS_ADMIN); run as root to include it")
}
