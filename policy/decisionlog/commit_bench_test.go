package decisionlog

import (
	"fmt"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

//	go test -run '^$' -bench Commit -benchmem ./policy/decisionlog/
//
// BenchmarkCommit is the writer's cost per commit in the steady state of
// a full log: each commit writes one batch of AIN-like records and prunes
// as many, with no fsync and no producer, so ns/rec is the writer's own
// CPU per record and alloc-B/rec its garbage (bbolt's included). batch=1000
// is what a daemon at 50,000 queries/s committed with the former default
// batch size (one commit per full batch; DefaultBatchSize is 8192 now);
// batch=16384 is a catch-up commit.
//
// The benchmark drives commit directly on the benchmark goroutine: the
// writer goroutine is idle (nothing is ever queued and its tick is an hour
// away), so the two never touch the writer's state at the same time.
func BenchmarkCommit(b *testing.B) {
	for _, batch := range []int{1000, 16384} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			const bound = 200_000
			l, err := Open(filepath.Join(b.TempDir(), FileName), Options{NoSync: true, MaxRecords: bound, MaxAge: -1,
				BatchSize: batch, FlushInterval: time.Hour})
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			gen := newCallGen()
			base := time.Now()
			i := 0
			fill := func() {
				for range batch {
					r := gen.next()
					r.Time = base.Add(time.Duration(i) * time.Microsecond)
					l.w.add(r)
					i++
				}
			}
			// Fill the log to its bound so every timed commit also prunes.
			for i < bound+batch {
				fill()
				l.commit()
			}
			if err := l.w.lastErr; err != nil {
				b.Fatal(err)
			}
			var ms0, ms1 runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&ms0)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				b.StopTimer()
				fill()
				b.StartTimer()
				l.commit()
			}
			b.StopTimer()
			runtime.ReadMemStats(&ms1)
			if err := l.w.lastErr; err != nil {
				b.Fatal(err)
			}
			if s := l.Stats(); s.Stored > bound {
				b.Fatalf("stored %d over the bound %d", s.Stored, bound)
			}
			recs := float64(b.N * batch)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/recs, "ns/rec")
			b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/recs, "alloc-B/rec")
		})
	}
}
