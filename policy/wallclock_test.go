package policy

import (
	"testing"
	"time"
)

// TestWallAtFollowsSteps: the wall-clock time of a decision's start is
// derived from the monotonic clock with the last anchor's distance, so a
// wall clock stepped since (here: an anchor an hour off, as if the clock
// had been set back) shows until the anchor is due, and once it is, the
// next reading takes a new one and is the wall clock's time again.
func TestWallAtFollowsSteps(t *testing.T) {
	wallAt(monoNow()) // an anchor taken before the test's, if one was due
	good := wallAnchor.offset.Load()
	t.Cleanup(func() {
		wallAnchor.offset.Store(good)
		wallAnchor.anchoredAt.Store(int64(monoNow() - wallReanchor))
	})

	wallAnchor.offset.Store(good + int64(time.Hour))
	wallAnchor.anchoredAt.Store(int64(monoNow()))
	if got := wallAt(monoNow()); got.Sub(time.Now()) < time.Hour-time.Minute {
		t.Fatalf("anchor not due: got %v, want the stepped anchor's time (an hour ahead)", got)
	}

	// Taking an anchor is skipped when the thread lost the CPU between
	// the clock reads; a few tries are sure to take one.
	for try := 0; ; try++ {
		wallAnchor.anchoredAt.Store(int64(monoNow() - wallReanchor))
		before := time.Now()
		got := wallAt(monoNow())
		after := time.Now()
		if !got.Before(before.Add(-wallAnchorSpan)) && !got.After(after.Add(wallAnchorSpan)) {
			return
		}
		if try == 9 {
			t.Fatalf("anchor due: got %v, want between %v and %v", got, before, after)
		}
	}
}

// TestBudgetStartWallClock: a Budget's start (Started) is wall-clock
// time, ordered with the wall clock read around the decision.
func TestBudgetStartWallClock(t *testing.T) {
	var b Budget
	before := time.Now()
	b.Start(time.Time{})
	after := time.Now()
	got, ok := Started(&b)
	if !ok || got.Before(before.Add(-wallAnchorSpan)) || got.After(after.Add(wallAnchorSpan)) {
		t.Fatalf("Started = %v, %v; want between %v and %v", got, ok, before, after)
	}
	b.Finish()
}
