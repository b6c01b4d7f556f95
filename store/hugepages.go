package store

import (
	"time"
	"unsafe"

	"callgate/internal/hugepages"
)

// The index of a large store (10M list rows: about 160 MB) is read at
// random, one subscriber and its lists per call, and on 4 KiB pages nearly
// every one of a call's dependent memory accesses also misses the TLB: in
// a virtual machine a page walk is itself several memory accesses. Backed
// by 2 MiB pages the same look-ups cost about a fifth less
// (bench/store/README.md). Go's heap asks the kernel for no huge pages, so
// when the store opens, the index it has just built — before anything
// reads it — is collapsed into huge pages (MADV_COLLAPSE, Linux 6.1+),
// range by range: the subscriber table, the per-subscriber arrays, and the
// span of memory holding the lists' rows and filters. Nothing else about
// memory changes: later allocations (lists edited after opening) get
// ordinary pages, and the kernel's THP settings for new faults are left
// alone. Where the kernel cannot collapse (older kernels, THP disabled),
// the index works the same on small pages; HugePages says so. A rebuild
// after the change feed was reset (apply.go) collapses its new index too,
// while the old one goes on serving: about 10 ms of CPU a huge page, 1.6 s
// for the 10M-row store, off the query path.

// hugeIndexMin: smaller indexes are left on ordinary pages (collapsing
// costs about 10 ms a huge page, and a small index stays in the caches).
const hugeIndexMin = 32 << 20

// hugeChunk is how much one MADV_COLLAPSE call covers (Go's heap arenas
// are 64 MiB).
const hugeChunk = 64 << 20

// HugePageReport says what opening the store did about huge pages for its
// index (see hugepages.go).
type HugePageReport struct {
	IndexBytes int64         // bytes of the index's large arrays
	Collapsed  int64         // bytes now on huge pages
	Took       time.Duration // time spent collapsing
	Err        error         // why (part of) the index stays on small pages; nil when it did not try (small index)
}

// HugePages reports what the last index build did about huge pages.
func (s *Store) HugePages() HugePageReport {
	s.ix.mu.RLock()
	defer s.ix.mu.RUnlock()
	return s.huge
}

type memRange struct{ lo, hi uintptr }

func rangeOf[T any](s []T) memRange {
	if len(s) == 0 {
		return memRange{}
	}
	lo := uintptr(unsafe.Pointer(&s[0]))
	return memRange{lo, lo + uintptr(len(s))*unsafe.Sizeof(s[0])}
}

// hugeRanges lists the index's large, long-lived arrays: the subscriber
// table, views and lists, and one range spanning the lists' rows and
// filters (allocated one after another while the index loaded) and the
// filter arena (allocated after them).
func (ix *index) hugeRanges() ([]memRange, int64) {
	rs := []memRange{rangeOf(ix.byNumber.slots), rangeOf(ix.views), rangeOf(ix.lists)}
	var span memRange
	var total int64
	add := func(r memRange) {
		if r.lo == 0 {
			return
		}
		total += int64(r.hi - r.lo)
		if span.lo == 0 || r.lo < span.lo {
			span.lo = r.lo
		}
		span.hi = max(span.hi, r.hi)
	}
	add(rangeOf(ix.filters.blocks))
	for i := range ix.lists {
		for j := range ix.lists[i] {
			add(rangeOf(ix.lists[i][j].rows))
			if f := ix.lists[i][j].filt; ix.filters.refOf(f) == 0 {
				add(rangeOf(f)) // not counted with the arena
			}
		}
	}
	for _, r := range rs {
		total += int64(r.hi - r.lo)
	}
	return append(rs, span), total
}

// collapseHuge puts ix's large arrays on huge pages when it is big enough
// to gain from it. ix must not be read concurrently (it is not published
// yet): collapsing copies the pages.
func (ix *index) collapseHuge() HugePageReport {
	rs, total := ix.hugeRanges()
	rep := HugePageReport{IndexBytes: total}
	if total < hugeIndexMin {
		return rep
	}
	start := time.Now()
	for _, r := range rs {
		// In arena-sized pieces: the span of the rows may cross a gap
		// between the heap's arenas, which would fail a single call.
		for lo := r.lo; lo < r.hi; lo += hugeChunk {
			n, err := hugepages.Collapse(lo, min(lo+hugeChunk, r.hi))
			rep.Collapsed += n
			if err != nil && rep.Err == nil {
				rep.Err = err
			}
		}
	}
	rep.Took = time.Since(start)
	return rep
}
