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
// CPU per record and alloc-B/rec its garbage (bbolt's included);
// cpu-ns/rec is the process's CPU time (GC included) over the timed part:
// taking each record (encoding it) and committing. batch=1000 is what a
// daemon at 50,000 queries/s committed with the former default batch size
// (one commit per full batch); batch=8192 is DefaultBatchSize, a daemon
// above some 40,000 queries/s; batch=16384 is a catch-up commit.
//
// The benchmark drives commit directly on the benchmark goroutine: the
// writer goroutine is idle (nothing is ever queued and its tick is an hour
// away), so the two never touch the writer's state at the same time.
func BenchmarkCommit(b *testing.B) {
	for _, batch := range []int{1000, DefaultBatchSize, 16384} {
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
			recs := make([]Record, batch)
			gen1 := func() {
				for j := range recs {
					recs[j] = *gen.next()
					recs[j].Time = base.Add(time.Duration(i) * time.Microsecond)
					i++
				}
			}
			take := func() {
				for j := range recs {
					l.w.add(&recs[j])
				}
			}
			fill := func() { gen1(); take() }
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
			var cpu time.Duration
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				b.StopTimer()
				gen1()
				b.StartTimer()
				c0 := cpuTime()
				take()
				l.commit()
				cpu += cpuTime() - c0
			}
			b.StopTimer()
			runtime.ReadMemStats(&ms1)
			if err := l.w.lastErr; err != nil {
				b.Fatal(err)
			}
			if s := l.Stats(); s.Stored > bound {
				b.Fatalf("stored %d over the bound %d", s.Stored, bound)
			}
			n := float64(b.N * batch)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/rec")
			b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/n, "alloc-B/rec")
			b.ReportMetric(float64(cpu.Nanoseconds())/n, "cpu-ns/rec")
		})
	}
}
