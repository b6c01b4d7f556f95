package daemon

import (
	"log/slog"
	"runtime"
	"runtime/debug"
	"testing"

	"callgate/internal/config"
)

// TestWriterProcs: one more P than the CPUs for the decision log's fsync,
// except under a CPU quota and on a single CPU.
func TestWriterProcs(t *testing.T) {
	for _, tc := range []struct{ gomaxprocs, cpus, want int }{
		{2, 2, 3},
		{8, 8, 9},
		{1, 1, 1}, // one CPU: a second P would only time-slice it
		{2, 4, 2}, // a CPU quota: the runtime started with fewer Ps than CPUs
	} {
		if got := writerProcs(tc.gomaxprocs, tc.cpus); got != tc.want {
			t.Errorf("writerProcs(%d Ps, %d CPUs) = %d, want %d", tc.gomaxprocs, tc.cpus, got, tc.want)
		}
	}
}

// TestSetGCPercent: gc_percent sets the collector's GOGC unless the
// operator set the GOGC environment variable, which wins.
func TestSetGCPercent(t *testing.T) {
	orig := debug.SetGCPercent(100)
	defer debug.SetGCPercent(orig)
	log := slog.New(slog.DiscardHandler)
	cfg := config.Default()
	cfg.GCPercent = 250
	t.Setenv("GOGC", "")
	setGCPercent(&cfg, log)
	if got := debug.SetGCPercent(100); got != 250 {
		t.Fatalf("gc_percent 250 gave GOGC %d", got)
	}
	t.Setenv("GOGC", "50")
	setGCPercent(&cfg, log)
	if got := debug.SetGCPercent(100); got != 100 {
		t.Fatalf("with GOGC set, gc_percent changed the collector to %d", got)
	}
}

// TestHugeHeap: huge_pages puts a large heap on huge pages (here the
// kernel can: Linux with THP "madvise" or "always"), and does nothing when
// off or while the heap is small.
func TestHugeHeap(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	cfg := config.Default()
	cfg.HugePages = false
	big := make([]byte, 2*hugeHeapMin)
	for i := range big {
		big[i] = byte(i)
	}
	if n := hugeHeap(&cfg, log); n != 0 {
		t.Errorf("huge_pages false: %d bytes collapsed", n)
	}
	cfg.HugePages = true
	if runtime.GOOS == "linux" {
		if n := hugeHeap(&cfg, log); n < hugeHeapMin {
			t.Errorf("a heap over %d MiB: %d bytes collapsed", 2*hugeHeapMin>>20, n)
		}
	}
	runtime.KeepAlive(big)
}
