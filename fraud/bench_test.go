package fraud

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"callgate/e164"
	"callgate/internal/benchcpu"
	"callgate/policy"
	"callgate/store"
)

// benchWorld is a store with 10,000 subscribers (one line each) under one
// provider, a rate table of about 25,000 rows, and a monitor over them on
// the wall clock.
type benchWorld struct {
	m     *Monitor
	lines []e164.Number
	dests []e164.Number
	cdrs  []CDR
}

func newBenchWorld(b testing.TB) *benchWorld {
	b.Helper()
	st, err := store.Open(filepath.Join(b.TempDir(), "bench.db"), store.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	if _, err := st.CreateProvider(store.Operator, store.ProviderSpec{Name: "bench"}); err != nil {
		b.Fatal(err)
	}
	first := e164.MustParse("+13122000000")
	const subs = 10_000
	if err := st.AllocateNumbers(store.Operator, "bench", store.Range{First: first, Last: first + subs - 1}); err != nil {
		b.Fatal(err)
	}
	w := &benchWorld{}
	err = st.BulkLoad(func(l *store.BulkLoader) error {
		for i := range subs {
			n := first + e164.Number(i)
			if _, err := l.CreateSubscriber(store.SubscriberSpec{Name: fmt.Sprintf("s%d", i), Provider: "bench", Numbers: []string{n.String()}}); err != nil {
				return err
			}
			w.lines = append(w.lines, n)
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	// A carrier-sized table: every country code 20-99 with 300 area
	// prefixes each, NANP premium and Caribbean rows, a domestic default.
	var t strings.Builder
	t.WriteString("1,domestic,0.005\n1900,premium,2.5\n1876,international,0.21\n")
	rng := rand.New(rand.NewPCG(1, 2))
	for cc := 20; cc < 100; cc++ {
		fmt.Fprintf(&t, "%d,international,0.25\n", cc)
		for a := 0; a < 300; a++ {
			fmt.Fprintf(&t, "%d%03d,%s,0.%02d\n", cc, 100+a, []string{"international", "premium"}[a%7/6], 10+rng.IntN(80))
		}
	}
	m, err := New(DefaultConfig(), st, NewMemState())
	if err != nil {
		b.Fatal(err)
	}
	if _, err := m.ImportRates(strings.NewReader(t.String()), "bench", store.Operator.By("bench", "test"), false); err != nil {
		b.Fatal(err)
	}
	w.m = m
	for i := range 1 << 14 {
		cc := 20 + rng.IntN(80)
		d := e164.Number(uint64(cc)*1e9 + uint64(100+rng.IntN(300))*1e6 + uint64(rng.IntN(1e6)))
		if i%3 == 0 {
			d = e164.Number(13032000000 + uint64(rng.IntN(8e6)))
		}
		w.dests = append(w.dests, d)
		w.cdrs = append(w.cdrs, CDR{Calling: w.lines[rng.IntN(subs)], Called: d,
			Start: time.Now().Add(-time.Duration(rng.IntN(3600)) * time.Second), Seconds: int64(rng.IntN(600))})
	}
	return w
}

// cdr is the i-th CDR of the run: the world's CDRs over and over, each
// lap a nanosecond later, so that none is a copy of one before (a copy
// is a duplicate: journal.go).
func (w *benchWorld) cdr(i int) CDR {
	c := w.cdrs[i&(len(w.cdrs)-1)]
	c.Start = c.Start.Add(time.Duration(i >> 14))
	return c
}

// benchWindow is how many CDRs the runs keep marks for: every half of it
// a checkpoint stores the journal entries and starts a new generation of
// marks, as the dedup window's end does (the bench does not run 15
// minutes): the cost of publishing is in the CDRs' time.
const benchWindow = 1 << 18

func (w *benchWorld) checkpointEvery(b *testing.B, i int) {
	if i&(benchWindow/2-1) == benchWindow/2-1 {
		w.m.jr.pubMu.Lock()
		w.m.jr.rotated = 0
		w.m.jr.pubMu.Unlock()
		if err := w.m.Flush(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRecord is the rating of one CDR: group look-up in the store's
// index, the duplicate check and the CDR's mark and journal entry, the
// longest-prefix rate, the cost, today's total; and its share of a
// checkpoint storing the journal. Records per second are b.N / elapsed
// (bench/fraud/README.md).
func BenchmarkRecord(b *testing.B) {
	w := newBenchWorld(b)
	b.ReportAllocs()
	b.ResetTimer()
	cpu := benchcpu.Start(b)
	for i := 0; b.Loop(); i++ {
		if err := w.m.Record(w.cdr(i)); err != nil {
			b.Fatal(err)
		}
		w.checkpointEvery(b, i)
	}
	cpu.Stop(b, b.N)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkRecordParallel is BenchmarkRecord from GOMAXPROCS goroutines.
func BenchmarkRecordParallel(b *testing.B) {
	w := newBenchWorld(b)
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := int(next.Add(1))
			if err := w.m.Record(w.cdr(i)); err != nil {
				b.Fatal(err)
			}
			w.checkpointEvery(b, i)
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkRecordDuplicate is a CDR sent again: found among the marks,
// nothing else done.
func BenchmarkRecordDuplicate(b *testing.B) {
	w := newBenchWorld(b)
	for i := range w.cdrs {
		if err := w.m.Record(w.cdrs[i]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu := benchcpu.Start(b)
	for i := 0; b.Loop(); i++ {
		if err := w.m.Record(w.cdrs[i&(len(w.cdrs)-1)]); err != nil {
			b.Fatal(err)
		}
	}
	cpu.Stop(b, b.N)
	if w.m.Stats().Duplicates == 0 {
		b.Fatal("no duplicate")
	}
}

// BenchmarkRecordLine adds the parsing of the line form (the file tail).
func BenchmarkRecordLine(b *testing.B) {
	w := newBenchWorld(b)
	lines := make([][]byte, len(w.cdrs))
	for i, c := range w.cdrs {
		lines[i] = fmt.Appendf(nil, "%s,%s,%d,%d", c.Calling, c.Called, c.Start.Unix(), c.Seconds)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu := benchcpu.Start(b)
	defer func() { cpu.Stop(b, b.N) }()
	for i := 0; b.Loop(); i++ {
		c, err := ParseCDR(lines[i&(len(lines)-1)])
		if err != nil {
			b.Fatal(err)
		}
		c.Start = c.Start.Add(time.Duration(i >> 14)) // not a copy of the lap before
		if err := w.m.Record(c); err != nil {
			b.Fatal(err)
		}
		w.checkpointEvery(b, i)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkDecideOriginating is the decision hook on the call path: the
// lock check, the engine's originating chain (asking the rate table for
// the destination), the call opened. Its CDR closes it in the same
// iteration so the table stays at steady state: subtract BenchmarkRecord
// for the hook alone.
func BenchmarkDecideOriginating(b *testing.B) {
	w := newBenchWorld(b)
	eng := Wrap(policy.New(nil, policy.WithClassifier(w.m)), w.m)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	cpu := benchcpu.Start(b)
	defer func() { cpu.Stop(b, b.N) }()
	start := time.Now()
	for i := 0; b.Loop(); i++ {
		c := w.cdrs[i&(len(w.cdrs)-1)]
		eng.Decide(ctx, policy.Call{Calling: c.Calling, Called: c.Called, Direction: policy.DirectionOriginating, Origin: policy.OriginAIN})
		c.Start = start.Add(time.Duration(i))
		if err := w.m.Record(c); err != nil {
			b.Fatal(err)
		}
		w.checkpointEvery(b, i)
	}
}

// BenchmarkJournalRead is the other side of a CDR taken on another node
// of a cluster: node a, which decided the call, reading node b's journal
// entry for it at its sync and closing the call (its mark, the close, its
// closure entry). One op is one entry; the calls, b's CDRs and their
// checkpoint (over the store: bbolt, as each node's replica) are made off
// the clock.
func BenchmarkJournalRead(b *testing.B) {
	w := newBenchWorld(b)
	clock := NewManualClock(time.Now())
	state := StoreState(w.m.dir.(*store.Store))
	node := func(name string) *Monitor {
		cfg := DefaultConfig()
		cfg.Node = name
		m, err := New(cfg, w.m.dir, state, WithClock(clock))
		if err != nil {
			b.Fatal(err)
		}
		m.rates.Store(w.m.rates.Load())
		return m
	}
	a, nb := node("a"), node("b")
	const batch = 1024 // a second's CDRs at a busy node
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; done += batch {
		b.StopTimer()
		clock.Advance(time.Second)
		for i := range batch {
			c := w.cdr(done + i)
			g, _ := a.GroupOf(c.Calling)
			a.calls.open(callKey{c.Calling, c.Called}, g, c.Start.UnixNano(), Unit)
			if err := nb.Record(c); err != nil {
				b.Fatal(err)
			}
		}
		if err := nb.Flush(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := a.readJournal(); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if s := a.Stats(); s.ClosedRemote < uint64(b.N) {
		b.Fatalf("node a closed %d calls of %d", s.ClosedRemote, b.N)
	}
}

// BenchmarkRateLookup is the longest-prefix match alone.
func BenchmarkRateLookup(b *testing.B) {
	w := newBenchWorld(b)
	t := w.m.Rates()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if t.Lookup(w.dests[i&(len(w.dests)-1)]) == nil {
			b.Fatal("no rate")
		}
	}
}

// The call path and the CDR path do not allocate in steady state: the
// CDRs' marks and journal entries (journal.go) go into maps and buffers
// that a window's traffic has grown and a checkpoint has emptied.
func TestHotPathsDoNotAllocate(t *testing.T) {
	w := newBenchWorld(t)
	eng := Wrap(policy.New(nil, policy.WithClassifier(w.m)), w.m)
	ctx := context.Background()
	c := w.cdrs[1]
	call := policy.Call{Calling: c.Calling, Called: c.Called, Direction: policy.DirectionOriginating, Origin: policy.OriginAIN}
	start := time.Now()
	n := 0
	step := func() {
		eng.Decide(ctx, call)
		n++ // every CDR another call's: a copy would be a duplicate
		if err := w.m.Record(CDR{Calling: c.Calling, Called: c.Called, Start: start.Add(time.Duration(n)), Seconds: 30}); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 { // a window's traffic, then a new generation of marks
		for range 3000 {
			step()
		}
		w.m.jr.rotated = 0
		if err := w.m.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	if a := testing.AllocsPerRun(1000, step); a != 0 {
		t.Fatalf("decide + record: %v allocations, want 0", a)
	}
	if s := w.m.Stats(); s.Matched < 7000 || s.Duplicates != 0 {
		t.Fatalf("the CDRs did not close the calls: %+v", s)
	}
}
