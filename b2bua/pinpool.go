package b2bua

import (
	"context"
	"sync"

	"callgate/store"
)

// PINChecker checks a subscriber's PIN, at the override PIN prompt and in
// the IVR, and keeps the wrong PINs across calls (the list store:
// *store.Store; pinlock.go). A check is a bcrypt comparison, tens of
// milliseconds of CPU, so the B2BUA runs them on a small pool of its own
// goroutines, never on a SIP transaction or RTP goroutine. The lockout
// methods read and write the store from the call's goroutine, in its media
// conversation: never on a SIP transaction or the decision path. The
// caller hears silence while they wait, so the writes take a context that
// bounds them (pinLockWait).
type PINChecker interface {
	CheckPIN(subscriber uint32, pin string) bool
	// PINLockState says whether the subscriber's PIN is locked; a PIN
	// keyed while it is locked is not checked.
	PINLockState(subscriber uint32) (store.PINLockout, error)
	// PINFailedContext counts a wrong PIN and says whether this one
	// locked it; it gives up (an error) once ctx ends.
	PINFailedContext(ctx context.Context, subscriber uint32, f store.PINFailure) (store.PINLockout, bool, error)
	// PINSucceededContext clears the count after a right PIN; it gives up
	// once ctx ends.
	PINSucceededContext(ctx context.Context, subscriber uint32) error
}

var _ PINChecker = (*store.Store)(nil)

type pinJob struct {
	sub   uint32
	pin   string
	reply chan bool
}

// pinPool is a fixed set of workers behind a bounded queue.
type pinPool struct {
	pins PINChecker
	jobs chan pinJob
	wg   sync.WaitGroup
}

func newPINPool(p PINChecker, workers, queue int) *pinPool {
	pp := &pinPool{pins: p, jobs: make(chan pinJob, queue)}
	pp.wg.Add(workers)
	for range workers {
		go func() {
			defer pp.wg.Done()
			for j := range pp.jobs {
				j.reply <- pp.pins != nil && pp.pins.CheckPIN(j.sub, j.pin)
			}
		}()
	}
	return pp
}

// check reports whether pin is the subscriber's PIN. It waits for room in
// the queue and for the answer, or for ctx (the caller hung up).
func (pp *pinPool) check(ctx context.Context, sub uint32, pin string) (bool, error) {
	j := pinJob{sub: sub, pin: pin, reply: make(chan bool, 1)}
	select {
	case pp.jobs <- j:
	case <-ctx.Done():
		return false, context.Cause(ctx)
	}
	select {
	case ok := <-j.reply:
		return ok, nil
	case <-ctx.Done():
		return false, context.Cause(ctx)
	}
}

// close stops the workers once the queued checks are done.
func (pp *pinPool) close() {
	close(pp.jobs)
	pp.wg.Wait()
}
