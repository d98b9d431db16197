package testutil

import (
	"testing"

	"golang.org/x/sys/unix"
)

// BPFFS mounts a private bpffs instance on a fresh temporary directory and
// returns its path; pins made there vanish with it at cleanup. Every mount of
// bpffs is its own instance, so tests never see, or leave behind, the host's
// pins (and need no /sys/fs/bpf mount).
func BPFFS(tb testing.TB) string {
	tb.Helper()
	RequireRoot(tb)
	dir := tb.TempDir()
	if err := unix.Mount("bpf", dir, "bpf", 0, "mode=0700"); err != nil {
		tb.Fatalf("mount bpffs on %s: %v", dir, err)
	}
	tb.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	return dir
}
