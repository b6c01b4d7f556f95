package daemon

import "testing"

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
