//go:build !linux

package record

import (
	"errors"
	"os"
)

// preallocate is a no-op where there is no fallocate: writes then reserve
// blocks as they go.
func preallocate(f *os.File, off, n int64) error { return errors.ErrUnsupported }
