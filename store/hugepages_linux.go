//go:build linux

package store

import (
	"fmt"

	"golang.org/x/sys/unix"
)

const hugePage = 2 << 20

// collapse asks the kernel to back the whole 2 MiB pages inside r with huge
// pages (MADV_COLLAPSE) and returns the bytes it covered. r is live heap
// memory the caller holds (Go does not move it); only its address goes to
// the kernel.
func collapse(r memRange) (int64, error) {
	lo := (r.lo + hugePage - 1) &^ (hugePage - 1)
	hi := r.hi &^ (hugePage - 1)
	if r.lo == 0 || hi <= lo {
		return 0, nil
	}
	if _, _, e := unix.Syscall(unix.SYS_MADVISE, lo, hi-lo, unix.MADV_COLLAPSE); e != 0 {
		return 0, fmt.Errorf("madvise(MADV_COLLAPSE) of %d MiB: %w", (hi-lo)>>20, e)
	}
	return int64(hi - lo), nil
}
