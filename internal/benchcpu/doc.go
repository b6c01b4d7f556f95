// Package benchcpu reports, next to a benchmark's wall-clock ns/op, the
// CPU time its goroutine's thread spent per operation ("cpu-ns/op"): on a
// shared, overloaded machine wall time mostly measures waiting for a core.
// Only benchmarks import it. Linux measures the thread (RUSAGE_THREAD);
// elsewhere nothing is reported.
package benchcpu
