package reputation

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"callgate/e164"
	"callgate/policy"
	repsim "callgate/simulators/reputation"
)

// The benchmarks of bench/reputation/README.md.

// nanp is the i-th of a range of valid NANP calling numbers.
func nanp(i uint64) e164.Number {
	return e164.Number(16170000000 + (200+(i/10000)%800)*10000 + i%10000)
}

// BenchmarkCheckWarm: look-ups of 100,000 numbers, all cached.
func BenchmarkCheckWarm(b *testing.B) {
	sim, err := repsim.New(repsim.Config{})
	if err != nil {
		b.Fatal(err)
	}
	if err := sim.Start("127.0.0.1:0"); err != nil {
		b.Fatal(err)
	}
	defer sim.Close()
	p, _ := NewHTTPProvider(HTTPConfig{BaseURL: sim.URL()})
	defer p.Close()
	c, _ := NewChecker(p, Config{Budget: time.Second})
	const numbers = 100_000
	for i := uint64(0); i < numbers; i++ {
		c.Check(context.Background(), call(nanp(i)))
	}
	var seq atomic.Uint64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			cl := policy.Call{Calling: nanp(seq.Add(1) % numbers), Called: 13035550100}
			if _, look := c.Check(ctx, &cl); look.Cache != policy.CacheFresh {
				b.Errorf("not a fresh hit: %+v", look)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
}

// BenchmarkCheckMiss: every look-up a new number, asked of the simulator
// over loopback HTTP (keep-alive) with no added latency.
func BenchmarkCheckMiss(b *testing.B) {
	sim, err := repsim.New(repsim.Config{})
	if err != nil {
		b.Fatal(err)
	}
	if err := sim.Start("127.0.0.1:0"); err != nil {
		b.Fatal(err)
	}
	defer sim.Close()
	p, _ := NewHTTPProvider(HTTPConfig{BaseURL: sim.URL()})
	defer p.Close()
	c, _ := NewChecker(p, Config{Budget: time.Second})
	var seq atomic.Uint64
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			if band, _ := c.Check(ctx, call(nanp(seq.Add(1)))); band == 0 {
				b.Error("unknown")
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
}
