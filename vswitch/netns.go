package vswitch

import (
	"fmt"
	"runtime"

	"github.com/vishvananda/netns"
)

// inNetns runs fn on an OS thread inside ns (nil: the caller's namespace).
// The thread is never handed back to the Go scheduler: it exits with the
// goroutine, so a failed switch back cannot leak a thread in the wrong
// namespace into unrelated goroutines.
func inNetns(ns *netns.NsHandle, fn func() error) error {
	if ns == nil {
		return fn()
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := netns.Set(*ns); err != nil {
			errc <- fmt.Errorf("enter network namespace %s: %w", ns, err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}
