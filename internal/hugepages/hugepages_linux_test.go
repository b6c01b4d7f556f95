//go:build linux

package hugepages

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

// TestCollapseKeepsContent: Collapse covers the whole huge pages inside a
// range and the memory reads back the same. (The kernel here has
// MADV_COLLAPSE, Linux 6.1+, and THP not "never"; where it does not, this
// fails: the daemon's start-up line would say so too.)
func TestCollapseKeepsContent(t *testing.T) {
	s := make([]uint64, 2*Size/8) // 4 MiB: at least one whole huge page inside
	for i := range s {
		s[i] = uint64(i) * 0x9E3779B97F4A7C15
	}
	lo := uintptr(unsafe.Pointer(&s[0]))
	hi := lo + uintptr(len(s))*8
	n, err := Collapse(lo, hi)
	if err != nil {
		t.Fatal(err)
	}
	want := int64(hi&^(Size-1) - (lo+Size-1)&^(Size-1))
	if n != want || n < Size {
		t.Errorf("collapsed %d bytes, want %d (the whole huge pages in the slice)", n, want)
	}
	for i := range s {
		if s[i] != uint64(i)*0x9E3779B97F4A7C15 {
			t.Fatalf("word %d changed", i)
		}
	}
}

// TestHeapCollapsesResidentHeap: after Heap, a large live allocation that
// was on small pages is on huge pages (the kernel's own account, smaps),
// and reads back the same; address space that was never touched is not
// made resident.
func TestHeapCollapsesResidentHeap(t *testing.T) {
	s := make([]uint64, 16*Size/8) // 32 MiB, written: resident
	for i := range s {
		s[i] = uint64(i) ^ 0x5555
	}
	lo := uintptr(unsafe.Pointer(&s[0]))
	hi := lo + uintptr(len(s))*8
	before := anonHuge(t, lo, hi)
	rep := Heap()
	if rep.Err != nil {
		t.Fatalf("%+v", rep)
	}
	after := anonHuge(t, lo, hi)
	// 15 whole huge pages at least lie inside the slice.
	if after < before || after < 15*Size {
		t.Errorf("huge pages over the slice: %d MiB before, %d MiB after (report %+v)", before>>20, after>>20, rep)
	}
	if rep.Mappings == 0 || rep.Collapsed < 15*Size || 2*rep.Resident < rep.Collapsed || rep.Bytes < rep.Collapsed {
		t.Errorf("report: %+v", rep)
	}
	for i := range s {
		if s[i] != uint64(i)^0x5555 {
			t.Fatalf("word %d changed", i)
		}
	}
}

// anonHuge sums AnonHugePages of the mappings overlapping [lo, hi).
func anonHuge(t *testing.T, lo, hi uintptr) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	in := false
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if a, z, ok := strings.Cut(f[0], "-"); ok && len(f) >= 5 {
			l, e1 := strconv.ParseUint(a, 16, 64)
			h, e2 := strconv.ParseUint(z, 16, 64)
			if e1 == nil && e2 == nil {
				in = uintptr(l) < hi && uintptr(h) > lo
				continue
			}
		}
		if in && f[0] == "AnonHugePages:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			sum += kb << 10
		}
	}
	return sum
}

// TestAnonMappings: only private anonymous read-write mappings with a
// whole huge page inside are taken.
func TestAnonMappings(t *testing.T) {
	maps := []byte(`00400000-01144000 r-xp 00000000 fe:01 1234   /usr/bin/callgate
0229b000-04814000 rw-p 00000000 00:00 0 
0229b000-0229c000 rw-p 00000000 00:00 0 
05000000-05600000 rw-p 00000000 00:00 0                                  [heap]
89d7000000-89eb400000 rw-p 00000000 00:00 0 
7f5ef4000000-7f5f04000000 rw-s 00000000 fe:01 99 /var/lib/callgate/decisions.db
7f5f00000000-7f5f00400000 rw-p 00000000 fe:01 98 /var/lib/callgate/x.db
7f5f10000000-7f5f10400000 ---p 00000000 00:00 0 
7ffd10000000-7ffd10400000 rw-p 00000000 00:00 0                          [stack]
7f5f20100000-7f5f20300000 rw-p 00000000 00:00 0 
`)
	got := anonMappings(maps)
	want := []mapping{{0x0229b000, 0x04814000}, {0x05000000, 0x05600000}, {0x89d7000000, 0x89eb400000}}
	if len(got) != len(want) {
		t.Fatalf("got %x, want %x", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("mapping %d: got %x, want %x", i, got[i], want[i])
		}
	}
}
