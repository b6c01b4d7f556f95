// Package kvtest is the conformance suite every store/kv backend passes:
// the same tests run against boltkv and etcdkv.
package kvtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"callgate/store/kv"
)

// Run runs the suite. open returns a fresh, empty backend; the suite closes it.
func Run(t *testing.T, open func(t *testing.T) kv.Backend) {
	t.Run("PutGetModRev", func(t *testing.T) { putGet(t, open(t)) })
	t.Run("CompareAndSwap", func(t *testing.T) { compareAndSwap(t, open(t)) })
	t.Run("DeleteRange", func(t *testing.T) { deleteRange(t, open(t)) })
	t.Run("FeedOrderAndSnapshot", func(t *testing.T) { feed(t, open(t)) })
	t.Run("Limits", func(t *testing.T) { limits(t, open(t)) })
}

func k(s string) []byte { return []byte(s) }

// Feed collects a backend's events for tests.
type Feed struct {
	mu     sync.Mutex
	events []kv.Event
	cond   *sync.Cond
}

// Collect subscribes a new Feed to b.
func Collect(t testing.TB, b kv.Backend) *Feed {
	f := &Feed{}
	f.cond = sync.NewCond(&f.mu)
	cancel := b.Subscribe(func(ev kv.Event) {
		cp := kv.Event{Rev: ev.Rev, Reset: ev.Reset}
		for _, c := range ev.Changes {
			cp.Changes = append(cp.Changes, kv.Change{Key: bytes.Clone(c.Key), Value: bytes.Clone(c.Value), ModRev: c.ModRev, Deleted: c.Deleted})
		}
		f.mu.Lock()
		f.events = append(f.events, cp)
		f.cond.Broadcast()
		f.mu.Unlock()
	})
	t.Cleanup(cancel)
	return f
}

// Until waits (up to 10s) until an event at rev or above has arrived and
// returns every event so far.
func (f *Feed) Until(t testing.TB, rev int64) []kv.Event {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	go func() { time.Sleep(10 * time.Second); f.mu.Lock(); f.cond.Broadcast(); f.mu.Unlock() }()
	f.mu.Lock()
	defer f.mu.Unlock()
	for len(f.events) == 0 || f.events[len(f.events)-1].Rev < rev {
		if time.Now().After(deadline) {
			t.Fatalf("no event at revision %d within 10s (have %d events)", rev, len(f.events))
		}
		f.cond.Wait()
	}
	return append([]kv.Event(nil), f.events...)
}

func txn(t testing.TB, b kv.Backend, cmps []kv.Cmp, ops ...kv.Op) int64 {
	t.Helper()
	rev, err := b.Txn(context.Background(), cmps, ops)
	if err != nil {
		t.Fatalf("txn %v: %v", ops, err)
	}
	return rev
}

