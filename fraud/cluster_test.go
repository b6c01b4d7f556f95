package fraud

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"callgate/e164"
	"callgate/policy"
	"callgate/store"
)

// A cluster in a test: two monitors, nodes "a" and "b", over one
// directory and one State (what the store on etcd gives every node, here
// with no replication delay: the etcd test has that).
type cluster struct {
	*fixture
	a, b         *Monitor
	noteA, noteB *recorder
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	f := newFixture(t)
	f.state = NewMemState() // the cluster's, apart from the fixture's monitor
	c := &cluster{fixture: f, noteA: &recorder{}, noteB: &recorder{}}
	c.a = c.node(t, "a", c.noteA)
	c.b = c.node(t, "b", c.noteB)
	if _, err := c.a.ImportRates(strings.NewReader(testRates), "test.csv", store.Operator.By("tester", "test"), false); err != nil {
		t.Fatal(err)
	}
	if err := c.b.Sync(); err != nil || c.b.Rates().Version != 1 {
		t.Fatalf("node b: rates %v, %v", c.b.Rates(), err)
	}
	c.noteA.evs = nil
	return c
}

func (c *cluster) node(t *testing.T, name string, note *recorder) *Monitor {
	t.Helper()
	cfg := c.cfg
	cfg.Node = name
	m, err := New(cfg, c.st, c.state, WithClock(c.clock), WithNotifier(note))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func recompute(t *testing.T, m *Monitor) {
	t.Helper()
	if err := m.Recompute(); err != nil {
		t.Fatal(err)
	}
}

// A lockdown on one node refuses the group's international and premium
// calls on the other after its next sync; an unlock on the other lifts it
// on the first.
func TestClusterLockdownOnEveryNode(t *testing.T) {
	c := newCluster(t)
	spendOn(t, c.a, c.clock, lineDave, toPremium, 4*time.Minute) // 12.00
	settleClock(c.clock)
	recompute(t, c.a)
	if !c.a.IsLocked(c.dave) {
		t.Fatal("not locked on the node that saw the spend")
	}
	engB := Wrap(policy.New(c.st, policy.WithClassifier(c.b)), c.b)
	if d := engB.Decide(context.Background(), orig(lineDave, toLondon)); d.Action != policy.ActionAllow {
		t.Fatalf("before the sync node b answered %v", d.Action) // the fixture of the old code: b never learns
	}
	if err := c.b.Sync(); err != nil {
		t.Fatal(err)
	}
	if d := engB.Decide(context.Background(), orig(lineDave, toLondon)); d.Action != policy.ActionBlock {
		t.Fatalf("after the sync node b answered %v to the locked group's international call", d.Action)
	}
	if d := engB.Decide(context.Background(), orig(lineDave, toDomestic)); d.Action != policy.ActionAllow {
		t.Fatalf("node b refused the locked group's domestic call: %v", d.Action)
	}
	if st := c.b.GroupStatus(c.dave); !st.Locked || st.Lock.Node != "a" {
		t.Fatalf("node b's status: %+v", st)
	}
	ev, err := c.b.Unlock(c.dave, store.Operator.By("alice", "test"), "PBX password changed; calls confirmed by the customer")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ev.Detail, "audit #") || !strings.Contains(ev.Detail, "@a)") {
		t.Errorf("unlock detail %q does not name the lockdown's record", ev.Detail)
	}
	if err := c.a.Sync(); err != nil {
		t.Fatal(err)
	}
	if c.a.IsLocked(c.dave) {
		t.Fatal("the unlock on node b did not reach node a")
	}
	// A sync that finds nothing new changes nothing, and a lock of this
	// node's own that is not stored yet is not undone by one.
	c.state.(*MemState).Fail = errBroken
	now := c.clock.Now()
	if err := c.a.Record(CDR{Calling: lineErin, Called: toPremium, Start: now.Add(-4 * time.Minute), Seconds: 240}); err != nil {
		t.Fatal(err)
	}
	settleClock(c.clock)
	_ = c.a.Recompute()
	c.state.(*MemState).Fail = nil
	if err := c.a.Sync(); err != nil || !c.a.IsLocked(c.erin) {
		t.Fatalf("a sync undid a lock not yet stored (%v)", err)
	}
}

// settleClock moves the clock past the minute a CDR taken on a node of a
// cluster, with no call in progress for it on any node, is left out of
// the spend (settling: cluster.go).
func settleClock(clock *ManualClock) { clock.Advance(time.Minute + time.Second) }

// settleAll moves the clock past settling and syncs every node: each
// counts the CDRs it took and stores its share.
func settleAll(t *testing.T, clock *ManualClock, nodes ...*Monitor) {
	t.Helper()
	settleClock(clock)
	for _, m := range nodes {
		if err := m.Sync(); err != nil {
			t.Fatal(err)
		}
	}
}

// spendOn applies one CDR on monitor m, ending now, and stores it (a
// batch: flushed, as the REST feed and the file tail do).
func spendOn(t *testing.T, m *Monitor, clock *ManualClock, line, dest e164.Number, d time.Duration) {
	t.Helper()
	now := clock.Now()
	if err := m.RecordBatch([]CDR{{Calling: line, Called: dest, Start: now.Add(-d), Seconds: int64(d / time.Second)}}); err != nil {
		t.Fatal(err)
	}
}

