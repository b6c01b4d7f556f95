package decisionlog

import (
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

//	go test -run '^$' -bench WriterCPU -benchtime 1x -count 8 -cpu 1 ./policy/decisionlog/
//
// BenchmarkWriterCPU is the writer's cost per record at a sustained rate,
// as the daemon runs it: default batch size, flush interval and queue,
// fsync per batch, the writer on an OS thread of its own as writer_nice
// makes it (at nice 1 here: the config's 10 lets a busy shared machine
// starve it into drops), the log full so every commit also prunes, and
// the producer handing AIN-like records to Record at the rate, a
// millisecond's worth at a time, for two seconds.
//
// writer-ns/rec is the CPU time of the writer's own thread per record
// written (Linux; from /proc, so it excludes the garbage collector's
// background work, which alloc-B/rec and allocs/rec measure: the heap the
// writer, bbolt included, allocates per record; the producer allocates
// nothing). cpu-ns/rec is the whole process's CPU per record, producer,
// GC and timer wake-ups included. drops/rec should be 0: records the
// writer, starved, could not take in time.
func BenchmarkWriterCPU(b *testing.B) {
	const (
		bound = 400_000
		run   = 2 * time.Second
	)
	for _, c := range []struct {
		rate  int
		slice time.Duration
		name  string
	}{
		{50_000, 0, "rate=50000"},
		{200_000, 0, "rate=200000"},
		{200_000, -1, "rate=200000/no-slices"}, // the writer as before pace.go
	} {
		rate := c.rate
		b.Run(c.name, func(b *testing.B) {
			var writerNS, cpuNS, allocB, allocs, drops float64
			for b.Loop() {
				b.StopTimer()
				l, err := Open(filepath.Join(b.TempDir(), FileName), Options{MaxRecords: bound, MaxAge: -1, WriterNice: 1, WriterSlice: c.slice})
				if err != nil {
					b.Fatal(err)
				}
				var tid atomic.Int64
				l.beforeCommit = func() { tid.CompareAndSwap(0, int64(syscall.Gettid())) }
				gen := newCallGen()
				base := time.Now().Add(-time.Hour)
				// Fill the log to its bound as fast as the writer takes it.
				recordBelowCapacity(l, gen, base, bound)
				if err := l.Flush(); err != nil {
					b.Fatal(err)
				}
				total := int(int64(rate) * int64(run) / int64(time.Second))
				s0 := l.Stats()
				var ms0, ms1 runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&ms0)
				w0, cpu0 := threadCPU(b, int(tid.Load())), cpuTime()
				b.StartTimer()
				start := time.Now()
				for n := 0; n < total; {
					due := min(total, int(int64(time.Since(start))*int64(rate)/int64(time.Second)))
					for ; n < due; n++ {
						r := gen.next()
						r.Time = time.Now()
						l.Record(*r)
					}
					time.Sleep(time.Millisecond)
				}
				if err := l.Flush(); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				w1, cpu1 := threadCPU(b, int(tid.Load())), cpuTime()
				runtime.ReadMemStats(&ms1)
				s := l.Stats()
				if s.Dropped+s.Written != uint64(bound+total) || s.Failed != 0 {
					b.Fatalf("dropped %d, failed %d, written %d of %d", s.Dropped, s.Failed, s.Written, bound+total)
				}
				written := float64(s.Written - s0.Written)
				if s.Stored > bound || s.Stored+segmentMax <= bound {
					b.Fatalf("stored %d, want %d or less by under %d", s.Stored, bound, segmentMax)
				}
				if err := l.Close(); err != nil {
					b.Fatal(err)
				}
				writerNS = float64(w1-w0) / written
				cpuNS = float64((cpu1 - cpu0).Nanoseconds()) / written
				allocB = float64(ms1.TotalAlloc-ms0.TotalAlloc) / written
				allocs = float64(ms1.Mallocs-ms0.Mallocs) / written
				drops = float64(s.Dropped-s0.Dropped) / float64(total)
				b.StartTimer()
			}
			b.ReportMetric(writerNS, "writer-ns/rec")
			b.ReportMetric(cpuNS, "cpu-ns/rec")
			b.ReportMetric(allocB, "alloc-B/rec")
			b.ReportMetric(allocs, "allocs/rec")
			b.ReportMetric(drops, "drops/rec")
		})
	}
}

// threadCPU returns the CPU time, in nanoseconds, of this process's
// thread tid so far (the first field of its schedstat).
func threadCPU(b *testing.B, tid int) int64 {
	b.Helper()
	if tid == 0 {
		b.Fatal("the writer has not committed yet: its thread is unknown")
	}
	buf, err := os.ReadFile("/proc/self/task/" + strconv.Itoa(tid) + "/schedstat")
	if err != nil {
		b.Fatal(err)
	}
	f := strings.Fields(string(buf))
	if len(f) == 0 {
		b.Fatalf("schedstat of thread %d: %q", tid, buf)
	}
	ns, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil {
		b.Fatal(err)
	}
	return ns
}

// BenchmarkSortEntries sorts the index entries of one default batch of
// AIN-like records (about 2.1 per record), as putBlock does.
func BenchmarkSortEntries(b *testing.B) {
	gen := newCallGen()
	var src []entry
	for i := range DefaultBatchSize {
		r := gen.next()
		nums, n := distinctNumbers(r.Calling, r.Called, r.OriginalCalled)
		for _, x := range nums[:n] {
			src = append(src, entry{num: uint64(x), ts: uint64(1e18) + uint64(i)*5000, seq: uint64(1e6 + i)})
		}
	}
	es, tmp := make([]entry, len(src)), []entry(nil)
	b.ReportAllocs()
	for b.Loop() {
		es = append(es[:0], src...)
		es, tmp = sortEntries(es, tmp)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(src)), "ns/entry")
}
