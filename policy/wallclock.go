package policy

import (
	"sync/atomic"
	"time"
)

// The wall-clock time a decision began (Started) is read off the
// monotonic clock: Budget.Start reads that clock alone and adds the
// distance between the two clocks, which a reading of both (an anchor)
// gives. The distance changes only when the wall clock is stepped (set by
// hand, an NTP step; slewing moves both clocks alike), so the anchor is
// taken again every wallReanchor: after a step, at most that long of
// decisions carry times on the old side of it. The decision log keeps
// those times and is searched by them; the key check compares them with
// a key's window.

// wallReanchor is how old an anchor may get before the next Start takes
// a new one. An anchor is taken only when reading both clocks took at most
// wallAnchorSpan (the thread was not descheduled between the two reads):
// else its distance would be off by the time lost, for every decision
// until the next one.
const (
	wallReanchor   = 100 * time.Millisecond
	wallAnchorSpan = 20 * time.Microsecond
)

// wallAnchor is the process's anchor. offset is the wall clock (unix ns)
// less the monotonic clock (time since monoEpoch) at the last anchor;
// anchoredAt is when that was, on the monotonic clock.
var wallAnchor struct {
	offset     atomic.Int64
	anchoredAt atomic.Int64
}

func init() {
	wallAnchor.offset.Store(monoEpoch.UnixNano())
}

// monoNow reads the monotonic clock alone, as time since monoEpoch.
func monoNow() time.Duration { return time.Since(monoEpoch) }

// wallAt returns the wall-clock time of the monotonic reading mono (time
// since monoEpoch), taking a new anchor first when the last one is older
// than wallReanchor. Concurrent callers take at most one anchor between
// them; the others use the previous one meanwhile.
func wallAt(mono time.Duration) time.Time {
	if last := wallAnchor.anchoredAt.Load(); int64(mono)-last >= int64(wallReanchor) &&
		wallAnchor.anchoredAt.CompareAndSwap(last, int64(mono)) {
		reanchor(mono)
	}
	return time.Unix(0, wallAnchor.offset.Load()+int64(mono))
}

// reanchor reads both clocks (time.Now: the wall clock, then the
// monotonic one) and keeps their distance, unless more than
// wallAnchorSpan passed since before (a monotonic reading taken just
// before): the previous anchor then stays until the next try.
func reanchor(before time.Duration) {
	now := time.Now()
	mono := now.Sub(monoEpoch)
	if mono-before > wallAnchorSpan {
		return
	}
	wallAnchor.offset.Store(now.UnixNano() - int64(mono))
}
