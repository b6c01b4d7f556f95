package policy

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Budget is the context one guarded decision runs under: its deadline is
// the call's arrival plus the tier's time budget. A tier keeps one per
// worker and reuses it, so deciding allocates no context and no timer: Err
// compares the clock with the deadline, and only a caller of Done (a signal
// that wants to wait, such as a reputation look-up) arms a timer and gets a
// channel. When the decision ends, Finish closes that channel (anything the
// decision left waiting stops) and the Budget is ready for the next call.
// One Budget serves one decision at a time.
//
// A zero deadline means no time budget (a tier configured without one):
// Err never reports DeadlineExceeded, Deadline reports none, and Done's
// channel closes only at Finish.
//
// Start and Finish take no lock unless Done was called during the decision
// (armed): they run twice per call on every tier's hot path. A goroutine a
// signal left behind may still call Done or Err after Finish: it gets a
// closed channel and context.Canceled, never a race.
type Budget struct {
	deadline atomic.Int64 // unix ns; 0 = none
	// monoDeadline is the deadline on the monotonic clock, as time since
	// monoEpoch (0 = none): Err, asked between the engine's stages,
	// then reads one clock instead of two.
	monoDeadline atomic.Int64
	over         atomic.Bool // Finish ran: Err reports Canceled
	armed        atomic.Bool // Done was called: done (and timer) need closing
	mu           sync.Mutex
	done         chan struct{}
	timer        *time.Timer

	// Set and read by the deciding goroutine only: when the decision
	// began, on the monotonic clock (time since monoEpoch, for timing)
	// and as wall-clock time derived from it (Started; wallclock.go), and
	// deferring (Defer).
	startMono          time.Duration
	started            time.Time
	mayDefer, deferred bool
	// took is the decision's duration, read once by the first stage that
	// asked once the engine returned (Elapsed); haveTook says it is set.
	took     time.Duration
	haveTook bool
}

var _ context.Context = (*Budget)(nil)

// monoEpoch is the origin of Budget.monoDeadline and Budget.startMono:
// time.Since(monoEpoch) reads the monotonic clock alone.
var monoEpoch = time.Now()

// Start begins a decision that must end by deadline.
func (c *Budget) Start(deadline time.Time) {
	if c.armed.Load() {
		// A channel handed to something that outlived the previous
		// decision stays closed; this decision gets its own. One still
		// open is closed now: it was handed out before the first
		// decision, when nothing had ended yet, and would otherwise stay
		// open for good.
		c.mu.Lock()
		if c.timer != nil {
			c.timer.Stop()
		}
		if c.done != nil {
			select {
			case <-c.done:
			default:
				close(c.done)
			}
		}
		c.done, c.timer = nil, nil
		c.armed.Store(false)
		c.mu.Unlock()
	}
	var dl, mono int64
	if !deadline.IsZero() {
		dl, mono = deadline.UnixNano(), max(int64(deadline.Sub(monoEpoch)), 1)
	}
	c.deadline.Store(dl)
	c.monoDeadline.Store(mono)
	c.over.Store(false)
	c.deferred, c.haveTook = false, false
	c.startMono = monoNow()
	c.started = wallAt(c.startMono)
}

// Elapsed returns how long the decision running under ctx took, for the
// stages that time a decision after the engine has returned to them (the
// metrics, the decision log, the Guard's late check): under a Budget the
// first of them reads the clock and the others get the same reading, a
// few nanoseconds apart being of no account. start is when the caller's
// timing began (policy.Started), used when ctx is not a Budget.
func Elapsed(ctx context.Context, start time.Time) time.Duration {
	b, ok := ctx.(*Budget)
	if !ok || b.started.IsZero() {
		return time.Since(start)
	}
	return b.elapsed()
}

func (c *Budget) elapsed() time.Duration {
	if !c.haveTook {
		c.took, c.haveTook = monoNow()-c.startMono, true
	}
	return c.took
}

// Ended returns when the decision running under c ended, on the
// monotonic clock, if a stage timed it (Elapsed; the Guard always does):
// a tier that answers right after deciding takes it as the answer's time
// instead of reading the clock again.
func (c *Budget) Ended() (time.Time, bool) {
	if !c.haveTook {
		return time.Time{}, false
	}
	return monoEpoch.Add(c.startMono + c.took), true
}

