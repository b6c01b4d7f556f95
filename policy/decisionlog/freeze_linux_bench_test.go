package decisionlog

import (
	"io"
	"log/slog"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

//	go test -run '^$' -bench FreezeBesideBusyCPUs -benchtime 10x ./policy/decisionlog/
//
// BenchmarkFreezeBesideBusyCPUs is what the writer's place in the CPU
// scheduler costs the whole process while other processes keep every CPU
// busy. A garbage collection stops the world, and stopping it waits until
// every goroutine that is running has stopped, the writer's included; a
// writer thread the kernel gives little CPU holds the whole process for as
// long as it waits for that CPU. Two CPU-bound processes per CPU run beside
// the log, which records 50,000 decisions a second; each iteration is one
// runtime.GC. freeze-ms is the longest a goroutine that sleeps a
// millisecond at a time was kept from running, gc-ms the mean collection,
// raised/op how often the writer was raised out of SCHED_IDLE. The idle
// writer is idle when the processes start (the CPUs had room until then).
func BenchmarkFreezeBesideBusyCPUs(b *testing.B) {
	for _, c := range []struct {
		name string
		nice int
		idle bool
	}{{"goroutine", 0, false}, {"nice=10", 10, false}, {"idle", 10, true}} {
		b.Run("writer="+c.name, func(b *testing.B) {
			l, err := Open(filepath.Join(b.TempDir(), FileName), Options{MaxRecords: 200_000, MaxAge: -1, WriterNice: c.nice, WriterIdle: c.idle,
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			if c.idle {
				// The worst case: idle (the CPUs had room) when the
				// machine fills up.
				for end := time.Now().Add(crowdHold + 5*time.Second); !l.Stats().WriterIdle; time.Sleep(10 * time.Millisecond) {
					if time.Now().After(end) {
						b.Fatal("the writer never went idle: is this machine busy?")
					}
				}
			}
			busyCPUs(b, 2*runtime.NumCPU())

			stop := make(chan struct{})
			var wg sync.WaitGroup
			var freeze atomic.Int64
			wg.Add(2)
			go func() { // the decisions, a millisecond's worth at a time
				defer wg.Done()
				gen := newCallGen()
				for {
					select {
					case <-stop:
						return
					default:
					}
					for range 50 {
						r := gen.next()
						r.Time = time.Now()
						l.Record(*r)
					}
					time.Sleep(time.Millisecond)
				}
			}()
			go func() { // the rest of the process, as a query path would notice
				defer wg.Done()
				last := time.Now()
				for {
					select {
					case <-stop:
						return
					default:
					}
					time.Sleep(time.Millisecond)
					now := time.Now()
					if d := int64(now.Sub(last)); d > freeze.Load() {
						freeze.Store(d)
					}
					last = now
				}
			}()
			time.Sleep(200 * time.Millisecond) // the writer at work, the hogs scheduled
			raised0 := l.Stats().WriterRaised
			start := time.Now()
			for b.Loop() {
				runtime.GC()
				time.Sleep(50 * time.Millisecond)
			}
			elapsed := time.Since(start)
			close(stop)
			wg.Wait()
			b.ReportMetric(float64(freeze.Load())/1e6, "freeze-ms")
			b.ReportMetric(float64((elapsed-time.Duration(b.N)*50*time.Millisecond).Milliseconds())/float64(b.N), "gc-ms")
			b.ReportMetric(float64(l.Stats().WriterRaised-raised0)/float64(b.N), "raised/op")
		})
	}
}

// busyCPUs runs n CPU-bound processes until the benchmark ends.
func busyCPUs(b *testing.B, n int) {
	b.Helper()
	for range n {
		cmd := exec.Command("sh", "-c", "while :; do :; done")
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	}
}
