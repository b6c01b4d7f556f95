//go:build linux

package scp

import (
	"runtime"
	"syscall"
	"testing"
)

// cpuClock reports, next to the wall-clock ns/op, the CPU time the
// benchmark goroutine's thread spent per operation ("cpu-ns/op"): on a
// shared, overloaded machine wall time mostly measures waiting for a core.
type cpuClock struct{ start int64 }

const rusageThread = 1 // RUSAGE_THREAD, Linux

func threadCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

func startCPU(b *testing.B) *cpuClock {
	runtime.LockOSThread()
	return &cpuClock{start: threadCPU()}
}

func (c *cpuClock) stop(b *testing.B, n int) {
	used := threadCPU() - c.start
	runtime.UnlockOSThread()
	if n > 0 && used > 0 {
		b.ReportMetric(float64(used)/float64(n), "cpu-ns/op")
	}
}
