package etcdkv_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"callgate/store"
	"callgate/store/etcdkv/etcdtest"
	"callgate/store/storetest"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// A PBX with a DID block of 1,000 numbers (imported: the import has no
// per-subscriber limit) can have most of its numbers taken away and be
// deleted through etcd, whose transactions carry 128 operations (before,
// both failed with ErrTooLarge: one key per number in one transaction);
// its numbers are then free again, in the index and in etcd.
func TestSubscriberWithManyNumbers(t *testing.T) {
	c := etcdtest.Start(t, 1)
	p := fmt.Sprintf("big%d/", prefixes.Add(1))
	a := startNode(t, c, p, filepath.Join(t.TempDir(), "a.db"))
	allocateBlock(t, a.st)
	var nums []string
	for i := range 1000 {
		nums = append(nums, fmt.Sprintf("+1312555%04d", 1000+i))
	}
	csv := fmt.Sprintf("pbx,%s,%s\n", storetest.Provider, strings.Join(nums, " "))
	if rep, err := a.st.ImportSubscribers(strings.NewReader(csv), store.SubscriberImportOptions{Actor: store.Operator}); err != nil || rep.Written != 1 {
		t.Fatalf("import: %+v %v", rep, err)
	}
	numberKeys := func() int64 {
		t.Helper()
		resp, err := c.Client().Get(context.Background(), p+"numbers/", clientv3.WithPrefix(), clientv3.WithCountOnly())
		if err != nil {
			t.Fatal(err)
		}
		return resp.Count
	}
	before := numberKeys()
	sub, err := a.st.UnassignNumbers(store.Operator, "pbx", nums[:700]...)
	if err != nil {
		t.Fatalf("unassign 700 of 1,000 numbers: %v", err)
	}
	if len(sub.Numbers) != 300 || numberKeys() != before-700 {
		t.Fatalf("after unassigning 700: %d numbers, %d keys in etcd (had %d)", len(sub.Numbers), numberKeys(), before)
	}
	if _, ok := a.st.Subscriber(num(nums[0])); ok {
		t.Fatal("an unassigned number still finds the subscriber")
	}
	if err := a.st.DeleteSubscriber(store.Operator, "pbx"); err != nil {
		t.Fatalf("delete a subscriber of 300 numbers: %v", err)
	}
	if got := numberKeys(); got != before-1000 {
		t.Fatalf("%d number keys in etcd after the delete, want %d", got, before-1000)
	}
	if _, ok := a.st.Subscriber(num(nums[999])); ok {
		t.Fatal("a deleted subscriber's number still finds it")
	}
	// Its numbers are free again.
	if _, err := a.st.CreateSubscriber(store.Operator, store.SubscriberSpec{Name: "again", Provider: storetest.Provider, Numbers: nums[990:]}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := a.st.Export(&out, store.ExportOptions{}); err != nil || strings.Contains(out.String(), "pbx") {
		t.Fatalf("export after the delete still has the subscriber (%v)", err)
	}
}

// allocateBlock populates st with the test tenants and gives their
// provider the 10,000 numbers +1 312 555 0000-9999 for DID blocks.
func allocateBlock(t *testing.T, st *store.Store) {
	t.Helper()
	if err := storetest.Populate(st); err != nil {
		t.Fatal(err)
	}
	r, err := store.ParseRange("+13125550000..+13125559999")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.AllocateNumbers(store.Operator, storetest.Provider, r); err != nil {
		t.Fatal(err)
	}
}
