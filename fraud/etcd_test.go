package fraud

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"callgate/e164"
	"callgate/policy"
	"callgate/store"
	"callgate/store/etcdkv"
	"callgate/store/etcdkv/etcdtest"
	"callgate/store/kv"
)

// etcdNode is one callgate node of a cluster: a store over etcd with its
// own replica, and a monitor over it.
type etcdNode struct {
	st *store.Store
	m  *Monitor
}

func openEtcdStore(t *testing.T, c *etcdtest.Cluster, prefix, replica string, limits kv.Limits) *store.Store {
	t.Helper()
	b, err := etcdkv.Open(etcdkv.Config{Endpoints: c.Endpoints(), Prefix: prefix, ReplicaPath: replica, NoSync: true, Limits: limits,
		ProbeInterval: 200 * time.Millisecond, StaleAfter: time.Second, RequestTimeout: 5 * time.Second, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.New(b, store.Options{GCInterval: -1, ApplyTimeout: 10 * time.Second})
	if err != nil {
		b.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close(); b.Close() })
	return st
}

// eventually polls cond (after fn, if any) until it holds or 20 s pass:
// what one node wrote reaches the other through etcd's watch. Not a
// timing assertion: the bound only keeps a broken build from hanging.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 20 s", what)
		}
	}
}

// Two nodes over one etcd (the store's cluster mode): a lockdown on one
// refuses the group's calls on the other, the group's spend on both adds
// up to a lockdown neither would reach alone, and a checkpoint larger than
// an etcd transaction is stored (node a's etcd limit is set low: the old
// code wrote every checkpoint in one transaction, which etcd refused).
func TestEtcdClusterSharesLocksAndSpend(t *testing.T) {
	c := etcdtest.Start(t, 1)
	dir := t.TempDir()
	stB := openEtcdStore(t, c, "fraud/", filepath.Join(dir, "b.db"), kv.Limits{})
	populate(t, stB)
	const extra = 20 // lines of their own groups, for a checkpoint of many keys
	first := e164.MustParse("+13125550150")
	for i := range extra {
		if _, err := stB.CreateSubscriber(store.Operator, store.SubscriberSpec{Name: fmt.Sprintf("s%02d", i), Provider: "acme",
			Numbers: []string{(first + e164.Number(i)).String()}}); err != nil {
			t.Fatal(err)
		}
	}
	stA := openEtcdStore(t, c, "fraud/", filepath.Join(dir, "a.db"), kv.Limits{MaxOps: 16, MaxBytes: kv.EtcdDefaults.MaxBytes})
	eventually(t, "node a sees the tenants", func() bool { _, ok := stA.Subscriber(first + extra - 1); return ok })

	clock, a, b := twoNodes(t, stA, stB)
	dave, _ := a.GroupOf(lineDave)
	erin, _ := a.GroupOf(lineErin)

	// A lockdown on a refuses on b.
	spendOn(t, a, clock, lineDave, toPremium, 4*time.Minute) // 12.00
	settleClock(clock)
	recompute(t, a)
	if !a.IsLocked(dave) {
		t.Fatal("node a did not lock dave")
	}
	eventually(t, "node b applies node a's lockdown", func() bool { return b.Sync() == nil && b.IsLocked(dave) })
	engB := Wrap(policy.New(stB, policy.WithClassifier(b)), b)
	if d := engB.Decide(context.Background(), orig(lineDave, toLondon)); d.Action != policy.ActionBlock {
		t.Fatalf("node b let the locked group's call to London through: %v", d.Action)
	}
	if d := engB.Decide(context.Background(), orig(lineDave, toDomestic)); d.Action != policy.ActionAllow {
		t.Fatalf("node b refused the locked group's domestic call: %v", d.Action)
	}
	// An unlock on b lifts it on a.
	if _, err := b.Unlock(dave, store.Operator.By("alice", "test"), "PBX password changed; calls confirmed by the customer"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "node a applies node b's unlock", func() bool { return a.Sync() == nil && !a.IsLocked(dave) })

	// 6.00 on a and 5.00 on b: 11.00, erin's lockdown threshold.
	spendOn(t, a, clock, lineErin, toLondon, 6*time.Minute)
	spendOn(t, b, clock, lineErin, toLondon, 5*time.Minute)
	settleClock(clock)
	recompute(t, a) // stores a's share (node a alone sees 6.00, or 11.00 once b's share has arrived)
	eventually(t, "the group's spend on both nodes locks it", func() bool {
		recompute(t, b)
		return b.IsLocked(erin)
	})
	if st := b.GroupStatus(erin); st.Spend != 11*Unit {
		t.Fatalf("node b: erin's spend %s, want 11.00 (6.00 on a, 5.00 on b)", st.Spend)
	}
	eventually(t, "node a applies the lockdown", func() bool { return a.Sync() == nil && a.IsLocked(erin) })

	// A checkpoint of more keys than node a's etcd takes at once.
	now := clock.Now()
	for i := range extra {
		if err := a.Record(CDR{Calling: first + e164.Number(i), Called: toDomestic, Start: now.Add(-time.Minute), Seconds: 60}); err != nil {
			t.Fatal(err)
		}
	}
	settleClock(clock)
	if err := a.Recompute(); err != nil {
		t.Fatalf("a checkpoint of %d groups on etcd limited to 16 operations a transaction: %v", extra, err)
	}
	eventually(t, "node b sees every group's share", func() bool {
		n := 0
		_ = StoreState(stB).Scan("live/", func(k string, _ []byte) error {
			if strings.HasSuffix(k, "/a") {
				n++
			}
			return nil
		})
		return n >= extra
	})
}

