package lab

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/vishvananda/netns"
)

// inNetns runs fn on an OS thread switched into the named namespace. Sockets fn creates stay in
// that namespace for their lifetime, so they may be used from any goroutine afterwards.
func inNetns(name string, fn func() error) error {
	target, err := netns.GetFromName(name)
	if err != nil {
		return fmt.Errorf("open network namespace %s: %w (is the lab up? run `tapwatch lab up`)", name, err)
	}
	defer target.Close()
	return inNetnsHandle(target, fn)
}

func inNetnsHandle(target netns.NsHandle, fn func() error) error {
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("read current network namespace: %w", err)
	}
	defer orig.Close()
	if err := netns.Set(target); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("enter network namespace: %w", err)
	}
	ferr := fn()
	if err := netns.Set(orig); err != nil {
		// The thread stays locked so the runtime retires it instead of reusing a thread that
		// sits in the wrong namespace.
		return errors.Join(ferr, fmt.Errorf("return to the original network namespace: %w", err))
	}
	runtime.UnlockOSThread()
	return ferr
}

// newNamedNetns creates /run/netns/name without leaving the calling thread in it, and turns IPv6
// off there before any interface exists, so nothing in the lab sends autoconfiguration noise.
func newNamedNetns(name string) error {
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("read current network namespace: %w", err)
	}
	defer orig.Close()
	ns, err := netns.NewNamed(name) // switches this thread into the new namespace
	if err != nil {
		if netns.Set(orig) == nil {
			runtime.UnlockOSThread()
		}
		return fmt.Errorf("create network namespace %s: %w", name, err)
	}
	ns.Close()
	var serr error
	for _, key := range []string{"net/ipv6/conf/all/disable_ipv6", "net/ipv6/conf/default/disable_ipv6"} {
		serr = errors.Join(serr, writeSysctl(key, "1"))
	}
	if err := netns.Set(orig); err != nil {
		return errors.Join(serr, fmt.Errorf("return to the original network namespace: %w", err))
	}
	runtime.UnlockOSThread()
	return serr
}

// writeSysctl writes a /proc/sys key; /proc/sys/net shows the namespace of the calling thread.
func writeSysctl(key, value string) error {
	p := filepath.Join("/proc/sys", key)
	if err := os.WriteFile(p, []byte(value), 0o644); err != nil {
		return fmt.Errorf("set sysctl %s=%s: %w", key, value, err)
	}
	return nil
}

// namedNetnsExists reports whether /run/netns/name exists (the file bind-mounted by netns.NewNamed).
func namedNetnsExists(name string) bool {
	_, err := os.Stat(filepath.Join("/run/netns", name))
	return err == nil
}
