package etcdkv_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"callgate/store"
	"callgate/store/etcdkv"
	"callgate/store/etcdkv/etcdtest"
	"callgate/store/storetest"

	"golang.org/x/crypto/bcrypt"
)

// The number keys a writer that died midway leaves (numberkeys.go) are
// harmless, so nothing sweeps them: no subscriber, count or view shows
// them, and every way of giving a number takes over its key as found,
// the bulk loader too (before, it compared the key absent, so a batch
// holding such a number failed whole with a conflict, on every retry).
func TestLeftoverNumberKeysAreHarmless(t *testing.T) {
	c := etcdtest.Start(t, 1)
	p := fmt.Sprintf("leftover%d/", prefixes.Add(1))
	a := startNode(t, c, p, filepath.Join(t.TempDir(), "a.db"))
	allocateBlock(t, a.st)
	keyOf := func(n string) []byte {
		t.Helper()
		k := binary.BigEndian.AppendUint64([]byte(p+"numbers/"), uint64(num(n)))
		resp, err := c.Client().Get(context.Background(), string(k))
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Kvs) == 0 {
			return nil
		}
		return resp.Kvs[0].Value
	}
	before := a.st.Counts()

	// A node dies after three transactions of a creation of 1,000 numbers.
	b, err := etcdkv.Open(nodeConfig(c, p, filepath.Join(t.TempDir(), "dying.db")))
	if err != nil {
		t.Fatal(err)
	}
	d := &dyingKV{Backend: b}
	d.left.Store(3)
	s, err := store.New(d, store.Options{PINCost: bcrypt.MinCost, GCInterval: -1, ApplyTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var nums []string
	for i := range 1000 {
		nums = append(nums, fmt.Sprintf("+1312555%04d", 3000+i))
	}
	if _, err := s.CreateSubscriber(store.Operator, store.SubscriberSpec{Name: "crash", Provider: storetest.Provider, Numbers: nums}); !errors.Is(err, errDied) {
		t.Fatalf("create on a dying node: %v", err)
	}
	s.Close()
	b.Close()
	left := "+13125553000"
	if keyOf(left) == nil {
		t.Fatal("the dying node left no number key: not midway")
	}

	// Nothing shows or counts them.
	if got := a.st.Counts(); got != before {
		t.Fatalf("counts after a dead writer: %+v, want %+v", got, before)
	}
	if _, ok := a.st.Subscriber(num(left)); ok {
		t.Fatal("a left-over number key finds a subscriber")
	}
	if _, err := a.st.GetSubscriber(store.Operator, left); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetSubscriber(%s) = %v, want ErrNotFound", left, err)
	}

	// A bulk load takes over the key.
	var id uint32
	err = a.st.BulkLoad(func(l *store.BulkLoader) error {
		sub, err := l.CreateSubscriber(store.SubscriberSpec{Name: "bulk", Provider: storetest.Provider, Numbers: []string{left, "+13125556000"}})
		id = sub.ID
		return err
	})
	if err != nil {
		t.Fatalf("bulk load of a number a dead writer left a key for: %v", err)
	}
	if v, ok := a.st.Subscriber(num(left)); !ok || v.ID != id {
		t.Fatalf("%s after the bulk load: %+v %v", left, v, ok)
	}
	if got := keyOf(left); len(got) != 4 || binary.BigEndian.Uint32(got) != id {
		t.Fatalf("the key of %s = %x, want subscriber %d's", left, got, id)
	}
}
