package decisionlog

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// When the log cannot write (disk full, I/O error, file gone), calls are
// still answered: Record never blocks and never fails, and the writer
// counts each lost batch instead of retrying it. What the log does about it:
//
//   - Stats.WriteFailures counts the failed commits and Stats.Failed the
//     decisions they lost; Stats.Failing is true from a failed commit until
//     the next one succeeds (the metrics package exports them as
//     callgate_decision_log_write_failures_total, _failed_total and the
//     gauge callgate_decision_log_failing).
//   - Health returns an error saying so while it fails, for /readyz.
//   - The process log gets one ERROR line at the first failure, then at
//     most one a minute (failureLogEvery) with the failed commits and lost
//     decisions since the previous line, and one WARN line when writing
//     works again: not one line per commit (five a second).
//   - Search, Flush and Close keep working: reads need no write, Flush is a
//     barrier (its records are written or counted lost when it returns),
//     and Close does not turn lost decisions into an error (see Close).

// ErrWriteFailing is wrapped by Health's error while commits fail.
var ErrWriteFailing = errors.New("decision log failing")

// failureLogEvery is the longest the log stays quiet about commits that
// keep failing.
const failureLogEvery = time.Minute

// health is the write-failure state. The writer goroutine changes it;
// Health reads it under mu.
type health struct {
	mu    sync.Mutex
	err   error     // last commit error; nil while commits succeed
	since time.Time // first failure of the current outage
	lost  uint64    // decisions lost in the current outage

	// Writer goroutine only: the rate limit of the ERROR lines.
	loggedAt              time.Time
	quietFails, quietLost uint64 // since the last line
}

// commitFailed counts and reports a commit that failed, losing n records.
func (l *Log) commitFailed(err error, n uint64) {
	l.writeFailures.Add(1)
	l.failed.Add(n)
	h := &l.health
	now := l.opts.Now()
	h.mu.Lock()
	first := h.err == nil
	if first {
		h.since, h.lost = now, 0
	}
	h.err = err
	h.lost += n
	since := h.since
	h.mu.Unlock()
	l.failing.Store(true)

	h.quietFails++
	h.quietLost += n
	switch {
	case first:
		l.opts.Logger.Error("decision log cannot write: decisions are being lost, calls are still answered",
			"path", l.path, "decisions_lost", n, "err", err)
	case now.Sub(h.loggedAt) >= failureLogEvery:
		l.opts.Logger.Error("decision log still cannot write: decisions are being lost, calls are still answered",
			"path", l.path, "failing_since", since.Format(time.RFC3339), "failed_commits", h.quietFails, "decisions_lost", h.quietLost, "err", err)
	default:
		return
	}
	h.loggedAt, h.quietFails, h.quietLost = now, 0, 0
}

// commitSucceeded ends an outage, if any.
func (l *Log) commitSucceeded() {
	if !l.failing.Load() {
		return
	}
	h := &l.health
	h.mu.Lock()
	since, lost := h.since, h.lost
	h.err = nil
	h.mu.Unlock()
	l.failing.Store(false)
	h.quietFails, h.quietLost = 0, 0
	l.opts.Logger.Warn("decision log writing again", "path", l.path,
		"failing_since", since.Format(time.RFC3339), "for", l.opts.Now().Sub(since).Round(time.Millisecond).String(), "decisions_lost", lost)
}

// Health returns nil while the log writes, and while its last commit
// failed an error wrapping ErrWriteFailing and the commit's error, e.g.
//
//	decision log failing: data/decisions.db since 2026-05-01T12:00:00Z,
//	1234 decisions not written: ...: no space left on device; calls are
//	still answered
//
// for the daemon's readiness report. It turns nil again at the first commit
// that succeeds. After Close it tells whether the final commit succeeded.
// It is cheap (an atomic load while healthy) and safe for concurrent use;
// nil for a nil or read-only Log.
func (l *Log) Health() error {
	if l == nil || l.readOnly || !l.failing.Load() {
		return nil
	}
	h := &l.health
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err == nil {
		return nil
	}
	return fmt.Errorf("%w: %s since %s, %d decisions not written: %w; calls are still answered",
		ErrWriteFailing, l.path, h.since.Format(time.RFC3339), h.lost, h.err)
}
