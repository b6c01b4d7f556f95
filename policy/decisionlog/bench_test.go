package decisionlog

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"callgate/e164"
	"callgate/policy"
)

//	go test -run '^$' -bench . -benchmem ./policy/decisionlog/
//
// B/op in the Record benchmarks is the writer goroutine's bbolt work
// amortised over the records (it runs while the timer does); the caller's
// own path allocates nothing, which TestRecordAllocs pins.

// BenchmarkRecord is the hot-path cost: one Record call with the writer
// running. Records the writer cannot keep up with are dropped; drops/op
// says how many (the cost of Record is the same either way).
func BenchmarkRecord(b *testing.B) {
	for _, par := range []bool{false, true} {
		name := "serial"
		if par {
			name = "parallel"
		}
		b.Run(name, func(b *testing.B) {
			l, err := Open(filepath.Join(b.TempDir(), FileName), Options{NoSync: true, MaxRecords: 200_000, MaxAge: -1})
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			r := sample()
			r.Time = time.Now()
			b.ReportAllocs()
			b.ResetTimer()
			if par {
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						l.Record(r)
					}
				})
			} else {
				for b.Loop() {
					l.Record(r)
				}
			}
			b.StopTimer()
			s := l.Stats()
			b.ReportMetric(float64(s.Dropped)/float64(s.Dropped+s.Recorded), "drops/op")
		})
	}
}

// BenchmarkRecordAccepted is Record when the queue has room (the writer
// is drained outside the timer every half queue): the cost of a record that
// is kept.
func BenchmarkRecordAccepted(b *testing.B) {
	l, err := Open(filepath.Join(b.TempDir(), FileName), Options{NoSync: true, MaxRecords: 200_000, MaxAge: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	r := sample()
	r.Time = time.Now()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		l.Record(r)
		if i++; i%(DefaultQueueSize/2) == 0 {
			b.StopTimer()
			_ = l.Flush()
			b.StartTimer()
		}
	}
	b.StopTimer()
	s := l.Stats()
	b.ReportMetric(float64(s.Dropped)/float64(s.Dropped+s.Recorded), "drops/op")
}

// BenchmarkWrite is the writer's throughput: records committed per second
// (with fsync per batch unless nosync), indexes and pruning included.
func BenchmarkWrite(b *testing.B) {
	for _, noSync := range []bool{true, false} {
		name := "fsync-per-batch"
		if noSync {
			name = "nosync"
		}
		b.Run(name, func(b *testing.B) {
			l, err := Open(filepath.Join(b.TempDir(), FileName), Options{NoSync: noSync, MaxRecords: 200_000, MaxAge: -1})
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			r := sample()
			base := time.Now()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				r.Time = base.Add(time.Duration(i))
				r.Calling = e164.Number(12125550000 + uint64(i%100_000))
				l.Record(r)
				i++
				if i%(DefaultQueueSize/2) == 0 {
					_ = l.Flush()
				}
			}
			if err := l.Flush(); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if s := l.Stats(); s.Dropped != 0 {
				b.Fatalf("dropped %d", s.Dropped)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// BenchmarkSearchNumber searches one number's newest 20 records in a log
// of 200,000 records over 10,000 numbers.
func BenchmarkSearchNumber(b *testing.B) {
	l, err := Open(filepath.Join(b.TempDir(), FileName), Options{NoSync: true, MaxRecords: 300_000, MaxAge: -1, BatchSize: 5000})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	base := time.Now()
	for i := range 200_000 {
		l.Record(Record{Time: base.Add(time.Duration(i) * time.Millisecond), Calling: e164.Number(12125550000 + uint64(i%10_000)),
			Called: nA, Action: policy.ActionScreen, Origin: policy.OriginAIN, Peer: "1-2-3"})
		if i%8000 == 0 {
			_ = l.Flush()
		}
	}
	if err := l.Flush(); err != nil {
		b.Fatal(err)
	}
	q := Query{Number: 12125550000 + 1234, Limit: 20}
	b.ReportAllocs()
	for b.Loop() {
		recs, err := l.Search(q)
		if err != nil || len(recs) != 20 {
			b.Fatalf("%d records, %v", len(recs), err)
		}
	}
}

// BenchmarkWrap is what logging adds to each decision on the hot path:
// two clock reads (a plain context, not a Guard's Budget), building the
// Record in its queue slot and publishing it.
func BenchmarkWrap(b *testing.B) {
	l, err := Open(filepath.Join(b.TempDir(), FileName), Options{NoSync: true, MaxRecords: 200_000, MaxAge: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	s := sample()
	d := Wrap(fixedDecider{s.Decision()}, l)
	c := s.Call()
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_ = d.Decide(ctx, c)
		if i++; i%(DefaultQueueSize/2) == 0 {
			b.StopTimer()
			_ = l.Flush()
			b.StartTimer()
		}
	}
}
