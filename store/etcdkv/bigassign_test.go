package etcdkv_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"callgate/store"
	"callgate/store/etcdkv"
	"callgate/store/etcdkv/etcdtest"
	"callgate/store/kv"
	"callgate/store/storetest"

	clientv3 "go.etcd.io/etcd/client/v3"
	"golang.org/x/crypto/bcrypt"
)

// dyingKV is a backend whose process dies after some transactions: every
// later one fails, so nothing can clean up after the change it was in.
type dyingKV struct {
	kv.Backend
	left atomic.Int64
}

var errDied = errors.New("the process died")

func (d *dyingKV) Txn(ctx context.Context, cmps []kv.Cmp, ops []kv.Op) (int64, error) {
	if d.left.Add(-1) < 0 {
		return 0, errDied
	}
	return d.Backend.Txn(ctx, cmps, ops)
}

// A PBX with a DID block of 1,000 numbers is created through etcd, whose
// transactions carry 128 operations, and given 500 more (before, both
// failed with ErrTooLarge: a comparison and a put per number in one
// transaction); numbers of another subscriber refuse a creation or an
// assignment whole; a process that dies midway leaves nothing anybody
// sees, and the change tried again, or another one, takes over what it
// left.
func TestCreateAndAssignManyNumbers(t *testing.T) {
	c := etcdtest.Start(t, 1)
	p := fmt.Sprintf("bigadd%d/", prefixes.Add(1))
	a := startNode(t, c, p, filepath.Join(t.TempDir(), "a.db"))
	allocateBlock(t, a.st)
	block := func(from, n int) []string {
		var nums []string
		for i := range n {
			nums = append(nums, fmt.Sprintf("+1312555%04d", from+i))
		}
		return nums
	}
	numberKeys := func() int64 {
		t.Helper()
		resp, err := c.Client().Get(context.Background(), p+"numbers/", clientv3.WithPrefix(), clientv3.WithCountOnly())
		if err != nil {
			t.Fatal(err)
		}
		return resp.Count
	}
	base := numberKeys()
	sub, err := a.st.CreateSubscriber(store.Operator, store.SubscriberSpec{Name: "pbx", Provider: storetest.Provider, Numbers: block(1000, 1000)})
	if err != nil {
		t.Fatalf("create a subscriber of 1,000 numbers: %v", err)
	}
	if len(sub.Numbers) != 1000 || numberKeys() != base+1000 {
		t.Fatalf("created with %d numbers, %d keys in etcd (want 1000, %d)", len(sub.Numbers), numberKeys(), base+1000)
	}
	if v, ok := a.st.Subscriber(num("+13125551999")); !ok || v.ID != sub.ID {
		t.Fatal("the last number of the block does not find the subscriber")
	}
	if sub, err = a.st.AssignNumbers(store.Operator, "pbx", block(2000, 500)...); err != nil {
		t.Fatalf("assign 500 more numbers: %v", err)
	}
	if len(sub.Numbers) != 1500 || numberKeys() != base+1500 {
		t.Fatalf("after assigning 500: %d numbers, %d keys in etcd", len(sub.Numbers), numberKeys())
	}
	if _, ok := a.st.Subscriber(num("+13125552499")); !ok {
		t.Fatal("an assigned number does not find the subscriber")
	}

	// Another subscriber's number refuses the whole change.
	clash := append(block(5000, 600), "+13125552499")
	if _, err := a.st.CreateSubscriber(store.Operator, store.SubscriberSpec{Name: "other", Provider: storetest.Provider, Numbers: clash}); !errors.Is(err, store.ErrExists) {
		t.Fatalf("create with pbx's number: %v, want ErrExists", err)
	}
	if _, err := a.st.CreateSubscriber(store.Operator, store.SubscriberSpec{Name: "small", Provider: storetest.Provider, Numbers: block(6000, 1)}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.st.AssignNumbers(store.Operator, "small", clash...); !errors.Is(err, store.ErrExists) {
		t.Fatalf("assign pbx's number: %v, want ErrExists", err)
	}
	if small, _ := a.st.GetSubscriber(store.Operator, "small"); len(small.Numbers) != 1 || numberKeys() != base+1501 {
		t.Fatalf("after refused changes: small has %d numbers, %d keys in etcd (want 1, %d)", len(small.Numbers), numberKeys(), base+1501)
	}
	if _, ok := a.st.Subscriber(num("+13125555000")); ok {
		t.Fatal("a number of a refused change finds a subscriber")
	}

	// A node that dies after three transactions of a creation, then of an
	// assignment: neither is seen, by it or by node a.
	for _, step := range []struct {
		name string
		do   func(*store.Store) error
	}{
		{"create", func(s *store.Store) error {
			_, err := s.CreateSubscriber(store.Operator, store.SubscriberSpec{Name: "crash", Provider: storetest.Provider, Numbers: block(3000, 1000)})
			return err
		}},
		{"assign", func(s *store.Store) error {
			_, err := s.AssignNumbers(store.Operator, "pbx", block(4000, 1000)...)
			return err
		}},
	} {
		b, err := etcdkv.Open(nodeConfig(c, p, filepath.Join(t.TempDir(), step.name+".db")))
		if err != nil {
			t.Fatal(err)
		}
		d := &dyingKV{Backend: b}
		d.left.Store(3)
		s, err := store.New(d, store.Options{PINCost: bcrypt.MinCost, GCInterval: -1, ApplyTimeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if err := step.do(s); !errors.Is(err, errDied) {
			t.Fatalf("%s on a dying node: %v", step.name, err)
		}
		s.Close()
		b.Close()
		if numberKeys() == base+1501 {
			t.Fatalf("%s: the dying node wrote no number key: not midway", step.name)
		}
	}
	waitFor(t, a.st, func() bool { return numberKeys() > base+1501 })
	if _, err := a.st.GetSubscriber(store.Operator, "crash"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a creation that died midway: %v, want ErrNotFound", err)
	}
	if pbx, _ := a.st.GetSubscriber(store.Operator, "pbx"); len(pbx.Numbers) != 1500 {
		t.Fatalf("an assignment that died midway: pbx has %d numbers, want 1500", len(pbx.Numbers))
	}
	for _, n := range []string{"+13125553000", "+13125554000"} {
		if _, ok := a.st.Subscriber(num(n)); ok {
			t.Fatalf("%s of a change that died midway finds a subscriber", n)
		}
	}
	// Another change takes a number the dead one left a key for; the dead
	// ones tried again take the rest.
	if _, err := a.st.AssignNumbers(store.Operator, "small", "+13125553000", "+13125554000"); err != nil {
		t.Fatalf("assign numbers a dead change left keys for: %v", err)
	}
	if _, err := a.st.CreateSubscriber(store.Operator, store.SubscriberSpec{Name: "crash", Provider: storetest.Provider, Numbers: block(3001, 999)}); err != nil {
		t.Fatalf("create again: %v", err)
	}
	if sub, err = a.st.AssignNumbers(store.Operator, "pbx", block(4001, 999)...); err != nil || len(sub.Numbers) != 2499 {
		t.Fatalf("assign again: %d numbers, %v", len(sub.Numbers), err)
	}
	if got, want := numberKeys(), base+1501+2+999+999; got != want {
		t.Fatalf("%d number keys in etcd, want %d (one per assigned number)", got, want)
	}
	// A new node reads the same from etcd.
	e := startNode(t, c, p, filepath.Join(t.TempDir(), "e.db"))
	for name, want := range map[string]int{"crash": 999, "pbx": 2499, "small": 3} {
		if got, err := e.st.GetSubscriber(store.Operator, name); err != nil || len(got.Numbers) != want {
			t.Fatalf("a new node: %s has %d numbers (%v), want %d", name, len(got.Numbers), err, want)
		}
	}
}

func waitFor(t *testing.T, s *store.Store, ok func() bool) {
	t.Helper()
	for range 100 {
		if ok() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("timed out")
}
