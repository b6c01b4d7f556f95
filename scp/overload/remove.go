package overload

import (
	"math"
	"time"

	"callgate/scp/ain"
)

// Removing the gaps when the overload is over. A gap is sent for up to
// 2048 s; without removal the switches keep holding back calls to the code
// long after the SCP has capacity again. AIN lets the SCP remove a control
// with an acg for the same code whose national gap interval is 0 ("remove
// gap control", GR-1299 NationalGapInterval; the private form is 16).

// Remove reports whether the answer to a query for code from peer should
// carry the removal of that switch's gap: the overload has been over for
// RemoveAfter, an acg for the code went to that switch and its gap still
// runs (one that ran out is gone at the switch: nothing to remove), and no
// removal went for it yet. Each gap is removed once. now is in
// nanoseconds, on the clock of Control and Shed.
func (c *Controller) Remove(code, peer uint64, now int64) (Gap, bool) {
	if code == 0 || !c.cur.Load().removing || !c.book.remove(code, peer, now) {
		return Gap{}, false
	}
	// gapDuration is mandatory in the acg even for a removal: the
	// configured one, which the removed gap was sent with.
	return Gap{Duration: DurationFor(c.cfg.GapDuration), Interval: ain.GapInterval{Value: ain.NationalGapRemove}}, true
}

// Removes reports whether g removes the gap instead of setting one.
func (g Gap) Removes() bool {
	if g.Interval.Private {
		return g.Interval.Value == ain.PrivateGapRemove
	}
	return g.Interval.Value == ain.NationalGapRemove
}

// Evicted returns how many records of gaps still running were given up
// for another (code, switch) pair because the record was full: those gaps
// were not removed when the overload ended, they ran their duration.
func (c *Controller) Evicted() uint64 { return c.book.evicted.Load() }

// span is how long a switch keeps a gap of duration d, in ns.
func span(d ain.GapDuration) int64 {
	if d >= 1 && d <= 12 {
		return int64(time.Duration(1<<(d-1)) * time.Second)
	}
	return math.MaxInt64 / 4 // infinity (13): until removed
}

// quiet decides, tick by tick, when the overload is over. Removal needs
// the rate below 90 % of capacity (the hysteresis threshold) and no query
// shed for `need` ticks in a row. If the overload comes back within `need`
// ticks of removals starting, the removals probably released the demand
// the gaps held back: `need` doubles, up to the gap duration (beyond it
// the gaps run out by themselves), so the SCP does not alternate between
// gapping and removing every few seconds. It returns to RemoveAfter once
// a quiet spell has outlasted the gaps.
type quiet struct {
	off                    bool
	base, need, most, gaps int // in ticks
	calm                   int // quiet ticks in a row
	began                  int // tick removals last began; -1 none
	removing               bool
}

func (q *quiet) init(cfg *Config) {
	ticks := func(d time.Duration) int { return max(1, int((d+cfg.Tick-1)/cfg.Tick)) }
	q.off = cfg.RemoveAfter < 0
	q.base = ticks(cfg.RemoveAfter)
	q.gaps = ticks(time.Duration(span(DurationFor(cfg.GapDuration))))
	q.need, q.most, q.began = q.base, max(q.base, q.gaps), -1
}

// tick takes one Tick (number now) with its overload state and whether it
// was quiet, and reports whether the gaps are to be removed.
func (q *quiet) tick(now int, over, calm bool) bool {
	if over && q.began >= 0 && now-q.began <= q.need {
		q.need = min(2*q.need, q.most)
		q.began = -1
	}
	if !calm {
		q.calm, q.removing = 0, false
		return false
	}
	q.calm++
	if q.calm > q.need+q.gaps {
		q.need = q.base // every gap we could remove has run out since
	}
	if q.off || q.calm < q.need {
		return false
	}
	if !q.removing {
		q.removing, q.began = true, now
	}
	return true
}
