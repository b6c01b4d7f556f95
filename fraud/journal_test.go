package fraud

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"callgate/e164"
	"callgate/policy"

	"github.com/prometheus/client_golang/prometheus"
)

// decideOn asks node m's engine (behind the fraud hook) about an
// originating call, which must be let through: a call in progress there.
func decideOn(t *testing.T, f *fixture, m *Monitor, line, dest e164.Number) {
	t.Helper()
	eng := Wrap(policy.New(f.st, policy.WithClassifier(m)), m)
	if d := eng.Decide(context.Background(), orig(line, dest)); d.Action != policy.ActionAllow {
		t.Fatalf("node %q refused the call: %v", m.cfg.Node, d.Action)
	}
}

func batch(t *testing.T, m *Monitor, cdrs ...CDR) {
	t.Helper()
	if err := m.RecordBatch(cdrs); err != nil {
		t.Fatal(err)
	}
}

func syncNode(t *testing.T, m *Monitor) {
	t.Helper()
	if err := m.Sync(); err != nil {
		t.Fatal(err)
	}
}

// wantSpend checks a group's spend as node m sees it at its next
// recompute: completed and in progress.
func wantSpend(t *testing.T, m *Monitor, g GroupID, completed, inProgress Money) {
	t.Helper()
	recompute(t, m)
	if st := m.GroupStatus(g); st.Completed != completed || st.InProgress != inProgress {
		t.Fatalf("node %q: completed %s in progress %s, want %s and %s", m.cfg.Node, st.Completed, st.InProgress, completed, inProgress)
	}
}

// A CDR sent again (a mediation system's resend) changes nothing: not
// counted again, not closing a later call of the same line and number,
// and still a duplicate after a restart (the old code counted every copy).
func TestDuplicateCDRCountsOnce(t *testing.T) {
	f := newFixture(t)
	now := f.clock.Now()
	cdr := CDR{Calling: lineDave, Called: toLondon, Start: now.Add(-5 * time.Minute), Seconds: 300} // 5.00
	batch(t, f.m, cdr)
	batch(t, f.m, cdr)
	if c := f.status(f.dave).Completed; c != 5*Unit {
		t.Fatalf("the same CDR twice: %s, want 5.00", c)
	}
	// A call from the same line to the same number starts as the first
	// ends: a copy of the first CDR must not close it.
	decideOn(t, f, f.m, lineDave, toLondon)
	f.clock.Advance(2 * time.Minute)
	batch(t, f.m, cdr)
	wantSpend(t, f.m, f.dave, 5*Unit, 2*Unit)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(f.m.Collector())
	if got := gather(t, reg, "callgate_fraud_cdrs_total"); !slices.Contains(got, "callgate_fraud_cdrs_total{result=duplicate} 2") {
		t.Fatalf("metrics: %q", got)
	}
	// After a restart (the journal read back from the State).
	f.open(t)
	batch(t, f.m, cdr)
	if c := f.status(f.dave).Completed; c != 5*Unit {
		t.Fatalf("the same CDR after a restart: %s, want 5.00", c)
	}
	// Another call is another CDR.
	batch(t, f.m, CDR{Calling: lineDave, Called: toLondon, Start: now.Add(-4 * time.Minute), Seconds: 300})
	if c := f.status(f.dave).Completed; c != 10*Unit {
		t.Fatalf("a second call: %s, want 10.00", c)
	}
	wantStats(t, f.m, Stats{Duplicates: 1, Unmatched: 1}) // since the restart
}

// The window is checked: a bad one is refused, naming the setting.
func TestDedupWindowChecked(t *testing.T) {
	cfg := DefaultConfig()
	cfg.DedupWindow = 30 * time.Second
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "cdr_dedup_window 30s") {
		t.Fatalf("a 30s window: %v", err)
	}
}

