package daemon

import (
	"log/slog"
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
