package store_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"callgate/store"
	"callgate/store/boltkv"
	"callgate/store/kv"

	"golang.org/x/crypto/bcrypt"
)

// stallKV is a backend whose system of record stops answering, as etcd
// does to a node cut off from it: reads answer from the replica, a write
// waits for its request timeout (or its context) and fails unavailable.
type stallKV struct {
	kv.Backend
	down    atomic.Bool
	request time.Duration // etcd's RequestTimeout
}

func (d *stallKV) Txn(ctx context.Context, cmps []kv.Cmp, ops []kv.Op) (int64, error) {
	if !d.down.Load() {
		return d.Backend.Txn(ctx, cmps, ops)
	}
	t := time.NewTimer(d.request)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
	return 0, fmt.Errorf("etcd: %w: context deadline exceeded", kv.ErrUnavailable)
}

func stallFixture(t *testing.T, request time.Duration) (*store.Store, *stallKV, uint32) {
	t.Helper()
	db, err := boltkv.Open(filepath.Join(t.TempDir(), "kv.db"), boltkv.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	b := &stallKV{Backend: db, request: request}
	s, err := store.New(b, store.Options{PINCost: bcrypt.MinCost, GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, b, populatedAlice(t, s)
}

// With the system of record unreachable, a wrong PIN counted with a
// deadline fails by the deadline, not after three request timeouts and
// the pauses between them: also when it queues behind a write without
// one, and when a right PIN clears the count. The B2BUA's caller waits
// in silence meanwhile (b2bua/pinlock.go).
func TestPINLockWritesBoundedWhileUnavailable(t *testing.T) {
	s, b, alice := stallFixture(t, time.Second)
	f := store.PINFailure{Prompt: store.PINPromptOverride, Actor: ivrActor, Policy: lockPolicy}
	if _, _, err := s.PINFailed(alice, f); err != nil { // a count for PINSucceeded to clear
		t.Fatal(err)
	}
	b.down.Store(true)
	wantBounded(t, "PINFailedContext", func(ctx context.Context) error {
		_, _, err := s.PINFailedContext(ctx, alice, f)
		return err
	})
	wantBounded(t, "PINSucceededContext", func(ctx context.Context) error { return s.PINSucceededContext(ctx, alice) })

	// Behind a write that waits the whole 3.6 s.
	slow := make(chan error, 1)
	go func() { _, _, err := s.PINFailed(alice, f); slow <- err }()
	time.Sleep(100 * time.Millisecond)
	wantBounded(t, "PINFailedContext behind another write", func(ctx context.Context) error {
		_, _, err := s.PINFailedContext(ctx, alice, f)
		return err
	})
	if err := <-slow; !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("the unbounded write: %v, want ErrUnavailable", err)
	}

	b.down.Store(false)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if l, _, err := s.PINFailedContext(ctx, alice, f); err != nil || l.Failures != 2 {
		t.Fatalf("back up: %+v, %v (want 2 failures: the first and this one)", l, err)
	}
}

// wantBounded runs write, a store write made while the store cannot be
// reached, with a 300 ms deadline, and wants it to fail within about that
// (a deadlock guard's margin, not a timing assertion).
func wantBounded(t *testing.T, what string, write func(ctx context.Context) error) {
	t.Helper()
	const bound = 300 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	start := time.Now()
	err := write(ctx)
	if took := time.Since(start); took > bound+500*time.Millisecond {
		t.Errorf("%s took %v with a %v deadline", what, took, bound)
	}
	if err == nil {
		t.Errorf("%s: no error with the store unreachable", what)
	}
}
