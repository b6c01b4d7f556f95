package decisionlog

import (
	"context"
	"time"

	"callgate/policy"
)

// Wrap returns a Decider that asks d and records every decision in l, with
// the time the decision began and the time spent deciding: from the
// Guard's start (policy.Started), so signals in front of the log count,
// else from when d was asked. Both tiers wrap the engine once, so every
// decision is logged the same way.
func Wrap(d policy.Decider, l *Log) policy.Decider {
	return &logged{d: d, log: l}
}

type logged struct {
	d   policy.Decider
	log *Log
}

// The named result receives the next stage's Decision in place: returning
// a local would copy the Decision once more at every stage of the chain.
func (w *logged) Decide(ctx context.Context, c policy.Call) (dec policy.Decision) {
	start, ok := policy.Started(ctx)
	if !ok {
		start = time.Now()
	}
	dec = w.d.Decide(ctx, c)
	w.log.RecordDecision(start, &c, &dec, policy.Elapsed(ctx, start))
	return dec
}
