package agent

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// ensureBPFFS mounts bpffs on the parent of dir when nothing is mounted
// there yet, as systemd does on most hosts but minimal ones (containers,
// microVMs) do not; pinned links and maps need it to outlive the daemon.
// Equivalent: `mount -t bpf bpf /sys/fs/bpf`.
func ensureBPFFS(dir string) error {
	root := filepath.Dir(filepath.Clean(dir))
	var st unix.Statfs_t
	if err := unix.Statfs(root, &st); err == nil && st.Type == unix.BPF_FS_MAGIC {
		return nil
	}
	if err := os.MkdirAll(root, 0o700); err != nil {
		return fmt.Errorf("bpffs: create %s: %w", root, err)
	}
	if err := unix.Mount("bpf", root, "bpf", 0, "mode=0700"); err != nil {
		return fmt.Errorf("bpffs: mount -t bpf bpf %s: %w (need CAP_SYS_ADMIN, or mount it before starting tapwatchd)", root, err)
	}
	return nil
}
