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
type Budget struct {
	deadline time.Time
	mu       sync.Mutex
	done     chan struct{}
	timer    *time.Timer
	over     atomic.Bool // Finish ran: Err reports Canceled
}

var _ context.Context = (*Budget)(nil)

// Start begins a decision that must end by deadline.
func (c *Budget) Start(deadline time.Time) {
	c.mu.Lock()
	// A channel handed to something that outlived the previous decision
	// stays closed; this decision gets its own.
	c.done, c.timer = nil, nil
	c.deadline = deadline
	c.over.Store(false)
	c.mu.Unlock()
}

// Finish ends the decision.
func (c *Budget) Finish() {
	c.over.Store(true)
	c.mu.Lock()
	if c.done != nil {
		if c.timer != nil {
			c.timer.Stop()
		}
		select {
		case <-c.done:
		default:
			close(c.done)
		}
		c.done, c.timer = nil, nil
	}
	c.mu.Unlock()
}

// Deadline implements context.Context.
func (c *Budget) Deadline() (time.Time, bool) { return c.deadline, true }

// Done implements context.Context; the first call arms a timer.
func (c *Budget) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		ch := make(chan struct{})
		c.done = ch
		if d := time.Until(c.deadline); d <= 0 || c.over.Load() {
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
	if !time.Now().Before(c.deadline) {
		return context.DeadlineExceeded
	}
	return nil
}

// Value implements context.Context; a Budget carries no values.
func (c *Budget) Value(any) any { return nil }
