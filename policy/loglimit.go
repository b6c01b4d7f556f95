package policy

import (
	"sync/atomic"
	"time"
)

// LogLimiter lets one log line through per interval and counts the rest.
// The guarded path asks every tier to log its safe answers and fallbacks
// without flooding the log: the Guard, the SCP and the SIP redirect server
// each keep one per kind of line. The zero value is ready to use and it is
// safe for concurrent use.
type LogLimiter struct {
	next       atomic.Int64
	suppressed atomic.Uint64
}

// Allow reports whether to log now and how many lines were suppressed
// since the last one that was let through.
func (l *LogLimiter) Allow(now time.Time, every time.Duration) (bool, uint64) {
	n := l.next.Load()
	t := now.UnixNano()
	if t < n || !l.next.CompareAndSwap(n, t+int64(every)) {
		l.suppressed.Add(1)
		return false, 0
	}
	return true, l.suppressed.Swap(0)
}
