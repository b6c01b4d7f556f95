package hist

import (
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestIndexBoundsRoundTrip(t *testing.T) {
	// Every bucket's bounds map back to the bucket, buckets tile the range
	// without gaps, and the relative width stays within 1/64.
	prevHi := uint64(0)
	for i := 0; i < nBuckets; i++ {
		lo, hi := bounds(i)
		if i > 0 && lo != prevHi+1 {
			t.Fatalf("bucket %d starts at %d, previous ended at %d", i, lo, prevHi)
		}
		if index(lo) != i || index(hi) != i {
			t.Fatalf("bucket %d [%d,%d] maps back to %d/%d", i, lo, hi, index(lo), index(hi))
		}
		if lo >= subCount && float64(hi-lo+1)/float64(lo) > 1.0/64+1e-12 {
			t.Fatalf("bucket %d [%d,%d] wider than 1/64", i, lo, hi)
		}
		prevHi = hi
	}
	if prevHi != ^uint64(0) {
		t.Fatalf("last bucket ends at %d, want max uint64", prevHi)
	}
}

func TestQuantilesAgainstSorted(t *testing.T) {
	var h Histogram
	r := rand.New(rand.NewPCG(1, 2))
	vals := make([]time.Duration, 100000)
	for i := range vals {
		// log-uniform between 10 µs and 100 ms, like real latencies
		v := time.Duration(10e3 * pow(1e4, r.Float64()))
		vals[i] = v
		h.Record(v)
	}
	slices.Sort(vals)
	s := h.Snapshot()
	if s.N != uint64(len(vals)) || h.Count() != uint64(len(vals)) {
		t.Fatalf("count %d, want %d", s.N, len(vals))
	}
	if s.Min != vals[0] || s.Max != vals[len(vals)-1] {
		t.Fatalf("min/max %v/%v, want %v/%v", s.Min, s.Max, vals[0], vals[len(vals)-1])
	}
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		exact := vals[int(q*float64(len(vals)))-1]
		got := s.Quantile(q)
		if got < exact || float64(got) > float64(exact)*(1+1.0/64)+1 {
			t.Errorf("q%.3f = %v, exact %v: outside [exact, exact+1.6%%]", q, got, exact)
		}
	}
	if s.Quantile(1) != s.Max || s.Quantile(0) != s.Min {
		t.Errorf("q0/q1 = %v/%v, want min/max", s.Quantile(0), s.Quantile(1))
	}
}

func pow(b, e float64) float64 { return math.Pow(b, e) }

func TestSmallExactAndEmpty(t *testing.T) {
	var h Histogram
	if h.Quantile(0.99) != 0 || h.Snapshot().Mean() != 0 {
		t.Fatal("empty histogram should report 0")
	}
	for _, v := range []time.Duration{5, 5, 7, 100, -3} {
		h.Record(v)
	}
	s := h.Snapshot()
	if s.Min != 0 || s.Max != 100 {
		t.Fatalf("min/max %v/%v (negative counts as 0)", s.Min, s.Max)
	}
	if got := s.Quantile(0.5); got != 5 {
		t.Fatalf("median %v, want 5 (exact below 128 ns)", got)
	}
	sum := s.Summary()
	if sum.Count != 5 || sum.P999 != 100 || sum.Mean != (5+5+7+100)/5 {
		t.Fatalf("summary %+v", sum)
	}
	b := s.Buckets()
	if len(b) != 4 || b[0].Low != 0 || b[1].Count != 2 {
		t.Fatalf("buckets %+v", b)
	}
	h.Reset()
	if h.Count() != 0 || h.Snapshot().Max != 0 {
		t.Fatal("reset did not clear")
	}
}

func TestMerge(t *testing.T) {
	var a, b Histogram
	a.Record(time.Millisecond)
	b.Record(time.Microsecond)
	b.Record(3 * time.Millisecond)
	s := a.Snapshot()
	s.Merge(b.Snapshot())
	if s.N != 3 || s.Min != time.Microsecond || s.Max != 3*time.Millisecond {
		t.Fatalf("merged %+v", s.Summary())
	}
	if q := s.Quantile(0.5); q < time.Millisecond || q > time.Millisecond*65/64 {
		t.Fatalf("merged median %v", q)
	}
}

func TestConcurrentRecord(t *testing.T) {
	var h Histogram
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10000; i++ {
				h.Record(time.Duration(i+1) * time.Microsecond)
			}
		}()
	}
	wg.Wait()
	s := h.Snapshot()
	if s.N != 80000 || s.Max != 10000*time.Microsecond || s.Min != time.Microsecond {
		t.Fatalf("after concurrent records: n=%d min=%v max=%v", s.N, s.Min, s.Max)
	}
}

func BenchmarkRecord(b *testing.B) {
	var h Histogram
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		h.Record(time.Duration(i&0xfffff) * 100)
	}
}

func BenchmarkRecordParallel(b *testing.B) {
	var h Histogram
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			h.Record(time.Duration(i&0xfffff) * 100)
		}
	})
}
