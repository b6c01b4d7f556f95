package store_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"callgate/store"
	"callgate/store/boltkv"
	"callgate/store/kv"
	"callgate/store/storetest"

	"golang.org/x/crypto/bcrypt"
)

// The subscribers' IVR changes lists and PINs while its caller waits in
// silence (b2bua/ivr.go). With the system of record unreachable, those
// writes given a deadline fail by it: not after three request timeouts
// and the pauses between them, also queued behind a write without one;
// and the store is left as it was.
func TestIVRWritesBoundedWhileUnavailable(t *testing.T) {
	s, b, _ := stallFixture(t, time.Second)
	alice := storetest.Alice
	before := listOf(t, s, store.ListBlocked)
	b.down.Store(true)
	add := func(ctx context.Context) error {
		_, err := s.AddToListContext(ctx, ivrActor, alice, store.ListBlocked, []string{"+12025550143"}, "by phone")
		return err
	}
	wantBounded(t, "AddToListContext", add)
	wantBounded(t, "RemoveFromListContext", func(ctx context.Context) error {
		_, err := s.RemoveFromListContext(ctx, ivrActor, alice, store.ListBlocked, []string{storetest.BlockedCaller})
		return err
	})
	wantBounded(t, "SetPINContext", func(ctx context.Context) error { return s.SetPINContext(ctx, ivrActor, alice, "97531") })

	// Behind a write that waits the whole 3.6 s.
	slow := make(chan error, 1)
	go func() {
		_, err := s.AddToList(ivrActor, alice, store.ListVIP, []string{"+12025550144"}, "")
		slow <- err
	}()
	time.Sleep(100 * time.Millisecond)
	wantBounded(t, "AddToListContext behind another write", add)
	if err := <-slow; !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("the unbounded write: %v, want ErrUnavailable", err)
	}

	b.down.Store(false)
	if got := listOf(t, s, store.ListBlocked); !slices.Equal(got, before) {
		t.Errorf("Blocked list after the writes given up: %v, want it unchanged: %v", got, before)
	}
	v, _ := s.Subscriber(mustNum(storetest.AliceNumber))
	if !s.CheckPIN(v.ID, storetest.AlicePIN) || s.CheckPIN(v.ID, "97531") {
		t.Error("the PIN changed, or its old value no longer checks, after SetPINContext gave up")
	}
}

// A list change too large for one transaction is staged (listwrite.go).
// Given up at any of its transactions, lost there (etcd down) or landed
// with its answer lost (etcd slow), it returns by its deadline and leaves
// the list as it was or wholly changed, never partly; once the store
// answers again the change can be made.
func TestStagedListWriteBoundedAllOrNothing(t *testing.T) {
	// How many transactions a staged change of one number takes.
	s, b := faultFixture(t)
	b.small.Store(true)
	before := listOf(t, s, store.ListBlocked)
	b.count.Store(0)
	if _, err := s.AddToList(ivrActor, storetest.Alice, store.ListBlocked, []string{"+12025550143"}, "by phone"); err != nil {
		t.Fatal(err)
	}
	txns := int(b.count.Load())
	if txns < 4 {
		t.Fatalf("the staged change took %d transactions: is it staged?", txns)
	}
	after := listOf(t, s, store.ListBlocked)
	if !slices.Contains(after, "+12025550143 by phone") || len(after) != len(before)+1 {
		t.Fatalf("healthy staged add: %v from %v", after, before)
	}
	for at := 1; at <= txns; at++ {
		for _, landed := range []bool{false, true} {
			t.Run(fmt.Sprintf("txn%d/landed=%v", at, landed), func(t *testing.T) {
				t.Parallel()
				s, b := faultFixture(t)
				b.small.Store(true)
				b.fault(at, landed)
				const bound = 300 * time.Millisecond
				ctx, cancel := context.WithTimeout(context.Background(), bound)
				defer cancel()
				start := time.Now()
				_, err := s.AddToListContext(ctx, ivrActor, storetest.Alice, store.ListBlocked, []string{"+12025550143"}, "by phone")
				if took := time.Since(start); took > bound+500*time.Millisecond {
					t.Errorf("took %v with a %v deadline", took, bound)
				}
				b.fault(0, false)
				got := listOf(t, s, store.ListBlocked)
				audited := auditedAdds(t, s)
				switch {
				case slices.Equal(got, before) && audited == 0:
					if err == nil || b.committed.Load() {
						t.Errorf("the list is unchanged, though the add answered %v (its commit landed: %v)", err, b.committed.Load())
					}
				case slices.Equal(got, after) && audited == 1:
					if !b.committed.Load() {
						t.Error("changed, though no commit landed")
					}
				default:
					t.Fatalf("the list half changed: %v (%d audit records), want %v or %v (err %v)", got, audited, before, after, err)
				}
				// Back up: the change can be made.
				if _, err := s.AddToList(ivrActor, storetest.Alice, store.ListBlocked, []string{"+12025550143"}, "by phone"); err != nil {
					t.Fatal(err)
				}
				if got := listOf(t, s, store.ListBlocked); !slices.Equal(got, after) {
					t.Fatalf("after the store came back: %v, want %v", got, after)
				}
			})
		}
	}
}