// Expired reports whether ctx was already done when the decision running
// under it began: under a Budget, from the reading Start took (no second
// clock read a few nanoseconds later); under anything else, ctx.Err.
func Expired(ctx context.Context) bool {
	b, ok := ctx.(*Budget)
	if !ok || b.started.IsZero() {
		return ctx.Err() != nil
	}
	if b.over.Load() {
		return true
	}
	dl := b.monoDeadline.Load()
	return dl != 0 && b.startMono >= time.Duration(dl)
}

// late reports whether the decision ended at or after the deadline (never,
// without one), on the monotonic clock.
func (c *Budget) late() bool {
	dl := c.monoDeadline.Load()
	return dl != 0 && c.startMono+c.elapsed() >= time.Duration(dl)
}

// Started returns when the decision running under ctx began, as
// wall-clock time (without a monotonic reading: time it with Elapsed), if
// ctx is a Budget: the stages that time a decision (metrics, decision log)
// take it instead of each reading the clock again.
func Started(ctx context.Context) (time.Time, bool) {
	b, ok := ctx.(*Budget)
	if !ok || b.started.IsZero() {
		return time.Time{}, false
	}
	return b.started, true
}

// AllowDefer says whether decisions under c may be deferred (Defer): the
// tier deciding under c can move a decision that would wait (for a
// signal's look-up) to a goroutine where waiting holds up nothing else,
// and ask again there. A Budget does not allow it until told.
func (c *Budget) AllowDefer(ok bool) { c.mayDefer = ok }

// CanDefer reports whether the decision running under ctx may be
// deferred (Defer): only under a Budget that allows it.
func CanDefer(ctx context.Context) bool {
	b, ok := ctx.(*Budget)
	return ok && b.mayDefer
}

// Defer is what a stage below a Guard calls instead of waiting when the
// wait would hold up other calls and CanDefer says yes: it marks the
// decision deferred. The stage then returns at once, without asking the
// stages below it and without a side effect (nothing used up, nothing
// counted); the Guard reports FaultDeferred, and the tier asks again for
// the same call under a Budget that does not allow deferring. Under
// anything else Defer does nothing.
func Defer(ctx context.Context) {
	if b, ok := ctx.(*Budget); ok && b.mayDefer {
		b.deferred = true
	}
}

// Deferred reports whether the decision running under ctx was deferred
// (Defer): a stage above the one that deferred passes the empty Decision
// up without recording it.
func Deferred(ctx context.Context) bool {
	b, ok := ctx.(*Budget)
	return ok && b.deferred
}

// Finish ends the decision.
func (c *Budget) Finish() {
	c.over.Store(true)
	if !c.armed.Load() {
		// Done was not called, or its caller saw over and closed the
		// channel itself (see Done): nothing to close.
		return
	}
	c.mu.Lock()
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	if c.done != nil {
		select {
		case <-c.done:
		default:
			close(c.done)
		}
	}
	c.mu.Unlock()
}

// Deadline implements context.Context.
func (c *Budget) Deadline() (time.Time, bool) {
	dl := c.deadline.Load()
	if dl == 0 {
		return time.Time{}, false
	}
	return time.Unix(0, dl), true
}

// Done implements context.Context; the first call arms a timer (when there
// is a deadline).
func (c *Budget) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		ch := make(chan struct{})
		c.done = ch
		// armed before over is read: either Finish sees armed and closes
		// the channel, or this sees over and closes it here.
		c.armed.Store(true)
		dl := c.deadline.Load()
		left := time.Duration(1) // no deadline: only Finish closes the channel
		if dl != 0 {
			left = time.Until(time.Unix(0, dl))
		}
		switch {
		case c.over.Load() || left <= 0:
			close(ch)
		case dl != 0:
			c.timer = time.AfterFunc(left, func() {
				c.mu.Lock()
				if c.done == ch {
					select {
					case <-ch:
					default:
						close(ch)
					}
				}
				c.mu.Unlock()
			})
		}
	}
	return c.done
}

// Err implements context.Context.
func (c *Budget) Err() error {
	if c.over.Load() {
		return context.Canceled
	}
	if dl := c.monoDeadline.Load(); dl != 0 && time.Since(monoEpoch) >= time.Duration(dl) {
		return context.DeadlineExceeded
	}
	return nil
}

// Value implements context.Context; a Budget carries no values.
func (c *Budget) Value(any) any { return nil }
