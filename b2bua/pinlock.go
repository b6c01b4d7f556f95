package b2bua

import (
	"context"
	"errors"
	"strconv"
	"time"

	"callgate/e164"
	"callgate/policy"
	"callgate/store"
)

// The PIN lockout around both PIN prompts (pin.go, ivr.go). Each prompt
// allows PINTries per call, and a caller who fakes the calling number can
// call again forever; so every wrong PIN is also counted in the store, per
// subscriber, across calls, prompts and nodes (store/pinlock.go says why
// per subscriber and not per calling number). PINLockFailures of them
// within PINLockWindow lock the subscriber's PIN for PINLockPeriod. While
// it is locked, a PIN keyed for the subscriber is not checked at all (so
// the answer cannot tell a right PIN from a wrong one) and the caller
// hears pin_locked; then the override prompt goes on with the treatment,
// as for a caller who keys no PIN, and the IVR releases the call. A right
// PIN clears the count. An IVR try without a digit is no guess: it uses
// up a try of the call but is not counted.
//
//	event                          store                         step
//	PIN keyed                      PINLockState: locked          pin locked / ivr pin-locked
//	PIN wrong                      PINFailed: this one locked it pin lockout / ivr pin-lockout
//	PIN right                      PINSucceeded
//
// The lockout fails closed: when its state cannot be read, or a wrong PIN
// cannot be counted within pinLockWait, the call's PIN entry is refused as
// if locked
// (logged, rate-limited; callgate_b2bua_pin_lockout_errors_total and
// pin_refused_total{reason=unavailable}). A right PIN whose reset fails
// still counts as right. Each lock imposed here is counted
// (callgate_b2bua_pin_lockouts_total), logged (rate-limited) and audited
// by the store in the same write, by the B2BUA's actor for the prompt:
// role operator (the platform acts, as the fraud monitor does), principal
// "ivr NUMBER" or "caller NUMBER", via ivr or b2bua.

// pinLockWait bounds each write of the lockout (a wrong PIN counted, a
// right PIN's reset), which the caller waits for in silence. The store's
// reads answer from this node (its bbolt file or etcd replica); a write
// over etcd goes to its leader, and while etcd cannot be reached it would
// try for some 16 s. A write that lands in time is a few milliseconds.
const pinLockWait = 1500 * time.Millisecond

// errPINLockWait is the cause of a write given up after pinLockWait.
var errPINLockWait = errors.New("the PIN lockout store did not answer within " + pinLockWait.String() + " (the caller's bound)")

// pinLockCtx bounds one lockout write. It does not end when the caller
// hangs up: a caller who hangs up at a wrong PIN's silence is not to
// cancel its count.
func (c *call) pinLockCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeoutCause(context.WithoutCancel(c.ctx), pinLockWait, errPINLockWait)
}

// pinPolicy is the lockout policy of the configuration.
func (s *Server) pinPolicy() store.PINLockPolicy {
	return store.PINLockPolicy{MaxFailures: s.cfg.PINLockFailures, Window: s.cfg.PINLockWindow, Period: s.cfg.PINLockPeriod}
}

// pinActor is who the audit record of a lock imposed at prompt names.
func (c *call) pinActor(prompt string) store.Actor {
	if prompt == store.PINPromptIVR {
		return store.Operator.By("ivr "+numberOr(c.pinCalling()), "ivr")
	}
	return store.Operator.By("caller "+numberOr(c.pinCalling()), "b2bua")
}

// pinCalling is the calling number the lockout keeps: none for a caller
// who withheld it (the subscriber may read its lockout).
func (c *call) pinCalling() e164.Number {
	if c.d.presentation != policy.PresentationAllowed {
		return 0
	}
	return c.d.calling
}

// pinRefused says whether a PIN keyed at prompt must not be checked, and
// why (the step's detail).
func (c *call) pinRefused(prompt string) (bool, string) {
	l, err := c.s.pins.PINLockState(c.d.subscriber)
	if err != nil {
		c.pinLockFailed("read", prompt, err)
		return true, "lockout state unavailable; PIN not checked"
	}
	if l.Locked {
		c.s.m.pinRefused.WithLabelValues(prompt, "locked").Inc()
		return true, "locked until " + l.LockedUntil.UTC().Format(time.RFC3339) + "; PIN not checked"
	}
	return false, ""
}

// pinWrong counts a wrong PIN keyed at prompt and says whether PIN entry
// is now refused (locked, or the count could not be kept), and why.
func (c *call) pinWrong(prompt string) (bool, string) {
	p := c.s.pinPolicy()
	ctx, cancel := c.pinLockCtx()
	defer cancel()
	l, lockedNow, err := c.s.pins.PINFailedContext(ctx, c.d.subscriber, store.PINFailure{Prompt: prompt, Calling: c.pinCalling(),
		Actor: c.pinActor(prompt), Policy: p})
	if err != nil {
		c.pinLockFailed("count", prompt, err)
		return true, "wrong PIN not counted (lockout state unavailable); PIN entry refused"
	}
	if !l.Locked {
		return false, ""
	}
	until := l.LockedUntil.UTC().Format(time.RFC3339)
	if !lockedNow {
		c.s.m.pinRefused.WithLabelValues(prompt, "locked").Inc()
		return true, "locked meanwhile, until " + until
	}
	c.s.m.pinLockouts.WithLabelValues(prompt).Inc()
	if c.s.lockLog.allow() {
		c.s.log.Warn("b2bua: PIN locked after too many wrong PINs", "call_id", c.id, "subscriber", l.Subscriber,
			"prompt", prompt, "calling", numberOr(c.pinCalling()), "failures", p.MaxFailures, "window", p.Window, "locked_until", until)
	}
	return true, strconv.Itoa(p.MaxFailures) + " wrong PINs within " + p.Window.String() + ": locked until " + until
}

// pinRight clears the count after a right PIN.
func (c *call) pinRight(prompt string) {
	ctx, cancel := c.pinLockCtx()
	defer cancel()
	if err := c.s.pins.PINSucceededContext(ctx, c.d.subscriber); err != nil {
		c.pinLockFailed("reset", prompt, err)
	}
}

// pinLockFailed counts and logs a failure of the lockout store.
func (c *call) pinLockFailed(op, prompt string, err error) {
	c.s.m.pinLockErrors.WithLabelValues(op).Inc()
	if op != "reset" {
		c.s.m.pinRefused.WithLabelValues(prompt, "unavailable").Inc()
	}
	fallback := "PIN entry refused for the call"
	if op == "reset" {
		fallback = "the right PIN lets the caller in; the count stays"
	}
	if c.s.lockLog.allow() {
		c.s.log.Error("b2bua: PIN lockout state unavailable", "call_id", c.id, "op", op, "prompt", prompt, "fallback", fallback, "error", err)
	}
}