// faultKV is a backend that can stall from one of its transactions on,
// as etcd does: one that never reaches it (down), or one it applies but
// whose answer does not come back (landed). While small, its limits make
// a change of one number too large for one transaction.
type faultKV struct {
	kv.Backend
	small     atomic.Bool
	count     atomic.Int64
	committed atomic.Bool // a staged generation's commit landed

	mu     sync.Mutex
	at     int64 // 0: no fault
	landed bool
}

// fault stalls transactions from the at'th from now (0: none).
func (f *faultKV) fault(at int, landed bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count.Store(0)
	f.at, f.landed = int64(at), landed
}

func (f *faultKV) Limits() kv.Limits {
	if f.small.Load() {
		return kv.Limits{MaxOps: 3, MaxBytes: 1 << 20}
	}
	return f.Backend.Limits()
}

func (f *faultKV) Txn(ctx context.Context, cmps []kv.Cmp, ops []kv.Op) (int64, error) {
	n := f.count.Add(1)
	f.mu.Lock()
	stall, landed := f.at > 0 && n >= f.at, f.landed
	f.mu.Unlock()
	if !stall || landed {
		rev, err := f.Backend.Txn(ctx, cmps, ops)
		if err == nil && isCommit(ops) {
			f.committed.Store(true)
		}
		if !stall || err != nil {
			return rev, err
		}
	}
	t := time.NewTimer(700 * time.Millisecond) // etcd's RequestTimeout
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
	return 0, fmt.Errorf("etcd: %w: context deadline exceeded", kv.ErrUnavailable)
}

// isCommit says whether ops commit a staged generation (they set meta/gen).
func isCommit(ops []kv.Op) bool {
	for _, o := range ops {
		if o.IsPut() && string(o.Key) == "meta/gen" {
			return true
		}
	}
	return false
}

func faultFixture(t *testing.T) (*store.Store, *faultKV) {
	t.Helper()
	db, err := boltkv.Open(filepath.Join(t.TempDir(), "kv.db"), boltkv.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	b := &faultKV{Backend: db}
	s, err := store.New(b, store.Options{PINCost: bcrypt.MinCost, GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := storetest.Populate(s); err != nil {
		t.Fatal(err)
	}
	return s, b
}

// listOf is Alice's list l.
func listOf(t *testing.T, s *store.Store, l store.List) []string {
	t.Helper()
	pg, err := s.ListEntries(store.Operator, storetest.Alice, l, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range pg.Entries {
		out = append(out, e.Number.String()+" "+e.Note)
	}
	return out
}

// auditedAdds counts the IVR's list.add records.
func auditedAdds(t *testing.T, s *store.Store) int {
	t.Helper()
	recs, err := s.SearchAudit(store.Operator, store.AuditQuery{Actor: "ivr "})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range recs {
		if r.Op == "list.add" {
			n++
		}
	}
	return n
}
