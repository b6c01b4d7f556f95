package reputation

import (
	"sync"
	"time"
)

// breaker is a circuit breaker over the provider: closed (asked), open
// (not asked until openUntil), half-open (one trial look-up in flight;
// its outcome closes or reopens the breaker).
type breaker struct {
	threshold int
	openFor   time.Duration

	mu        sync.Mutex
	failures  int // in a row
	openUntil int64
	trial     bool // half-open: the trial look-up is out
	opened    uint64
}

// allow reports whether a look-up may start now.
func (b *breaker) allow(now int64) bool {
	if b.threshold <= 0 {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.failures < b.threshold {
		return true
	}
	if now < b.openUntil || b.trial {
		return false
	}
	b.trial = true // half-open: this one look-up decides
	return true
}

// isOpen reports whether the provider is not being asked (for Stats).
func (b *breaker) isOpen(now int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.threshold > 0 && b.failures >= b.threshold && now < b.openUntil
}

// A change of the breaker's state, which the checker logs: the operator
// must hear that calls take the unknown branch because the provider is
// not asked, not only count it.
type change uint8

const (
	unchanged change = iota
	opened           // the failures reached the threshold: not asked from now
	closed           // a look-up succeeded after the breaker had opened
)

// done records a look-up's outcome and says whether it opened or closed
// the breaker.
func (b *breaker) done(ok bool, now int64) change {
	if b.threshold <= 0 {
		return unchanged
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.trial = false
	if ok {
		was := b.failures
		b.failures = 0
		if was >= b.threshold {
			return closed
		}
		return unchanged
	}
	b.failures++
	if b.failures >= b.threshold {
		b.openUntil = now + int64(b.openFor)
		if b.failures == b.threshold {
			b.opened++
			return opened
		}
	}
	return unchanged
}

// release gives back a permission allow gave for a look-up that was not
// started after all (too many in flight).
func (b *breaker) release() {
	b.mu.Lock()
	b.trial = false
	b.mu.Unlock()
}
