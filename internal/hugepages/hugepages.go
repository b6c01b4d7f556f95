// Package hugepages asks Linux to back long-lived memory with 2 MiB pages.
//
// A daemon that reads a large working set at random (the store's index,
// the SCP's dialogue tables) takes a TLB miss on nearly every dependent
// access when that memory is on 4 KiB pages, and in a virtual machine each
// miss walks two levels of page tables. Measured under load, the more of
// callgate's memory was on huge pages, the shorter the tail of the SCP's
// answers and the less CPU per query (bench/scp/README.md, "the heap on
// huge pages").
//
// Go's heap asks for no huge pages, and on a system whose transparent huge
// pages are in "madvise" mode (the usual default) it gets none. Collapse
// turns whole 2 MiB pages of a range the caller holds into huge pages now
// (MADV_COLLAPSE, Linux 6.1+). Heap does that for the process's anonymous
// memory (Go's heap arenas and its runtime's data) and marks it for huge
// pages (MADV_HUGEPAGE), so memory faulted in there later, and the
// kernel's khugepaged, use huge pages too. Only 2 MiB blocks that are at
// least half resident are collapsed, so address space Go reserved but
// never used does not become resident.
//
// Nothing changes for the program but speed: the same bytes at the same
// addresses. Where the kernel cannot (older kernels, THP off, other
// systems) the memory stays on small pages and the report says why.
package hugepages

import "time"

// Size is the huge page size these calls work in (x86-64 and arm64 with
// 4 KiB base pages).
const Size = 2 << 20

// Report says what Heap did.
type Report struct {
	Mappings  int           // anonymous writable mappings advised
	Bytes     int64         // their size
	Resident  int64         // of which resident (counted per small page)
	Collapsed int64         // bytes collapsed into huge pages now
	Took      time.Duration // time spent, collapsing mostly
	Err       error         // why (part of) the memory stays on small pages; nil when all went well
}