// Get reads one key from a fresh snapshot.
func Get(t testing.TB, b kv.Backend, key string) (string, int64, bool) {
	t.Helper()
	var v []byte
	var mod int64
	err := b.View(func(r kv.Reader) error {
		var err error
		v, mod, err = r.Get(k(key))
		v = bytes.Clone(v)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return string(v), mod, mod != 0
}

// waitRev waits until the local snapshot has reached rev (etcd replicas
// follow the watch).
func waitRev(t testing.TB, b kv.Backend, rev int64) {
	t.Helper()
	for i := 0; ; i++ {
		var have int64
		b.View(func(r kv.Reader) error { have = r.Rev(); return nil })
		if have >= rev {
			return
		}
		if i > 1000 {
			t.Fatalf("snapshot stuck at revision %d, want %d", have, rev)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func putGet(t *testing.T, b kv.Backend) {
	defer b.Close()
	r1 := txn(t, b, nil, kv.Put(k("a/x"), k("1")), kv.Put(k("a/y"), k("2")))
	r2 := txn(t, b, nil, kv.Put(k("a/y"), k("3")))
	if r2 <= r1 || r1 <= 0 {
		t.Fatalf("revisions %d then %d", r1, r2)
	}
	waitRev(t, b, r2)
	if v, mod, _ := Get(t, b, "a/x"); v != "1" || mod != r1 {
		t.Fatalf("a/x = %q at %d, want 1 at %d", v, mod, r1)
	}
	if v, mod, _ := Get(t, b, "a/y"); v != "3" || mod != r2 {
		t.Fatalf("a/y = %q at %d, want 3 at %d", v, mod, r2)
	}
	if _, _, ok := Get(t, b, "a/z"); ok {
		t.Fatal("absent key found")
	}
	r3 := txn(t, b, nil, kv.Delete(k("a/x")))
	waitRev(t, b, r3)
	if _, _, ok := Get(t, b, "a/x"); ok {
		t.Fatal("deleted key found")
	}
}

func compareAndSwap(t *testing.T, b kv.Backend) {
	defer b.Close()
	ctx := context.Background()
	r1 := txn(t, b, []kv.Cmp{{Key: k("c/n"), ModRev: 0}}, kv.Put(k("c/n"), k("first")))
	if _, err := b.Txn(ctx, []kv.Cmp{{Key: k("c/n"), ModRev: 0}}, []kv.Op{kv.Put(k("c/n"), k("second"))}); !errors.Is(err, kv.ErrConflict) {
		t.Fatalf("create over an existing key: %v, want ErrConflict", err)
	}
	r2 := txn(t, b, []kv.Cmp{{Key: k("c/n"), ModRev: r1}}, kv.Put(k("c/n"), k("third")))
	rev, err := b.Txn(ctx, []kv.Cmp{{Key: k("c/n"), ModRev: r1}}, []kv.Op{kv.Put(k("c/n"), k("stale"))})
	if !errors.Is(err, kv.ErrConflict) {
		t.Fatalf("swap on a stale revision: %v, want ErrConflict", err)
	}
	if rev < r2 {
		t.Fatalf("conflict reported revision %d, below the last commit %d", rev, r2)
	}
	waitRev(t, b, r2)
	if v, _, _ := Get(t, b, "c/n"); v != "third" {
		t.Fatalf("c/n = %q after a failed swap, want third", v)
	}
}

func deleteRange(t *testing.T, b kv.Backend) {
	defer b.Close()
	var ops []kv.Op
	for i := range 10 {
		ops = append(ops, kv.Put(k(fmt.Sprintf("d/p%d", i)), k("v")))
	}
	ops = append(ops, kv.Put(k("d/q"), k("keep")), kv.Put(k("e/p1"), k("other bucket")))
	txn(t, b, nil, ops...)
	f := Collect(t, b)
	rev := txn(t, b, nil, kv.DeletePrefix(k("d/p")))
	evs := f.Until(t, rev)
	last := evs[len(evs)-1]
	if last.Rev != rev || len(last.Changes) != 10 {
		t.Fatalf("range delete event: rev %d (want %d), %d changes (want 10)", last.Rev, rev, len(last.Changes))
	}
	for _, c := range last.Changes {
		if !c.Deleted || !bytes.HasPrefix(c.Key, k("d/p")) {
			t.Fatalf("range delete change %+v", c)
		}
	}
	var keys []string
	err := b.View(func(r kv.Reader) error {
		return r.Range(k("d/"), kv.PrefixEnd(k("d/")), func(key, _ []byte, _ int64) error {
			keys = append(keys, string(key))
			return nil
		})
	})
	if err != nil || len(keys) != 1 || keys[0] != "d/q" {
		t.Fatalf("after range delete: %v %v", keys, err)
	}
	if v, _, _ := Get(t, b, "e/p1"); v != "other bucket" {
		t.Fatal("range delete crossed into another bucket")
	}
}

func feed(t *testing.T, b kv.Backend) {
	defer b.Close()
	f := Collect(t, b)
	var last int64
	for i := range 20 {
		last = txn(t, b, nil, kv.Put(k("f/k"), k(fmt.Sprint(i))), kv.Put(k(fmt.Sprintf("f/n%02d", i)), nil))
	}
	evs := f.Until(t, last)
	var prev int64
	for i, ev := range evs {
		if ev.Rev <= prev {
			t.Fatalf("event %d: revision %d after %d", i, ev.Rev, prev)
		}
		prev = ev.Rev
		if len(ev.Changes) != 2 || string(ev.Changes[0].Value) != fmt.Sprint(i) || ev.Changes[0].ModRev != ev.Rev {
			t.Fatalf("event %d: %+v", i, ev)
		}
	}
	if len(evs) != 20 {
		t.Fatalf("%d events, want 20", len(evs))
	}
	// A snapshot taken now agrees with the feed.
	waitRev(t, b, last)
	err := b.View(func(r kv.Reader) error {
		if r.Rev() != last {
			return fmt.Errorf("snapshot at %d, last event %d", r.Rev(), last)
		}
		n := 0
		err := r.Range(k("f/n"), kv.PrefixEnd(k("f/n")), func(key, v []byte, mod int64) error {
			if want := fmt.Sprintf("f/n%02d", n); string(key) != want || len(v) != 0 || mod != evs[n].Rev {
				return fmt.Errorf("row %d: %q at %d, want %q at %d", n, key, mod, want, evs[n].Rev)
			}
			n++
			return nil
		})
		if err == nil && n != 20 {
			err = fmt.Errorf("%d rows, want 20", n)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func limits(t *testing.T, b kv.Backend) {
	defer b.Close()
	l := b.Limits()
	if l.MaxOps <= 0 || l.MaxBytes <= 0 {
		t.Fatalf("limits %+v", l)
	}
	ops := make([]kv.Op, l.MaxOps+1)
	for i := range ops {
		ops[i] = kv.Put(k(fmt.Sprintf("l/%d", i)), nil)
	}
	if _, err := b.Txn(context.Background(), nil, ops); !errors.Is(err, kv.ErrTooLarge) {
		t.Fatalf("txn of %d ops: %v, want ErrTooLarge", len(ops), err)
	}
	if _, err := b.Txn(context.Background(), nil, []kv.Op{kv.Put(k("nobucket"), nil)}); err == nil {
		t.Fatal("key without a bucket accepted")
	}
}
