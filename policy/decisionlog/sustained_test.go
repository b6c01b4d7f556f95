package decisionlog

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"callgate/e164"
	"callgate/policy"
)

//	go test -run '^$' -bench Sustained -benchtime 1x -benchmem ./policy/decisionlog/
//
// BenchmarkSustained is the writer's sustained throughput as the daemon
// sees it: 1,000,000 records go through Record (the hot path, not a
// back door) as fast as the writer takes them, and the clock stops when
// the last one is committed. The producer only backs off when the queue is
// nearly full, so nothing is dropped and the number measured is the
// writer's, not the producer's. Numbers are AIN-like: 100,000 subscribers
// called, callers drawn from 10,000,000, one call in ten forwarded.
//
// Variants: fsync per batch (production) and nosync; "pruning" bounds the
// log at 500,000 records so the second half runs in the steady state where
// every commit also prunes as many records as it adds; "queue16384" is a
// smaller queue, which caps the catch-up batches at 4,096 records.
//
// records/s is the sustained rate, disk-B/rec the file size over the
// records it holds, alloc-B/rec and allocs/rec the heap allocated per
// record written (runtime.MemStats: the producer allocates nothing, so
// this is the writer's, bbolt's included), and cpu-ns/rec the process's
// CPU time (user+system, GC included) per record written.
func BenchmarkSustained(b *testing.B) {
	const total = 1_000_000
	for _, bc := range []struct {
		name       string
		noSync     bool
		maxRecords int
		queue      int // 0: DefaultQueueSize
	}{
		{"fsync-per-batch", false, 2 * total, 0},
		{"nosync", true, 2 * total, 0},
		{"fsync-per-batch/pruning", false, total / 2, 0},
		{"fsync-per-batch/queue16384", false, 2 * total, 16384},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var rate, perRec, allocB, allocs, cpuNS float64
			for b.Loop() {
				b.StopTimer()
				path := filepath.Join(b.TempDir(), FileName)
				l, err := Open(path, Options{NoSync: bc.noSync, MaxRecords: bc.maxRecords, MaxAge: -1, QueueSize: bc.queue})
				if err != nil {
					b.Fatal(err)
				}
				gen := newCallGen()
				var ms0, ms1 runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&ms0)
				cpu0 := cpuTime()
				b.StartTimer()
				start := time.Now()
				base := start
				recordBelowCapacity(l, gen, base, total)
				if err := l.Flush(); err != nil {
					b.Fatal(err)
				}
				elapsed := time.Since(start)
				b.StopTimer()
				cpu := cpuTime() - cpu0
				runtime.ReadMemStats(&ms1)
				allocB = float64(ms1.TotalAlloc-ms0.TotalAlloc) / total
				allocs = float64(ms1.Mallocs-ms0.Mallocs) / total
				cpuNS = float64(cpu.Nanoseconds()) / total
				s := l.Stats()
				if s.Dropped != 0 || s.Written != total {
					b.Fatalf("dropped %d, written %d of %d", s.Dropped, s.Written, total)
				}
				// Pruning takes whole segments: up to one fewer than the bound.
				if want := uint64(min(total, bc.maxRecords)); s.Stored > want || s.Stored+segmentMax <= want {
					b.Fatalf("stored %d, want %d or less by under %d", s.Stored, want, segmentMax)
				}
				if err := l.Close(); err != nil {
					b.Fatal(err)
				}
				fi, err := os.Stat(path)
				if err != nil {
					b.Fatal(err)
				}
				rate = total / elapsed.Seconds()
				perRec = float64(fi.Size()) / float64(s.Stored)
				b.StartTimer()
			}
			b.ReportMetric(rate, "records/s")
			b.ReportMetric(perRec, "disk-B/rec")
			b.ReportMetric(allocB, "alloc-B/rec")
			b.ReportMetric(allocs, "allocs/rec")
			b.ReportMetric(cpuNS, "cpu-ns/rec")
		})
	}
}

// cpuTime returns the process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// callGen makes AIN-like records: a fresh random caller and subscriber
// for each, so the index sees as many distinct numbers as production.
type callGen struct {
	rng *rand.Rand
	r   Record
}

func newCallGen() *callGen {
	g := &callGen{rng: rand.New(rand.NewPCG(1, 2)), r: sample()}
	g.r.Origin = policy.OriginAIN
	g.r.Voicemail, g.r.Route.Name, g.r.Route.SIPURI = "", "", ""
	g.r.Action = policy.ActionAllow
	return g
}

// recordBelowCapacity records n of gen's records, the i-th timed base +
// i µs, as fast as the writer takes them but never past the queue's
// capacity, so nothing is dropped: the producer sleeps (leaving the CPU to
// the writer, as an idle tier would) while the queue is nearly full.
func recordBelowCapacity(l *Log, gen *callGen, base time.Time, n int) {
	limit := l.queue.cap() - 1024
	for i := range n {
		if i%256 == 0 {
			for l.queuedLen() > limit {
				time.Sleep(100 * time.Microsecond)
			}
		}
		r := gen.next()
		r.Time = base.Add(time.Duration(i) * time.Microsecond)
		l.Record(*r)
	}
}

func (g *callGen) next() *Record {
	r := &g.r
	r.Called = e164.Number(13035000000 + g.rng.Uint64N(100_000))
	r.Calling = e164.Number(12120000000 + g.rng.Uint64N(10_000_000))
	r.OriginalCalled = 0
	if g.rng.IntN(10) == 0 {
		r.OriginalCalled = e164.Number(14150000000 + g.rng.Uint64N(1_000_000))
	}
	return r
}

// BenchmarkSearchLarge searches a log of 1,000,000 AIN-like records
// written as BenchmarkSustained writes them (so in catch-up batches, one
// index block each): the newest 20 records of a subscriber (about 10 in
// the log, so every block is visited), of a caller, and of a number that
// is in no record.
func BenchmarkSearchLarge(b *testing.B) {
	const total = 1_000_000
	l, err := Open(filepath.Join(b.TempDir(), FileName), Options{NoSync: true, MaxRecords: total, MaxAge: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	gen := newCallGen()
	base := time.Now()
	var subscriber, caller e164.Number
	for i := range total {
		if i%256 == 0 {
			for l.queuedLen() > l.queue.cap()-1024 {
				time.Sleep(100 * time.Microsecond)
			}
		}
		r := gen.next()
		r.Time = base.Add(time.Duration(i) * time.Microsecond)
		if i == total/2 {
			subscriber, caller = r.Called, r.Calling
		}
		l.Record(*r)
	}
	if err := l.Flush(); err != nil {
		b.Fatal(err)
	}
	blocks := countBlocks(b, l)
	for _, bc := range []struct {
		name string
		num  e164.Number
	}{{"subscriber", subscriber}, {"caller", caller}, {"absent", e164.Number(19995550100)}} {
		b.Run(bc.name, func(b *testing.B) {
			q := Query{Number: bc.num, Limit: 20}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := l.Search(q); err != nil {
					b.Fatal(err)
				}
			}
			// How the writer happened to batch decides how many blocks
			// there are, and so what an absent number costs.
			b.ReportMetric(float64(blocks), "index-blocks")
		})
	}
}

// countBlocks returns the number of index blocks in l.
func countBlocks(b *testing.B, l *Log) int {
	n := 0
	err := l.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketIdx).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			n++
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return n
}
