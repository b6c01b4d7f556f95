//go:build !linux

package hugepages

import "errors"

var errNotLinux = errors.New("huge pages are only asked for on Linux")

// Collapse does nothing here (see the package doc).
func Collapse(lo, hi uintptr) (int64, error) { return 0, errNotLinux }

// Heap does nothing here (see the package doc).
func Heap() Report { return Report{Err: errNotLinux} }
