package decisionlog

import (
	"sync/atomic"
	"time"
)

// The writer's CPU comes in slices (Options.WriterSlice): while it keeps
// up, it pauses for writerPause whenever it has run for a slice since it
// woke or last paused, between records as it encodes them and between the
// steps of a commit. Its thread blocks meanwhile, so the kernel sees that
// CPU idle and moves threads queued on the other one (the query path's,
// the generator's) onto it. Without the pauses a commit of 8,192 records
// held a CPU for some 3 ms at once, and the threads that woke meanwhile
// queued on the other CPU for that long: on a 2-CPU host that was most of
// the SCP's answers over 2 ms at 200,000 q/s (bench/scp/README.md). The
// batch stays as large, so what a record costs hardly changes, where
// smaller batches cut the bursts at more CPU per record.
//
// A writer that is behind (a quarter of the queue waiting) never pauses:
// its bursts then are what keeps records from being dropped.

// writerPause is how long the writer pauses after a slice: long enough for
// the kernel to go idle on its CPU and pull queued threads over, short
// enough that the writer keeps up at a fraction of a CPU.
const writerPause = 100 * time.Microsecond

// encodeChunk is how many records are queued, with slices on, before the
// writer is woken to encode them: records are then encoded in short bursts
// as they arrive rather than a whole batch at once when it is due.
const encodeChunk = 1024

// breatheEvery is how many records the writer encodes between two looks
// at the clock.
const breatheEvery = 128

// pacer keeps the writer's slices.
type pacer struct {
	slice  time.Duration // 0: never pause
	since  time.Duration // when the current slice began (monoSince)
	pauses atomic.Uint64 // pauses taken (Stats.WriterPauses)
}

// wake starts a slice: the writer has just woken.
func (p *pacer) wake() {
	if p.slice > 0 {
		p.since = monoSince()
	}
}

// breathe pauses if the current slice is used up, unless the writer is
// behind. It reports whether it paused.
func (p *pacer) breathe(behind bool) bool {
	if p.slice <= 0 || behind || monoSince()-p.since < p.slice {
		return false
	}
	time.Sleep(writerPause)
	p.pauses.Add(1)
	p.since = monoSince()
	return true
}
