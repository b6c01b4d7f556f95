package fraud

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"callgate/e164"
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

// BenchmarkRecord is the rating of one CDR: group look-up in the store's
// index, longest-prefix rate, the cost, today's total. Records per second
// are b.N / elapsed (bench/fraud/README.md).
func BenchmarkRecord(b *testing.B) {
	w := newBenchWorld(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if err := w.m.Record(w.cdrs[i&(len(w.cdrs)-1)]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkRecordParallel is BenchmarkRecord from GOMAXPROCS goroutines.
func BenchmarkRecordParallel(b *testing.B) {
	w := newBenchWorld(b)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := rand.IntN(len(w.cdrs))
		for pb.Next() {
			i++
			if err := w.m.Record(w.cdrs[i&(len(w.cdrs)-1)]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
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
	for i := 0; b.Loop(); i++ {
		c, err := ParseCDR(lines[i&(len(lines)-1)])
		if err != nil {
			b.Fatal(err)
		}
		if err := w.m.Record(c); err != nil {
			b.Fatal(err)
		}
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
	for i := 0; b.Loop(); i++ {
		c := w.cdrs[i&(len(w.cdrs)-1)]
		eng.Decide(ctx, policy.Call{Calling: c.Calling, Called: c.Called, Direction: policy.DirectionOriginating, Origin: policy.OriginAIN})
		c.Start = time.Now()
		if err := w.m.Record(c); err != nil {
			b.Fatal(err)
		}
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

// The call path and the CDR path do not allocate in steady state.
func TestHotPathsDoNotAllocate(t *testing.T) {
	w := newBenchWorld(t)
	eng := Wrap(policy.New(nil, policy.WithClassifier(w.m)), w.m)
	ctx := context.Background()
	c := w.cdrs[1]
	call := policy.Call{Calling: c.Calling, Called: c.Called, Direction: policy.DirectionOriginating, Origin: policy.OriginAIN}
	cdr := CDR{Calling: c.Calling, Called: c.Called, Start: time.Now(), Seconds: 30}
	for range 10 { // warm the maps up
		eng.Decide(ctx, call)
		_ = w.m.Record(cdr)
	}
	if n := testing.AllocsPerRun(1000, func() {
		eng.Decide(ctx, call)
		if err := w.m.Record(cdr); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("decide + record: %v allocations, want 0", n)
	}
	if w.m.Stats().Matched == 0 {
		t.Fatal("the CDRs did not close the calls")
	}
}
