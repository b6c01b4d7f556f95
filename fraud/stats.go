package fraud

import (
	"errors"
	"sync/atomic"
)

// counters are the monitor's running counts, exported by the collector.
type counters struct {
	started, untracked, expired, unrated      atomic.Uint64
	matched, unmatched, unattributed, invalid atomic.Uint64
	alerts, lockdowns, unlocks, rateImports   atomic.Uint64
	writeErrors, recomputes                   atomic.Uint64
	duplicates, closedRemote, uncounted       atomic.Uint64
	reopened, unclosed                        atomic.Uint64
	badShares, badJournal, badLocks           atomic.Uint64
	open, locked, groups, lastRecompute       atomic.Int64
}

func (c *counters) event(k EventKind) {
	switch k {
	case EventAlert:
		c.alerts.Add(1)
	case EventLockdown:
		c.lockdowns.Add(1)
	case EventUnlock:
		c.unlocks.Add(1)
	case EventRates:
		c.rateImports.Add(1)
	}
}

// Stats are the monitor's counts since it started.
type Stats struct {
	Started      uint64 // calls opened by the decision hook
	Untracked    uint64 // starts not valued: max_open_calls reached
	Expired      uint64 // calls in progress dropped without a CDR
	Unrated      uint64 // starts and CDRs no rate table row matched
	Matched      uint64 // CDRs that closed a call in progress
	Unmatched    uint64 // CDRs with no call in progress (rated on arrival)
	Unattributed uint64 // CDRs from lines in no group
	Duplicates   uint64 // CDRs counted before (here or on another node) within the dedup window: dropped
	ClosedRemote uint64 // calls in progress here closed by a CDR another node took
	Uncounted    uint64 // CDRs counted here and on a node whose name sorts first: taken back here
	Reopened     uint64 // calls closed here for another node's CDR, reopened: a node whose name sorts first closed one for it
	Unclosed     uint64 // CDRs taken here for which no node closed a call within a minute (settled then)
	Invalid      uint64 // CDRs refused
	Alerts       uint64
	Lockdowns    uint64
	Unlocks      uint64
	RateImports  uint64
	WriteErrors  uint64 // state writes that failed (retried)
	Recomputes   uint64
	Open         int64 // calls in progress at the last recompute
	Locked       int64 // groups locked now

	// Records in the store read and skipped as unreadable, each time they
	// are read: other nodes' spend shares (not counted here) and CDR
	// journal chunks, and lock records (the group, if its key is
	// readable, kept locked).
	UnreadableShares, UnreadableJournal, UnreadableLocks uint64
}

// unreadable counts the records a read of the store skipped as
// unreadable, and says why (rate-limited).
func (m *Monitor) unreadable(n *atomic.Uint64, msg string, bad []error) {
	if len(bad) == 0 {
		return
	}
	n.Add(uint64(len(bad)))
	m.warnf(msg, "error", errors.Join(bad...))
}

// Stats returns the counts.
func (m *Monitor) Stats() Stats {
	c := &m.st
	return Stats{
		Started: c.started.Load(), Untracked: c.untracked.Load(), Expired: c.expired.Load(), Unrated: c.unrated.Load(),
		Matched: c.matched.Load(), Unmatched: c.unmatched.Load(), Unattributed: c.unattributed.Load(), Invalid: c.invalid.Load(),
		Duplicates: c.duplicates.Load(), ClosedRemote: c.closedRemote.Load(), Uncounted: c.uncounted.Load(), Reopened: c.reopened.Load(), Unclosed: c.unclosed.Load(),
		UnreadableShares: c.badShares.Load(), UnreadableJournal: c.badJournal.Load(), UnreadableLocks: c.badLocks.Load(),
		Alerts: c.alerts.Load(), Lockdowns: c.lockdowns.Load(), Unlocks: c.unlocks.Load(), RateImports: c.rateImports.Load(),
		WriteErrors: c.writeErrors.Load(), Recomputes: c.recomputes.Load(), Open: c.open.Load(), Locked: c.locked.Load(),
	}
}
