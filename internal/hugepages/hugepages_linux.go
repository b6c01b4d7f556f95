//go:build linux

package hugepages

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

const smallPage = 4 << 10

// Collapse asks the kernel to back the whole huge pages inside [lo, hi)
// with huge pages and returns the bytes it covered. The range must be
// memory the caller holds (a live Go allocation does not move); only its
// address goes to the kernel.
func Collapse(lo, hi uintptr) (int64, error) {
	lo = (lo + Size - 1) &^ (Size - 1)
	hi &^= Size - 1
	if lo == 0 || hi <= lo {
		return 0, nil
	}
	if _, _, e := unix.Syscall(unix.SYS_MADVISE, lo, hi-lo, unix.MADV_COLLAPSE); e != 0 {
		return 0, fmt.Errorf("madvise(MADV_COLLAPSE) of %d MiB: %w", (hi-lo)>>20, e)
	}
	return int64(hi - lo), nil
}

// Heap marks the process's anonymous writable mappings for huge pages and
// collapses their resident 2 MiB blocks (see the package doc). Call it
// once the process has built what it keeps (a daemon: after start-up);
// memory mapped later is not marked. It takes about 10 ms of CPU per huge
// page collapsed, during which other threads touching that block wait.
func Heap() Report {
	start := time.Now()
	var rep Report
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		rep.Err = fmt.Errorf("hugepages: %w", err)
		return rep
	}
	if mode := thpMode(); mode == "never" {
		rep.Err = errors.New("transparent huge pages are off (/sys/kernel/mm/transparent_hugepage/enabled is [never]); set it to madvise")
		return rep
	}
	var errs []error
	vec := make([]byte, Size/smallPage)
	for _, m := range anonMappings(maps) {
		rep.Mappings++
		rep.Bytes += int64(m.hi - m.lo)
		if _, _, e := unix.Syscall(unix.SYS_MADVISE, m.lo, m.hi-m.lo, unix.MADV_HUGEPAGE); e != 0 {
			errs = append(errs, fmt.Errorf("madvise(MADV_HUGEPAGE) at %#x: %w", m.lo, e))
			continue
		}
		for b := (m.lo + Size - 1) &^ (Size - 1); b+Size <= m.hi; b += Size {
			n, err := resident(b, vec)
			if err != nil {
				errs = append(errs, err)
				break
			}
			rep.Resident += int64(n) * smallPage
			if n < len(vec)/2 {
				continue
			}
			c, err := Collapse(b, b+Size)
			rep.Collapsed += c
			if err != nil {
				// One block may fail (pinned pages); the next may not.
				// Report the first of each kind only.
				errs = appendOnce(errs, err)
			}
		}
	}
	rep.Err = errors.Join(errs...)
	rep.Took = time.Since(start)
	return rep
}

// resident counts the resident small pages of the huge page at b.
func resident(b uintptr, vec []byte) (int, error) {
	if _, _, e := unix.Syscall(unix.SYS_MINCORE, b, Size, uintptr(unsafe.Pointer(&vec[0]))); e != 0 {
		return 0, fmt.Errorf("mincore at %#x: %w", b, e)
	}
	n := 0
	for _, v := range vec {
		n += int(v & 1)
	}
	return n, nil
}

func appendOnce(errs []error, err error) []error {
	for _, e := range errs {
		if errors.Is(e, errors.Unwrap(err)) {
			return errs
		}
	}
	return append(errs, err)
}

// thpMode is the bracketed word of /sys/kernel/mm/transparent_hugepage/enabled
// ("always", "madvise" or "never"), or "" when it cannot be read.
func thpMode() string {
	b, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil {
		return ""
	}
	_, rest, ok := bytes.Cut(b, []byte("["))
	if !ok {
		return ""
	}
	mode, _, _ := bytes.Cut(rest, []byte("]"))
	return string(mode)
}

type mapping struct{ lo, hi uintptr }

// anonMappings lists, from /proc/self/maps, the private anonymous
// read-write mappings holding at least one whole huge page: Go's heap
// arenas and its runtime's data (bss), not files, stacks or the kernel's
// special mappings.
func anonMappings(maps []byte) []mapping {
	var out []mapping
	sc := bufio.NewScanner(bytes.NewReader(maps))
	for sc.Scan() {
		// start-end perms offset dev inode [path]
		f := strings.Fields(sc.Text())
		if len(f) < 5 || f[1] != "rw-p" || f[4] != "0" || (len(f) > 5 && f[5] != "[heap]") {
			continue
		}
		a, b, ok := strings.Cut(f[0], "-")
		if !ok {
			continue
		}
		lo, err1 := strconv.ParseUint(a, 16, 64)
		hi, err2 := strconv.ParseUint(b, 16, 64)
		if err1 != nil || err2 != nil || (lo+Size-1)&^(Size-1)+Size > hi {
			continue
		}
		out = append(out, mapping{uintptr(lo), uintptr(hi)})
	}
	return out
}