// The known gap of the old code: a call decided on node a whose CDR is
// given to node b was counted twice (rated on b, still valued in progress
// on a until max_call_duration) and locked the group down. Now, after one
// sync of a, both nodes count it once and neither locks.
func TestClusterCDROnAnotherNodeClosesTheCall(t *testing.T) {
	c := newCluster(t)
	start := c.clock.Now()
	decideOn(t, c.fixture, c.a, lineDave, toLondon) // 1.00 a minute
	c.clock.Advance(6 * time.Minute)
	wantSpend(t, c.a, c.dave, 0, 6*Unit) // in progress on a; a's share stored
	batch(t, c.b, CDR{Calling: lineDave, Called: toLondon, Start: start, Seconds: 360})
	syncNode(t, c.a) // one sync interval: a closes the call, b reads that
	syncNode(t, c.b)
	c.clock.Advance(time.Minute)
	for _, m := range []*Monitor{c.a, c.b, c.a} {
		wantSpend(t, m, c.dave, 6*Unit, 0)
		if m.IsLocked(c.dave) {
			t.Fatalf("node %q locked the group at 6.00", m.cfg.Node)
		}
	}
	if evs := append(c.noteA.all(), c.noteB.all()...); len(evs) != 0 {
		t.Fatalf("events: %s", kinds(evs))
	}
	wantStats(t, c.a, Stats{ClosedRemote: 1, Started: 1})
	// The share node b reads is right before a's next recompute too: a
	// second call, in progress on a at a's recompute, ends on b.
	start = c.clock.Now()
	decideOn(t, c.fixture, c.a, lineDave, toLondon)
	c.clock.Advance(3 * time.Minute)
	recompute(t, c.a) // a's share: 3.00 in progress
	batch(t, c.b, CDR{Calling: lineDave, Called: toLondon, Start: start, Seconds: 180})
	syncNode(t, c.a)
	recompute(t, c.b)
	if st := c.b.GroupStatus(c.dave); st.Spend != 9*Unit {
		t.Fatalf("node b after a's sync: spend %s (in progress %s), want 9.00", st.Spend, st.InProgress)
	}
}

// One CDR sent to both nodes before either read the other's journal
// counts once (the node whose name sorts first keeps it); after a
// restart of the other node too, which takes its count back at load.
func TestClusterDuplicateOnBothNodes(t *testing.T) {
	c := newCluster(t)
	start := c.clock.Now()
	decideOn(t, c.fixture, c.b, lineDave, toLondon)
	c.clock.Advance(5 * time.Minute)
	cdr := CDR{Calling: lineDave, Called: toLondon, Start: start, Seconds: 300}
	batch(t, c.a, cdr) // a: rated on arrival
	batch(t, c.b, cdr) // b: closes its call
	syncNode(t, c.a)
	syncNode(t, c.b)
	for _, m := range []*Monitor{c.a, c.b} {
		wantSpend(t, m, c.dave, 5*Unit, 0)
	}
	wantStats(t, c.b, Stats{Uncounted: 1, Matched: 1, Started: 1})
	// Sent again to either: a duplicate.
	batch(t, c.a, cdr)
	batch(t, c.b, cdr)
	for _, m := range []*Monitor{c.a, c.b} {
		wantSpend(t, m, c.dave, 5*Unit, 0)
	}
	// Another CDR on both, then node b restarts before it read a's
	// journal: it takes its count back at load.
	cdr2 := CDR{Calling: lineDave, Called: toLondon, Start: start.Add(time.Minute), Seconds: 120}
	batch(t, c.a, cdr2)
	batch(t, c.b, cdr2)
	c.b = c.node(t, "b", c.noteB)
	recompute(t, c.b)    // stores the share it took back
	settleClock(c.clock) // no node held cdr2's call: it counts on a a minute later
	wantSpend(t, c.a, c.dave, 7*Unit, 0)
	wantSpend(t, c.b, c.dave, 7*Unit, 0)
}

