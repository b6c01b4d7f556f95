// Package prefetch asks the CPU to start loading a cache line that will be
// needed soon, without waiting for it: a look-up whose address is known
// a few hundred nanoseconds before its result is (the SCP decodes the
// called number, then runs the decision chain, then looks the number up)
// can then find the line in cache instead of stalling on memory.
//
// Go has no prefetch intrinsic outside the runtime, so Line is one
// instruction of assembly on amd64 (PREFETCHT0) and arm64 (PRFM
// PLDL1KEEP), and does nothing elsewhere. A prefetch never faults and
// changes nothing a program can observe but timing.
package prefetch
