package scp

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// budgetCtx is the context a query's Decide runs under: its deadline is
// the query's arrival plus the time budget. One is reused per worker, so
// deciding a query allocates no context and no timer: Err compares the
// clock with the deadline, and only a Done caller (a signal that wants to
// wait, e.g. a reputation look-up) arms a timer and gets a channel. When
// Decide returns, finish closes that channel (the decision is over, so
// anything Decide left waiting stops) and the context is ready for the next
// query. It must not be used after Decide returns.
type budgetCtx struct {
	deadline time.Time
	mu       sync.Mutex
	done     chan struct{}
	timer    *time.Timer
	over     atomic.Bool // finish ran: Err reports Canceled
}

var _ context.Context = (*budgetCtx)(nil)

func (c *budgetCtx) start(deadline time.Time) {
	c.mu.Lock()
	// A channel handed to something that outlived the previous decision
	// stays closed; this decision gets its own.
	c.done, c.timer = nil, nil
	c.deadline = deadline
	c.over.Store(false)
	c.mu.Unlock()
}

// finish ends the decision.
func (c *budgetCtx) finish() {
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

func (c *budgetCtx) Deadline() (time.Time, bool) { return c.deadline, true }

func (c *budgetCtx) Done() <-chan struct{} {
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

func (c *budgetCtx) Err() error {
	if c.over.Load() {
		return context.Canceled
	}
	if !time.Now().Before(c.deadline) {
		return context.DeadlineExceeded
	}
	return nil
}

func (c *budgetCtx) Value(any) any { return nil }

// logLimiter lets one log line through per interval and counts the rest.
type logLimiter struct {
	next       atomic.Int64
	suppressed atomic.Uint64
}

// allow reports whether to log now and how many lines were suppressed
// since the last one that was let through.
func (l *logLimiter) allow(now time.Time, every time.Duration) (bool, uint64) {
	n := l.next.Load()
	t := now.UnixNano()
	if t < n || !l.next.CompareAndSwap(n, t+int64(every)) {
		l.suppressed.Add(1)
		return false, 0
	}
	return true, l.suppressed.Swap(0)
}
