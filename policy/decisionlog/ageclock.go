package decisionlog

import "time"

// ageClock is the clock the age bound (MaxAge) is measured on: the wall
// clock read once, at the first reading, then advanced by the monotonic
// clock, but never ahead of the wall clock. The age bound compares record
// times, which the tiers stamp from the wall clock, with now minus
// MaxAge; on the wall clock itself, one bad step forward (an NTP server a
// year ahead, a mistyped date) made every record older than MaxAge at
// once and the next commit deleted the whole log. The monotonic clock is
// slewed by NTP like the wall clock but never stepped, so a step forward
// moves the age clock only as fast as real time: the records written
// before it go MaxAge of real time after they were written. A step back
// is followed (the age clock is the wall clock's when that is behind):
// were the age clock left ahead, the records the tiers stamp afterwards,
// stamped behind it, would be old as soon as written. Pruning then waits
// for the wall clock to catch up, and the records stamped before the
// step, now ahead of it, are aged from when the pruning walk meets them
// (prune), so the wait is at most MaxAge. At Open there is nothing to
// compare the wall clock with: a clock already wrong at start is trusted
// (MaxRecords still bounds the file, and a commit prunes at most a chunk:
// see pruneChunk).
type ageClock struct {
	set  bool
	wall time.Time     // the wall clock at the first reading
	mono time.Duration // the monotonic reading then
}

// ageNow returns the age clock's time. The writer (and init, before it
// starts) calls it.
func (l *Log) ageNow() time.Time {
	a := &l.w.age
	wall, mono := l.opts.Now(), l.opts.monotonic()
	if !a.set {
		a.set, a.wall, a.mono = true, wall, mono
	}
	t := a.wall.Add(mono - a.mono)
	if wall.Before(t) {
		return wall
	}
	return t
}
