//go:build linux

package store

import (
	"testing"
	"unsafe"
)

// TestCollapseKeepsContent: collapse covers the whole huge pages inside a
// range and the memory reads back the same. (The kernel here has
// MADV_COLLAPSE, Linux 6.1+; where it does not, the store's report says
// so and this fails.)
func TestCollapseKeepsContent(t *testing.T) {
	s := make([]uint64, 2*hugePage/8) // 4 MiB: at least one whole huge page inside
	for i := range s {
		s[i] = uint64(i) * 0x9E3779B97F4A7C15
	}
	n, err := collapse(rangeOf(s))
	if err != nil {
		t.Fatal(err)
	}
	lo := uintptr(unsafe.Pointer(&s[0]))
	want := int64(((lo+uintptr(len(s))*8)&^(hugePage-1) - (lo+hugePage-1)&^(hugePage-1)))
	if n != want || n < hugePage {
		t.Errorf("collapsed %d bytes, want %d (the whole huge pages in the slice)", n, want)
	}
	for i := range s {
		if s[i] != uint64(i)*0x9E3779B97F4A7C15 {
			t.Fatalf("word %d changed", i)
		}
	}
}

// TestSmallIndexStaysOnSmallPages: an index below hugeIndexMin is left
// alone (collapsing costs more than it buys there), and says so.
func TestSmallIndexStaysOnSmallPages(t *testing.T) {
	ix := newIndex()
	ix.views = make([]SubscriberView, 1000)
	rep := ix.collapseHuge()
	if rep.Collapsed != 0 || rep.Err != nil || rep.IndexBytes == 0 || rep.IndexBytes >= hugeIndexMin {
		t.Errorf("small index: %+v", rep)
	}
}
