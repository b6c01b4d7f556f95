package decisionlog

import (
	"sync/atomic"
	"testing"
	"time"

	"callgate/policy"
)

// clockOptions are ageOptions (only an age bound of an hour) on a wall
// clock and a monotonic clock the test moves apart: *wall is the wall
// clock's Unix ns (starts at t0), *mono the monotonic time elapsed.
func clockOptions(wall, mono *atomic.Int64) Options {
	opts := ageOptions(wall)
	opts.monotonic = func() time.Duration { return time.Duration(mono.Load()) }
	return opts
}

// A bad NTP step of the wall clock a year forward made every record older
// than MaxAge and the next commit deleted the whole log. The age bound
// runs on the monotonic clock: nothing goes at the step, the records
// written before it go an hour of real time after they were written, and
// the records stamped after it (a year ahead) stay until their hour is up.
func TestClockStepForwardKeepsTheLog(t *testing.T) {
	var wall, mono atomic.Int64
	l := openTest(t, clockOptions(&wall, &mono))
	add := func(n int, at time.Time) {
		t.Helper()
		for range n {
			l.Record(Record{Time: at, Called: nA, Action: policy.ActionAllow})
		}
		if err := l.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	add(50, t0)
	// The step: a year ahead on the wall clock, a minute of real time.
	wall.Store(t0.Add(365*24*time.Hour + time.Minute).UnixNano())
	mono.Store(int64(time.Minute))
	step := time.Unix(0, wall.Load())
	add(10, step)
	if s := l.Stats(); s.Stored != 60 || s.Pruned != 0 {
		t.Fatalf("after the step: %+v; want all 60 kept", s)
	}
	// 61 minutes of real time after the first records: they go, the
	// ones written after the step (1 minute in) stay.
	wall.Store(step.Add(60 * time.Minute).UnixNano())
	mono.Store(int64(61 * time.Minute))
	add(1, time.Unix(0, wall.Load()))
	if s := l.Stats(); s.Stored != 11 || s.Pruned != 50 {
		t.Fatalf("an hour on: %+v; want the 50 before the step pruned", s)
	}
	// A step back, 3 hours of real time in: the age clock follows the
	// wall clock back, so the records stamped from now on are not old
	// at once; nothing goes until the wall clock is past the hour of the
	// segment at the front (met at 61 minutes, stamped a year ahead).
	wall.Store(t0.UnixNano())
	mono.Store(int64(3 * time.Hour))
	add(1, t0)
	if s := l.Stats(); s.Stored != 12 || s.Pruned != 50 {
		t.Fatalf("after a step back: %+v; want nothing more pruned", s)
	}
	wall.Store(t0.Add(2*time.Hour + 2*time.Minute).UnixNano())
	mono.Store(int64(5*time.Hour + 2*time.Minute))
	add(1, time.Unix(0, wall.Load()))
	if s := l.Stats(); s.Stored != 3 || s.Pruned != 60 {
		t.Fatalf("2h after the step back: %+v; want the 10 written after the step forward pruned", s)
	}
}

// One record stamped in the future (a clock stepped back since) made its
// segment young until the stamp, and since pruning goes from the front,
// kept every segment behind it too: with no count bound the log grew
// without limit. A segment stamped ahead is aged from when the writer
// first met it (written, or reached in a pruning walk): at the front, it
// goes MaxAge after it was written; behind old segments, MaxAge after
// they went.
func TestFutureStampDoesNotBlockPruning(t *testing.T) {
	for _, first := range []bool{true, false} {
		var wall, mono atomic.Int64
		opts := clockOptions(&wall, &mono)
		opts.BatchSize = 5
		l := openTest(t, opts)
		add := func(at time.Time) {
			t.Helper()
			for range 5 {
				l.Record(Record{Time: at, Called: nA, Action: policy.ActionAllow})
			}
			if err := l.Flush(); err != nil {
				t.Fatal(err)
			}
		}
		future := t0.Add(10 * 365 * 24 * time.Hour)
		if !first {
			add(t0)
		}
		add(future)
		add(t0)
		at := func(d time.Duration) {
			wall.Store(t0.Add(d).UnixNano())
			mono.Store(int64(d))
			add(t0.Add(d))
		}
		at(2 * time.Hour)
		want := uint64(5) // the newest batch
		if !first {
			// The walk stopped at the future segment, met now: it and
			// the one behind it stay an hour more.
			want = 15
		}
		if s := l.Stats(); s.Stored != want {
			t.Fatalf("first=%v, 2h on: %+v; want %d stored", first, s, want)
		}
		at(3*time.Hour + time.Minute)
		if s := l.Stats(); s.Stored != 5 {
			t.Fatalf("first=%v, 3h on: %+v; want only the newest batch", first, s)
		}
	}
}
