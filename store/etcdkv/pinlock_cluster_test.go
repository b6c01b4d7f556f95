package etcdkv_test

import (
	"sync"
	"testing"
	"time"

	"callgate/store"
	"callgate/store/etcdkv/etcdtest"
	"callgate/store/storetest"
)

// The PIN lockout is shared by the nodes: wrong PINs keyed on two nodes at
// once all count, a lock imposed through one node refuses on the other,
// and an operator's clear on one lifts it on both.
func TestPINLockoutSharedByNodes(t *testing.T) {
	c := etcdtest.Start(t, 3)
	a, b := twoNodes(t, c)
	alice, ok := a.st.Subscriber(num(storetest.AliceNumber))
	if !ok {
		t.Fatal("no alice")
	}
	fail := func(n *node, max int) store.PINLockout {
		l, _, err := n.st.PINFailed(alice.ID, store.PINFailure{Prompt: store.PINPromptIVR, Calling: num(storetest.UnknownCaller),
			Actor: store.Operator.By("ivr "+storetest.UnknownCaller, "ivr"), Policy: store.PINLockPolicy{MaxFailures: max, Window: time.Hour, Period: time.Hour}})
		if err != nil {
			t.Error(err)
		}
		return l
	}
	// Concurrent wrong PINs on both nodes: every one is counted (each
	// write compares the record's revision and plans again on a conflict).
	const each = 6
	var wg sync.WaitGroup
	for _, n := range []*node{a, b} {
		for range each {
			wg.Add(1)
			go func() { defer wg.Done(); fail(n, 100) }()
		}
	}
	wg.Wait()
	for _, n := range []*node{a, b} {
		if !until(10*time.Second, func() bool { l, _ := n.st.PINLockState(alice.ID); return l.Failures == 2*each }) {
			l, err := n.st.PINLockState(alice.ID)
			t.Fatalf("a node counts %+v, %v; want %d wrong PINs", l, err, 2*each)
		}
	}
	// The next wrong PIN, on B, locks at 13; A has it as soon as its
	// replica does (the change feed: milliseconds).
	if l := fail(b, 2*each+1); !l.Locked {
		t.Fatalf("not locked on B: %+v", l)
	}
	if !until(10*time.Second, func() bool { l, _ := a.st.PINLockState(alice.ID); return l.Locked && l.Lockouts == 1 }) {
		l, err := a.st.PINLockState(alice.ID)
		t.Fatalf("node A after B locked: %+v, %v", l, err)
	}
	recs, err := a.st.SearchAudit(store.Operator, store.AuditQuery{Object: "subscriber/alice/pin", Limit: 1})
	if err != nil || len(recs) != 1 || recs[0].Op != "subscriber.pin.lockout" || recs[0].Principal != "ivr "+storetest.UnknownCaller {
		t.Fatalf("newest audit record on A: %+v, %v; want the lockout", recs, err)
	}
	// Cleared on A, unlocked on B.
	if _, err := a.st.ClearPINLockout(store.ProviderActor(storetest.Provider), storetest.Alice); err != nil {
		t.Fatal(err)
	}
	if !until(10*time.Second, func() bool { l, _ := b.st.PINLockState(alice.ID); return !l.Locked && l.Revision == 0 }) {
		t.Fatal("node B still locked after A cleared it")
	}
}
