package decisionlog

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// The writer's place in the CPU scheduler (Options.WriterIdle, Linux).
//
// At nice 10 a commit still takes a CPU for a few milliseconds at a time:
// the kernel does not count that CPU as free when it places a waking
// thread, so the query path's threads wake on the other CPU and queue
// behind one another there until the load balancer moves them. Under
// SCHED_IDLE the writer runs only on CPU time nothing else wants, and a
// CPU running only it counts as idle when a thread wakes: the query path
// lands there and preempts the commit at once.
//
// An idle thread may get no CPU at all on a saturated machine, and the
// queue would fill and Record drop. So the idle policy holds only while
// the writer keeps up: when Record kicks the writer and finds a quarter of
// the queue waiting (where batchDue starts catching up), it raises the
// writer to the normal policy at WriterNice, from its own thread since a
// starved writer cannot raise itself; the writer lowers itself again
// once the queue is down to a sixteenth.
//
// Nor does an idle writer get CPU while other work (another process)
// keeps every CPU busy, and at a low call rate the queue would take
// minutes to reach that quarter, the records meanwhile unwritten and not
// found by a search. So a watchdog goroutine, under the normal policy,
// also raises the writer when records wait and it has not come round its
// loop for two flush intervals, which it does at least once an interval
// when it gets the CPU.
//
// What no watchdog can undo: a garbage collection stops the world, and
// stopping it waits until every goroutine that is running has stopped,
// the writer too, which needs its thread to get the CPU for a moment.
// While other processes keep every CPU busy the kernel gives an idle
// thread almost none, so the whole process, query path included, waits
// with it, and the watchdog, being a goroutine, is stopped too. Under
// SCHED_IDLE that wait is far longer than at any nice value
// (BenchmarkFreezeBesideBusyCPUs; its numbers are in bench/scp/README.md).
// So WriterIdle is off unless asked for, and meant for a machine that runs
// nothing else busy.
//
// Leaving SCHED_IDLE takes CAP_SYS_NICE or an RLIMIT_NICE that allows the
// nice value, which an unprivileged process lacks. Before it lowers the
// writer, the log tries the round trip on a thread of its own that is
// then thrown away (leaveIdleAllowed); without the right the writer stays
// at WriterNice and the start-up log says why.

// errIdleRefused: the writer stays at WriterNice because the process may
// not bring a thread back from SCHED_IDLE (no CAP_SYS_NICE): the documented
// fallback, not a fault.
var errIdleRefused = errors.New("the decision log writer stays at writer_nice, not under SCHED_IDLE")

// writerSched is the writer thread's scheduling state.
type writerSched struct {
	mu   sync.Mutex // one policy change at a time: Record or the watchdog raises, the writer lowers
	tid  int        // the writer's own thread (WriterNice); 0: it has none
	nice int        // WriterNice, what a raised writer runs at
	// idleMode: WriterIdle took effect, so the writer lowers itself to
	// SCHED_IDLE whenever it has caught up.
	idleMode bool
	idle     atomic.Bool // it runs under SCHED_IDLE now
	// raised counts the times the writer was raised because it fell
	// behind or was starved (Stats.WriterRaised).
	raised atomic.Uint64
	// raiseFailed: a raise failed and was logged (once).
	raiseFailed atomic.Bool
	// ran is when the writer last came round its loop (monoSince).
	ran atomic.Int64
}

// schedEpoch is the origin of writerSched.ran: time.Since(schedEpoch)
// reads the monotonic clock alone.
var schedEpoch = time.Now()

// monoSince is the monotonic clock as time since schedEpoch.
func monoSince() time.Duration { return time.Since(schedEpoch) }

// start puts the calling thread, the writer's own, at nice, and then
// under SCHED_IDLE when idle is asked for and the process may raise it
// again. It returns why not otherwise.
func (s *writerSched) start(nice int, idle bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tid, s.nice = threadID(), nice
	if err := setThreadSched(s.tid, false, nice); err != nil {
		return fmt.Errorf("cannot take nice %d: %w", nice, err)
	}
	if !idle {
		return nil
	}
	if err := leaveIdleAllowed(nice); err != nil {
		return fmt.Errorf("%w: %w", errIdleRefused, err)
	}
	if err := setThreadSched(s.tid, true, nice); err != nil {
		return fmt.Errorf("cannot take SCHED_IDLE: %w", err)
	}
	s.idleMode = true
	s.idle.Store(true)
	return nil
}

// raise puts an idle writer back under the normal policy. It never waits:
// if the writer is changing its own policy just now, the next kick
// (another batch later) tries again.
func (s *writerSched) raise() error {
	if !s.mu.TryLock() {
		return nil
	}
	defer s.mu.Unlock()
	if !s.idle.Load() {
		return nil
	}
	if err := setThreadSched(s.tid, false, s.nice); err != nil {
		return fmt.Errorf("decision log writer (thread %d) cannot leave SCHED_IDLE: %w", s.tid, err)
	}
	s.idle.Store(false)
	s.raised.Add(1)
	return nil
}

// lower returns a raised writer to SCHED_IDLE; the writer calls it once
// it has caught up.
func (s *writerSched) lower() error {
	if !s.idleMode || s.idle.Load() {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.idle.Load() {
		return nil
	}
	if err := setThreadSched(s.tid, true, s.nice); err != nil {
		return err
	}
	s.idle.Store(true)
	return nil
}

// leaveIdleAllowed reports whether a thread of this process may go from
// SCHED_IDLE back to the normal policy at nice: it tries on a thread that
// exists for the purpose alone and is discarded whatever the outcome (a
// goroutine that ends locked to its thread takes the thread with it), so
// that no thread the process goes on using is left stuck idle.
func leaveIdleAllowed(nice int) error {
	res := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		tid := threadID()
		if err := setThreadSched(tid, true, nice); err != nil {
			res <- fmt.Errorf("cannot take SCHED_IDLE: %w", err)
			return
		}
		if err := setThreadSched(tid, false, nice); err != nil {
			res <- fmt.Errorf("a thread under SCHED_IDLE cannot return to nice %d (%w): give the process CAP_SYS_NICE or an RLIMIT_NICE of %d (systemd LimitNICE=+%d)",
				nice, err, 20-nice, nice)
			return
		}
		res <- nil
	}()
	return <-res
}

// watchIdleWriter raises the idle writer when records have waited while
// it did not come round its loop for two flush intervals (starved by
// other work). It ends with the writer (done).
func (l *Log) watchIdleWriter() {
	every := l.opts.FlushInterval
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-l.done:
			return
		case <-t.C:
		}
		// Waiting: queued, or taken from the queue into a batch whose
		// commit the writer has not finished (a starved commit holds its
		// records out of the queue for as long as it is starved).
		waiting := l.recorded.Load() - l.written.Load() - l.failed.Load()
		if !l.sched.idle.Load() || waiting == 0 || monoSince()-time.Duration(l.sched.ran.Load()) < 2*every {
			continue
		}
		if err := l.sched.raise(); err != nil && l.sched.raiseFailed.CompareAndSwap(false, true) {
			l.opts.Logger.Warn("decision log writer left under SCHED_IDLE while starved", "waiting", waiting, "err", err)
		}
	}
}
