package etcdkv_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"callgate/store"
	"callgate/store/etcdkv/etcdtest"
	"callgate/store/storetest"
)

// A bulk subscriber import on node A, in etcd-sized batches: node B sees
// none of it before the commit and all of it after.
func TestSubscriberImportAcrossNodes(t *testing.T) {
	c := etcdtest.Start(t, 3)
	a, b := twoNodes(t, c)
	r, err := store.ParseRange("+13125550000..+13125550999")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.st.AllocateNumbers(store.Operator, storetest.Provider, r); err != nil {
		t.Fatal(err)
	}
	const n = 500
	var in bytes.Buffer
	for i := range n {
		fmt.Fprintf(&in, "imp%03d,%s,+1312555%04d\n", i, storetest.Provider, i)
	}
	before := a.st.Counts().Subscribers
	if !until(10*time.Second, func() bool { return b.st.Revision() >= a.st.Revision() }) {
		t.Fatal("node B does not catch up")
	}
	rep, err := a.st.ImportSubscribers(&in, store.SubscriberImportOptions{Actor: store.Operator,
		Progress: func(p store.ImportProgress) {
			if p.Phase == store.PhaseCommit {
				// Every batch is staged: once B has applied them all, it
				// must still hold none of them.
				resp, err := c.Client().Get(context.Background(), "any")
				if err != nil {
					t.Error(err)
					return
				}
				if !until(10*time.Second, func() bool { return b.st.Revision() >= resp.Header.Revision }) {
					t.Error("node B does not catch up with the staged batches")
				}
				if got := b.st.Counts().Subscribers; got != before {
					t.Errorf("node B holds %d subscribers before the commit, want %d", got, before)
				}
			}
		}})
	if err != nil || rep.Written != n {
		t.Fatalf("import: %+v %v", rep, err)
	}
	if !until(10*time.Second, func() bool { return b.st.Counts().Subscribers == before+n }) {
		t.Fatalf("node B holds %d subscribers after the commit, want %d", b.st.Counts().Subscribers, before+n)
	}
	if v, ok := b.st.Subscriber(num("+13125550499")); !ok || v.Name != "imp499" {
		t.Fatalf("node B: %+v %v", v, ok)
	}
}
