package store

import "testing"

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
