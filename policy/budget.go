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
// Start and Finish take no lock unless Done was called during the decision
// (armed): they run twice per call on every tier's hot path. A goroutine a
// signal left behind may still call Done or Err after Finish: it gets a
// closed channel and context.Canceled, never a race.
type Budget struct {
	deadline atomic.Int64 // unix ns
	over     atomic.Bool  // Finish ran: Err reports Canceled
	armed    atomic.Bool  // Done was called: done (and timer) need closing
	mu       sync.Mutex
	done     chan struct{}
	timer    *time.Timer
}

var _ context.Context = (*Budget)(nil)

// Start begins a decision that must end by deadline.
func (c *Budget) Start(deadline time.Time) {
	if c.armed.Load() {
		// A channel handed to something that outlived the previous
		// decision stays closed; this decision gets its own.
		c.mu.Lock()
		c.done, c.timer = nil, nil
		c.armed.Store(false)
		c.mu.Unlock()
	}
	c.deadline.Store(deadline.UnixNano())
	c.over.Store(false)
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
func (c *Budget) Deadline() (time.Time, bool) { return time.Unix(0, c.deadline.Load()), true }

// Done implements context.Context; the first call arms a timer.
func (c *Budget) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		ch := make(chan struct{})
		c.done = ch
		// armed before over is read: either Finish sees armed and closes
		// the channel, or this sees over and closes it here.
		c.armed.Store(true)
		if d := time.Until(time.Unix(0, c.deadline.Load())); d <= 0 || c.over.Load() {
			close(ch)
		} else {
			c.timer = time.AfterFunc(d, func() {
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
	if time.Now().UnixNano() >= c.deadline.Load() {
		return context.DeadlineExceeded
	}
	return nil
}

// Value implements context.Context; a Budget carries no values.
func (c *Budget) Value(any) any { return nil }