// Two nodes over one etcd, the CDRs given to whichever node the load
// balancer picks. A call decided on node a whose CDR goes to node b: after
// a's next sync, both nodes count it once and neither locks the group
// (the old code valued it on a as in progress until max_call_duration on
// top of b's rating: 13.00 here, a lockdown). The same CDR sent again, to
// either node, or to both before either has read the other's journal:
// once. A CDR whose journal entry reaches a before the call is in a's
// table: closes it at the next sync.
func TestEtcdClusterCDRsCountOnce(t *testing.T) {
	c := etcdtest.Start(t, 1)
	dir := t.TempDir()
	stB := openEtcdStore(t, c, "fraud/", filepath.Join(dir, "b.db"), kv.Limits{})
	populate(t, stB)
	stA := openEtcdStore(t, c, "fraud/", filepath.Join(dir, "a.db"), kv.Limits{})
	eventually(t, "node a sees the tenants", func() bool { _, ok := stA.Subscriber(lineErin); return ok })
	clock, a, b := twoNodes(t, stA, stB)
	dave, _ := a.GroupOf(lineDave)
	engA := Wrap(policy.New(stA, policy.WithClassifier(a)), a)
	decide := func(line, dest e164.Number) {
		t.Helper()
		if d := engA.Decide(context.Background(), orig(line, dest)); d.Action != policy.ActionAllow {
			t.Fatalf("node a refused the call: %v", d.Action)
		}
	}
	// spendIs: both nodes see the group's spend as want. Both sync (each
	// reads the other's journal) and a recomputes until b's journal and
	// share have reached it through etcd; then b syncs until its replica
	// holds a's share as a stored it, and recomputes once.
	stateA, stateB := StoreState(stA), StoreState(stB)
	shareOfA := liveKey(dave, "a")
	spendIs := func(what string, want Money) {
		t.Helper()
		eventually(t, what+": node a's spend", func() bool {
			if err := errors.Join(a.Sync(), b.Sync()); err != nil {
				t.Fatal(err)
			}
			recompute(t, a)
			return a.GroupStatus(dave).Spend == want
		})
		eventually(t, what+": node a's share reaches node b", func() bool {
			if err := b.Sync(); err != nil {
				t.Fatal(err)
			}
			va, _, _ := stateA.Get(shareOfA)
			vb, _, _ := stateB.Get(shareOfA)
			return string(va) == string(vb)
		})
		recompute(t, b)
		for _, m := range []*Monitor{a, b} {
			if st := m.GroupStatus(dave); st.Spend != want || m.IsLocked(dave) {
				t.Fatalf("%s: node %s: spend %s (in progress %s), locked %v; want %s, not locked", what, m.cfg.Node, st.Spend, st.InProgress, m.IsLocked(dave), want)
			}
		}
	}

	// A call decided on a, its CDR on b: 6.00 once, not 13.00.
	start := clock.Now()
	decide(lineDave, toLondon)
	clock.Advance(6 * time.Minute)
	recompute(t, a) // a's share: 6.00 in progress
	cdr := CDR{Calling: lineDave, Called: toLondon, Start: start, Seconds: 360}
	if err := b.RecordBatch([]CDR{cdr}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	spendIs("the CDR on the other node", 6*Unit)

	// The same CDR again, on either node: nothing changes.
	for _, m := range []*Monitor{a, b} {
		if err := m.RecordBatch([]CDR{cdr}); err != nil {
			t.Fatal(err)
		}
	}
	spendIs("the CDR sent again", 6*Unit)

	// A new CDR sent to both before either reads the other's journal (no
	// node holds its call: it counts once settled, a minute later).
	cdr2 := CDR{Calling: lineDave, Called: toLondon, Start: clock.Now().Add(-2 * time.Minute), Seconds: 120}
	for _, m := range []*Monitor{a, b} {
		if err := m.RecordBatch([]CDR{cdr2}); err != nil {
			t.Fatal(err)
		}
	}
	settleClock(clock)
	spendIs("one CDR on both nodes at once", 8*Unit)

	// The CDR's entry reaches a before the call is in a's table: the
	// entry is retried at the next sync and closes the call.
	start = clock.Now()
	cdr3 := CDR{Calling: lineDave, Called: toLondon, Start: start, Seconds: 120} // a switch clock ahead
	if err := b.RecordBatch([]CDR{cdr3}); err != nil {
		t.Fatal(err)
	}
	// chunksOf is node's CDR journal as st's replica holds it.
	chunksOf := func(st *store.Store, node string) string {
		var b strings.Builder
		_ = StoreState(st).Scan("cdr/", func(k string, v []byte) error {
			if strings.HasSuffix(k, "/"+node) {
				b.WriteString(k + "=" + string(v) + ";")
			}
			return nil
		})
		return b.String()
	}
	// b's journal as b stored it, entry and all, not a count of chunks
	// (a count could be met by the chunks of earlier CDRs while the
	// entry was still on its way: the call then stayed open on a, valued
	// at 3.00 after the clock's jump, 11.00 and a lockdown).
	eventually(t, "node a's replica holds node b's journal entry", func() bool {
		return chunksOf(stA, "b") == chunksOf(stB, "b")
	})
	if err := a.Sync(); err != nil { // reads it: no call to close yet
		t.Fatal(err)
	}
	decide(lineDave, toLondon)
	// a's next sync, a sync interval later, closes the call for the entry
	// and publishes the closure and its share without the call; the clock
	// moves past closeGrace only once b's replica holds them, as it would
	// with b syncing meanwhile. (One jump of 3 minutes let b count the CDR
	// beside a's share as etcd's watch had not yet brought it, still
	// valuing the call at 3 minutes, whenever the watch was slower than the
	// test: 13.00, a lockdown.)
	clock.Advance(time.Second)
	if err := a.Sync(); err != nil { // retries it: closes the call
		t.Fatal(err)
	}
	eventually(t, "node b's replica holds node a's journal and share as a's does", func() bool {
		va, _, _ := stateA.Get(shareOfA)
		vb, _, _ := stateB.Get(shareOfA)
		return chunksOf(stB, "a") == chunksOf(stA, "a") && string(va) == string(vb)
	})
	clock.Advance(3*time.Minute - time.Second)
	spendIs("the CDR before the call", 10*Unit) // an alert; counted twice (13.00), a lockdown
}

// twoNodes starts monitors a and b over the two nodes' stores, on one
// manual clock, with node a's rate table in force on both.
func twoNodes(t *testing.T, stA, stB *store.Store) (*ManualClock, *Monitor, *Monitor) {
	t.Helper()
	clock := NewManualClock(t0)
	node := func(name string, st *store.Store) *Monitor {
		cfg := DefaultConfig()
		cfg.Zones, cfg.Node = map[string]*time.Location{"provider:acme": chicago}, name
		m, err := New(cfg, st, StoreState(st), WithClock(clock))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	a, b := node("a", stA), node("b", stB)
	if _, err := a.ImportRates(strings.NewReader(testRates), "test.csv", store.Operator.By("tester", "test"), false); err != nil {
		t.Fatal(err)
	}
	eventually(t, "node b puts node a's rate table in force", func() bool { return b.Sync() == nil && b.Rates().version() == 1 })
	return clock, a, b
}