// Two nodes each hold a call of the same line to the same number and a
// third takes the CDR of one: both close theirs when they read it at the
// same time, and the one whose name sorts after reopens its call at its
// next sync. A CDR of the same pair read while its call was closed there
// is retried, and closes the reopened call.
func TestClusterClosureConflict(t *testing.T) {
	c := newCluster(t)
	nc := c.node(t, "c", &recorder{})
	syncNode(t, nc)
	start := c.clock.Now()
	decideOn(t, c.fixture, c.a, lineDave, toLondon) // 1.00 a minute
	decideOn(t, c.fixture, nc, lineDave, toLondon)
	c.clock.Advance(2 * time.Minute)
	batch(t, c.b, CDR{Calling: lineDave, Called: toLondon, Start: start, Seconds: 120}) // 2.00
	// a and c read b's journal before either stores its closure.
	for _, m := range []*Monitor{c.a, nc} {
		if _, err := m.readJournal(); err != nil {
			t.Fatal(err)
		}
	}
	// The other call's CDR, on b, read by c while its call is closed.
	c.clock.Advance(time.Minute)
	batch(t, c.b, CDR{Calling: lineDave, Called: toLondon, Start: start.Add(time.Second), Seconds: 179}) // 2.983334
	syncNode(t, nc)                                                                                      // stores c's closure; reads the second CDR: no call here now
	syncNode(t, c.a)                                                                                     // stores a's closure; the second CDR finds no call on a
	syncNode(t, nc)                                                                                      // reads a's closure: c reopens its call, and the second CDR closes it
	syncNode(t, c.a)
	syncNode(t, c.b) // reads the closures: b counts both CDRs
	for _, m := range []*Monitor{c.a, c.b, nc} {
		wantSpend(t, m, c.dave, 2*Unit+money("2.983334"), 0)
	}
	wantStats(t, nc, Stats{Started: 1, ClosedRemote: 2, Reopened: 1})
}

// The CDR's journal entry can reach the deciding node before the call is
// in its table (a call reopened after a closure conflict, above; here
// the decision comes after node a read the entry, for a CDR stamped by a
// switch whose clock is ahead): the entry is retried at every sync for a
// minute and closes the call when it shows up.
func TestClusterCDRBeforeTheCall(t *testing.T) {
	c := newCluster(t)
	start := c.clock.Now()
	batch(t, c.b, CDR{Calling: lineDave, Called: toLondon, Start: start, Seconds: 300})
	syncNode(t, c.a)
	decideOn(t, c.fixture, c.a, lineDave, toLondon)
	c.clock.Advance(2 * time.Second)
	syncNode(t, c.a)
	syncNode(t, c.b)
	c.clock.Advance(5 * time.Minute)
	wantSpend(t, c.a, c.dave, 5*Unit, 0)
	wantSpend(t, c.b, c.dave, 5*Unit, 0)
	// Past the minute, a CDR with no call anywhere closes nothing later.
	batch(t, c.b, CDR{Calling: lineErin, Called: toLondon, Start: c.clock.Now(), Seconds: 3600})
	syncNode(t, c.a)
	c.clock.Advance(2 * time.Minute)
	syncNode(t, c.a)
	decideOn(t, c.fixture, c.a, lineErin, toLondon)
	c.clock.Advance(time.Minute)
	syncNode(t, c.a)
	syncNode(t, c.b) // no node closed a call for it: b counts it now
	wantSpend(t, c.a, c.erin, 60*Unit, Unit)
}

// The journal is bounded: a node deletes its chunks from the State past
// the window, and forgets a CDR after one to two windows (a copy after
// that counts again).
func TestJournalExpires(t *testing.T) {
	f := newFixture(t)
	cdr := CDR{Calling: lineDave, Called: toLondon, Start: f.clock.Now().Add(-time.Minute), Seconds: 60}
	batch(t, f.m, cdr)
	chunks := func() int {
		n := 0
		_ = f.state.Scan(journalPrefix, func(string, []byte) error { n++; return nil })
		return n
	}
	if chunks() != 1 {
		t.Fatalf("%d journal chunks stored, want 1", chunks())
	}
	for range 2 {
		f.clock.Advance(f.cfg.DedupWindow + time.Minute)
		f.recompute(t)
	}
	if n := chunks(); n != 0 {
		t.Fatalf("%d journal chunks left after two windows", n)
	}
	batch(t, f.m, cdr)
	if c := f.status(f.dave).Completed; c != 2*Unit {
		t.Fatalf("the copy after the window: %s, want 2.00", c)
	}
}

// A checkpoint stores the journal's retractions before the totals, its
// counts after them and before the shares, its closures after the shares,
// the CDR files' offsets last.
func TestCheckpointRank(t *testing.T) {
	ops := []Op{
		{Key: "offset//var/cdr.csv", Value: []byte("{}")},
		{Key: journalKey(2, "a"), Value: []byte{chunkJournal}},
		{Key: "live/s1/a", Value: []byte("{}")},
		{Key: journalKey(1, "a"), Delete: true},
		{Key: journalKey(3, "a"), Value: []byte{chunkRetract}},
		{Key: journalKey(4, "a"), Value: []byte{chunkClosed}},
	}
	var got []string
	for r := range 6 {
		for _, op := range ops {
			if checkpointRank(op) == r {
				got = append(got, op.Key)
			}
		}
	}
	want := "cdr/0000000000000003/a cdr/0000000000000001/a cdr/0000000000000002/a live/s1/a cdr/0000000000000004/a offset//var/cdr.csv"
	if strings.Join(got, " ") != want {
		t.Fatalf("order %v", got)
	}
}

