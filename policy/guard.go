package policy

import (
	"fmt"
	"log/slog"
	"time"
)

// Fault says why a guarded decision cannot be used as the engine gave it.
// Each tier maps a fault to its own safe answer (the SCP: authorize or
// forward, per scp.safe_answer; the SIP tiers: 503 for FaultLate, 500 for
// the others) and counts it; none of them may lose the call or crash.
type Fault uint8

// Faults.
const (
	FaultNone    Fault = iota // the decision is good: carry it out
	FaultLate                 // not made within the time budget
	FaultPanic                // a rule or signal panicked (recovered, logged)
	FaultInvalid              // no usable action came back
	// FaultDeferred: a stage would have waited and the Budget allowed
	// deferring (Budget.AllowDefer, Defer): no decision was made; ask
	// again for the same call under a Budget that does not allow it.
	FaultDeferred
)

var faultNames = [...]string{"none", "late", "panic", "invalid", "deferred"}

func (f Fault) String() string {
	if int(f) < len(faultNames) {
		return faultNames[f]
	}
	return fmt.Sprintf("fault(%d)", uint8(f))
}

// Guard is the one way a tier asks the engine: the decision runs under a
// time budget, a panic anywhere below Decide is recovered and reported as
// FaultPanic, and a late or invalid answer is reported instead of used.
// It is safe for concurrent use and adds no allocation to Decide.
type Guard struct {
	d     Decider
	log   *slog.Logger
	limit LogLimiter
}

// NewGuard guards d. Panics are logged on log (at most one line a second,
// with the count of those suppressed); nil logs nowhere.
func NewGuard(d Decider, log *slog.Logger) *Guard {
	return &Guard{d: d, log: log}
}

// Decider is the guarded engine, for callers that only read it (tests,
// `callgate decide`).
func (g *Guard) Decider() Decider { return g.d }

// Decide asks the engine about c under b, which must end by deadline (zero:
// no time budget, never late); b is the caller's reusable Budget (one per
// worker or call). When the fault is
// not FaultNone the returned Decision must not be carried out; its Trace is
// still the engine's, for the record.
func (g *Guard) Decide(b *Budget, c *Call, deadline time.Time) (d Decision, f Fault) {
	b.Start(deadline)
	defer func() {
		b.Finish()
		if r := recover(); r != nil {
			f = FaultPanic
			if ok, n := g.limit.Allow(time.Now(), time.Second); ok && g.log != nil {
				g.log.Error("decision engine panicked: the tier gives its safe answer", "panic", fmt.Sprint(r),
					"calling", c.Calling.String(), "called", c.Called.String(), "origin", c.Origin.String(), "direction", c.Direction.String(),
					"suppressed_since_last", n)
			}
		}
	}()
	d = g.d.Decide(b, *c)
	switch {
	case b.deferred:
		f = FaultDeferred
	case b.late():
		f = FaultLate
	case d.Action < ActionAllow || d.Action > ActionVoicemail:
		f = FaultInvalid
	}
	return d, f
}