// Spend on two nodes adds up: each alone is under the thresholds, the
// whole group is not; calls in progress on one count on the other; one
// crossing is one alert and one lockdown, not one per node.
func TestClusterSpendAddsUp(t *testing.T) {
	c := newCluster(t)
	spendOn(t, c.a, c.clock, lineDave, toPremium, 2*time.Minute) // 6.00 on a
	spendOn(t, c.b, c.clock, lineDave, toPremium, time.Minute)   // 3.00 on b
	settleAll(t, c.clock, c.a, c.b)
	recompute(t, c.a)
	recompute(t, c.b)
	for _, m := range []*Monitor{c.a, c.b} {
		if st := m.GroupStatus(c.dave); st.Spend != 9*Unit || st.Completed != 9*Unit {
			t.Fatalf("node %s: spend %s (completed %s), want 9.00, both nodes'", m.cfg.Node, st.Spend, st.Completed)
		}
	}
	// A premium call decided on a: in progress for a minute, 3.00.
	engA := Wrap(policy.New(c.st, policy.WithClassifier(c.a)), c.a)
	if d := engA.Decide(context.Background(), orig(lineDave, toPremium)); d.Action != policy.ActionAllow {
		t.Fatalf("the call was refused: %v", d.Action)
	}
	c.clock.Advance(time.Minute)
	recompute(t, c.a) // 12.00 on a: lockdown
	if !c.a.IsLocked(c.dave) {
		t.Fatalf("a: not locked at %s", c.a.GroupStatus(c.dave).Spend)
	}
	recompute(t, c.b) // b reads a's share with the call in progress, and a's doubling
	st := c.b.GroupStatus(c.dave)
	if st.Spend != 12*Unit || st.InProgress != 3*Unit || st.Factor != 2 || !st.Locked {
		t.Fatalf("node b: %+v", st)
	}
	all := append(c.noteA.all(), c.noteB.all()...)
	if got := kinds(all); got != "alert,lockdown" {
		t.Fatalf("events on both nodes: %s, want one alert and one lockdown", got)
	}
	// The call ends: its CDR closes it on a, where it was decided.
	spendOn(t, c.a, c.clock, lineDave, toPremium, time.Minute)
	// Both nodes' records are in the audit log, none overwriting another.
	c.clock.Advance(time.Minute)
	ev, err := c.b.Unlock(c.dave, store.Operator.By("alice", "test"), "the customer confirmed the premium calls")
	if err != nil {
		t.Fatal(err)
	}
	audit, err := c.a.Audit(c.dave.Key(), 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range audit {
		got = append(got, fmt.Sprintf("%s#%d@%s", e.Kind, e.Seq, e.Node))
	}
	// (a's #1 is the rate table's import.)
	if strings.Join(got, " ") != "alert#2@a lockdown#3@a unlock#1@b" || ev.Seq != 1 {
		t.Fatalf("audit log %v", got)
	}
	// The history the thresholds learn from is every node's: after
	// midnight, and after a restart of node a.
	c.clock.Set(time.Date(2026, 3, 3, 0, 0, 1, 0, chicago))
	recompute(t, c.b)
	recompute(t, c.a)
	a2 := c.node(t, "a", &recorder{})
	for _, m := range []*Monitor{c.a, c.b, a2} {
		h, err := m.History(c.dave, 0)
		if err != nil {
			t.Fatal(err)
		}
		if h.Days[0].Spend != 12*Unit || h.Days[0].Lockdowns != 1 {
			t.Errorf("node %s (%p): yesterday %+v, want 12.00 with its lockdown", m.cfg.Node, m, h.Days[0])
		}
	}
}

// A rate table imported on one node is in force on the other after its
// sync, and the next import on that one is the next version.
func TestClusterRateTable(t *testing.T) {
	c := newCluster(t)
	if _, err := c.a.ImportRates(strings.NewReader("1,domestic,0.02\n"), "v2.csv", store.Operator.By("alice", "test"), false); err != nil {
		t.Fatal(err)
	}
	if err := c.b.Sync(); err != nil {
		t.Fatal(err)
	}
	if v := c.b.Rates().Version; v != 2 {
		t.Fatalf("node b has version %d", v)
	}
	meta, err := c.b.ImportRates(strings.NewReader("1,domestic,0.03\n"), "v3.csv", store.Operator.By("bob", "test"), false)
	if err != nil || meta.Version != 3 {
		t.Fatalf("b's import: %+v %v", meta, err)
	}
	meta, err = c.a.ImportRates(strings.NewReader("1,domestic,0.04\n"), "v4.csv", store.Operator.By("alice", "test"), false)
	if err != nil || meta.Version != 4 {
		t.Fatalf("a's import without reading b's: %+v %v, want version 4", meta, err)
	}
}

// limitedState is a MemState that, like the store on etcd, refuses a
// write of more than maxOps operations.
type limitedState struct {
	*MemState
	maxOps, writes int
}

func (s *limitedState) WriteLimits() (int, int) { return s.maxOps, 1 << 20 }

func (s *limitedState) Write(ops []Op) error {
	if len(ops) > s.maxOps {
		return fmt.Errorf("%d operations: kv: transaction too large", len(ops))
	}
	s.writes++
	return s.MemState.Write(ops)
}

// A checkpoint larger than the store takes at once is stored in several
// writes, the CDR files' offsets last (the old code sent it whole and the
// store refused it at every recompute).
func TestCheckpointSplitsToFit(t *testing.T) {
	f := newFixture(t)
	ls := &limitedState{MemState: NewMemState(), maxOps: 2}
	m, err := New(f.cfg, f.st, ls, WithClock(f.clock))
	if err != nil {
		t.Fatal(err)
	}
	m.offsets["/var/spool/cdr/a.csv"] = fileOffset{}
	m.odirty = true
	now := f.clock.Now()
	for _, line := range []e164.Number{lineDave, lineErin, lineInitech} {
		if err := m.Record(CDR{Calling: line, Called: toDomestic, Start: now.Add(-time.Minute), Seconds: 60}); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Recompute(); err != nil {
		t.Fatalf("recompute: %v", err)
	}
	if ls.writes < 2 || len(m.pending) != 0 {
		t.Fatalf("%d writes, %d pending", ls.writes, len(m.pending))
	}
	var keys []string
	_ = ls.Scan("", func(k string, _ []byte) error { keys = append(keys, k); return nil })
	if !strings.Contains(strings.Join(keys, " "), "offset//var/spool/cdr/a.csv") || len(keys) < 4 {
		t.Fatalf("stored %v", keys)
	}
}

// A spend record of another node that cannot be read (another version's,
// or damaged) is skipped, counted and warned about; the other nodes'
// spend is still added up.
func TestClusterSkipsUnreadableShare(t *testing.T) {
	c := newCluster(t)
	spendOn(t, c.a, c.clock, lineDave, toPremium, 2*time.Minute) // 6.00 on a
	spendOn(t, c.b, c.clock, lineDave, toPremium, time.Minute)   // 3.00 on b
	settleAll(t, c.clock, c.a, c.b)
	recompute(t, c.a)
	if err := c.state.Write([]Op{
		{Key: "live/" + c.dave.Key() + "/z", Value: []byte(`{"day":`)},
		{Key: "live/q7/z", Value: []byte(`{}`)},
	}); err != nil {
		t.Fatal(err)
	}
	recompute(t, c.b)
	if st := c.b.GroupStatus(c.dave); st.Spend != 9*Unit {
		t.Fatalf("node b: spend %s, want 9.00 (a's share counted past the unreadable ones)", st.Spend)
	}
	if n := c.b.Stats().UnreadableShares; n != 2 {
		t.Fatalf("unreadable shares counted %d, want 2", n)
	}
}

// A lock record that cannot be read keeps its group locked (a lockdown
// was stored for it) until an operator unlocks it, and neither it nor a
// record under an unreadable key stops the other locks from applying.
func TestUnreadableLockKeepsTheGroupLocked(t *testing.T) {
	c := newCluster(t)
	spendOn(t, c.a, c.clock, lineErin, toPremium, 4*time.Minute) // 12.00: erin's group locks on a
	settleClock(c.clock)
	recompute(t, c.a)
	if !c.a.IsLocked(c.erin) {
		t.Fatal("erin's group not locked on a")
	}
	if err := c.state.Write([]Op{
		{Key: lockKey(c.dave), Value: []byte(`{"group":`)},
		{Key: "lock/q7", Value: []byte(`{}`)},
	}); err != nil {
		t.Fatal(err)
	}
	if err := c.b.Sync(); err != nil {
		t.Fatal(err)
	}
	if !c.b.IsLocked(c.erin) || !c.b.IsLocked(c.dave) {
		t.Fatalf("node b: erin locked %v (a's lockdown), dave locked %v (the unreadable record)", c.b.IsLocked(c.erin), c.b.IsLocked(c.dave))
	}
	if n := c.b.Stats().UnreadableLocks; n != 2 {
		t.Fatalf("unreadable locks counted %d, want 2", n)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c.b.Collector())
	if got := gather(t, reg, "callgate_fraud_unreadable_total"); !slices.Contains(got, "callgate_fraud_unreadable_total{kind=lock} 2") {
		t.Fatalf("metrics: %q", got)
	}
	if _, err := c.b.Unlock(c.dave, store.Operator.By("alice", "test"), "the record was damaged; the group checked"); err != nil {
		t.Fatal(err)
	}
	if err := c.a.Sync(); err != nil {
		t.Fatal(err)
	}
	if c.a.IsLocked(c.dave) || c.b.IsLocked(c.dave) || !c.a.IsLocked(c.erin) {
		t.Fatalf("after the unlock: dave locked on a %v, on b %v; erin on a %v", c.a.IsLocked(c.dave), c.b.IsLocked(c.dave), c.a.IsLocked(c.erin))
	}
}
