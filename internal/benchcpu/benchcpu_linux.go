//go:build linux

package benchcpu

import (
	"runtime"
	"syscall"
	"testing"
)

// Clock is a started measurement.
type Clock struct{ start int64 }

const rusageThread = 1 // RUSAGE_THREAD, Linux

func threadCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// Start locks the goroutine to its thread and notes the thread's CPU time.
func Start(*testing.B) *Clock {
	runtime.LockOSThread()
	return &Clock{start: threadCPU()}
}

// Stop reports the CPU time per operation over n operations.
func (c *Clock) Stop(b *testing.B, n int) {
	used := threadCPU() - c.start
	runtime.UnlockOSThread()
	if n > 0 && used > 0 {
		b.ReportMetric(float64(used)/float64(n), "cpu-ns/op")
	}
}
