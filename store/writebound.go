package store

import (
	"context"
	"fmt"
	"time"
)

// Writes bounded in time. A write waits for this process's other writers
// (wmu), for the backend (an etcd request: up to its RequestTimeout), and,
// while etcd cannot be reached, tries three times with pauses between:
// some 16 s before it fails. An operator's API call can wait that long; a
// caller on the phone cannot. The B2BUA counts a wrong PIN in the middle
// of a call (pinlock.go), and its IVR changes lists and PINs
// (AddToListContext, RemoveFromListContext, SetPINContext), so those writes
// take a context, and each of these waits ends when it does: the write
// fails (with the context's cause) and the B2BUA falls back within the time
// it allows.
//
// A write given up is not half made: an in-place write is one
// transaction, and a staged list change (listwrite.go) is read only once
// its one commit transaction lands, its staged rows being garbage
// otherwise. A transaction sent before ctx ended may still land (etcd got
// it; the answer did not come back in time): then the change is made
// whole, though the caller was told it failed, as with any write whose
// answer is lost.

// writerLock is wmu: a mutex whose waiters can give up (lockCtx), so a
// bounded write does not queue behind one the backend holds up.
type writerLock chan struct{}

func newWriterLock() writerLock { return make(writerLock, 1) }

func (l writerLock) Lock()   { l <- struct{}{} }
func (l writerLock) Unlock() { <-l }

// lockCtx locks l, or gives up once ctx ends.
func (l writerLock) lockCtx(ctx context.Context) error {
	select {
	case l <- struct{}{}:
		return nil
	default:
	}
	select {
	case l <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("another write of this node is still waiting for the backend: %w", context.Cause(ctx))
	}
}

// pause waits d, or less when ctx ends first; it says whether it waited d.
func pause(ctx context.Context, d time.Duration) bool {
	if ctx.Done() == nil {
		time.Sleep(d)
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// background runs f, which must not need wmu, and waits for it as long as
// ctx allows: all of it for a ctx that never ends. What is left running
// when ctx ends finishes before Close.
func (s *Store) background(ctx context.Context, f func()) {
	if ctx.Done() == nil {
		f()
		return
	}
	done := make(chan struct{})
	s.bg.Go(func() {
		defer close(done)
		f()
	})
	select {
	case <-done:
	case <-ctx.Done():
	}
}