// FuzzDecodeChunk: the journal chunk decoder never panics, and what it
// accepts encodes back to the same bytes.
func FuzzDecodeChunk(f *testing.F) {
	id := cdrID{lineDave, toLondon, t0.UnixNano(), 60}
	v := append([]byte{chunkJournal, 0, 0, 0, 0, 0, 0, 0, 1}, appendEntry(nil, eCounted, id, Unit)...)
	f.Add(v)
	f.Add(append([]byte{chunkRetract, 0, 0, 0, 0, 0, 0, 0, 1}, appendEntry(nil, eUncounted, id, Unit)...))
	f.Add(append([]byte{chunkClosed, 0, 0, 0, 0, 0, 0, 0, 1}, appendEntry(nil, eClosed, id, Unit)...))
	f.Add(v[:20])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		kind, written, es, err := decodeChunk(b)
		if err != nil {
			return
		}
		out := []byte{kind, byte(written >> 56), byte(written >> 48), byte(written >> 40), byte(written >> 32), byte(written >> 24), byte(written >> 16), byte(written >> 8), byte(written)}
		for _, e := range es {
			out = appendEntry(out, e.flags, e.id, e.price)
		}
		if string(out) != string(b) {
			t.Fatalf("decoded %x, encodes back as %x", b, out)
		}
	})
}

// FuzzParseJournalKey: the key parser never panics, and what it accepts
// is what journalKey writes.
func FuzzParseJournalKey(f *testing.F) {
	f.Add("cdr/0000000000000001/a")
	f.Add("cdr/0000000000000001")
	f.Add("cdr/1/a/b")
	f.Fuzz(func(t *testing.T, k string) {
		seq, node, err := parseJournalKey(k)
		if err != nil {
			return
		}
		if journalKey(seq, node) != k {
			t.Fatalf("%q parsed as %d %q", k, seq, node)
		}
	})
}

// Many CDRs, each sent one to three times to either node, from several
// goroutines while both nodes sync and recompute: every call decided on
// either node is closed once and every CDR counted once. One line and
// one number for every call (a PBX pumping one destination): any call
// matches any CDR, the hardest case for closing exactly one.
func TestClusterConcurrentCDRsCountOnce(t *testing.T) {
	c := newCluster(t)
	const calls = 300
	nodes := []*Monitor{c.a, c.b}
	start := c.clock.Now()
	for i := range calls {
		decideOn(t, c.fixture, nodes[i%2], lineInitech, toDomestic)
	}
	c.clock.Advance(10 * time.Minute)
	cdrs := make([]CDR, calls)
	var want Money
	for i := range cdrs {
		cdrs[i] = CDR{Calling: lineInitech, Called: toDomestic, Start: start.Add(time.Duration(i) * time.Millisecond), Seconds: int64(60 + i)}
		want += money("0.01").PerMinute(cdrs[i].Seconds)
	}
	stop := make(chan struct{})
	var syncs sync.WaitGroup
	syncs.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			_ = nodes[i%2].Sync()
			if i%10 == 0 {
				_ = nodes[i%2].Recompute()
			}
		}
	})
	var senders sync.WaitGroup
	for w := range 4 {
		senders.Go(func() {
			for i := w; i < calls; i += 4 {
				for k := range 1 + (i+w)%3 {
					if err := nodes[(i+k)%2].RecordBatch([]CDR{cdrs[i]}); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	senders.Wait()
	close(stop)
	syncs.Wait()
	for range 3 {
		for _, m := range nodes {
			syncNode(t, m)
		}
	}
	for _, m := range nodes {
		wantSpend(t, m, c.ient, want, 0)
	}
	for _, m := range nodes {
		wantSpend(t, m, c.ient, want, 0)
	}
	if s := c.a.calls.len() + c.b.calls.len(); s != 0 {
		t.Fatalf("%d calls still in progress", s)
	}
}
