package fraud

import (
	"context"

	"callgate/policy"
)

// Wrap returns a Decider that puts the fraud signal in front of d for
// originating calls (Call.Direction originating; terminating calls pass
// straight through):
//
//   - before the engine, Call.FraudLocked is set when the calling line's
//     group is locked down, so the engine's originating chain refuses its
//     international and premium calls (trace fraud=yes destination=yes);
//   - after it, a call the engine let through is opened as a call in
//     progress of its group, priced from the rate table, and valued up to
//     now at every recompute until its CDR arrives.
//
// Wrap it outside the decision log (decisionlog.Wrap), so the log records
// the call with FraudLocked as the engine saw it. It adds no allocation
// to a decision in steady state.
func Wrap(d policy.Decider, m *Monitor) policy.Decider { return &decider{next: d, m: m} }

type decider struct {
	next policy.Decider
	m    *Monitor
}

// The named result receives the next stage's Decision in place: returning
// a local would copy the Decision once more at every stage of the chain.
func (w *decider) Decide(ctx context.Context, c policy.Call) (d policy.Decision) {
	if c.Direction != policy.DirectionOriginating {
		d = w.next.Decide(ctx, c)
		return d
	}
	g, ok := groupOf(w.m.dir, c.Calling)
	if ok && w.m.IsLocked(g) {
		c.FraudLocked = true
	}
	d = w.next.Decide(ctx, c)
	if ok && d.Action == policy.ActionAllow && c.Called != 0 {
		w.m.Started(g, c.Calling, c.Called)
	}
	return d
}
