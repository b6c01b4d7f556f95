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
// What no watchdog could undo: a garbage collection stops the world, and
// stopping it waits until every goroutine that is running has stopped,
// the writer too, which needs its thread to get the CPU for a moment.
// While other processes keep every CPU busy the kernel gives an idle
// thread almost none, so the whole process, query path included, would
// wait with it, the watchdog (a goroutine) too. So the idle policy also
// needs CPUs with room: the watchdog samples the kernel's CPU pressure
// (PSI) every crowdCheck, and while some task waits for a CPU for half
// the time or more (other work crowds the machine) it raises the writer
// and keeps it at WriterNice until the pressure has stayed below that for
// crowdHold. Without PSI the writer does not go idle at all. What is left
// is a collection starting within one crowdCheck of the machine filling
// up while a commit runs (BenchmarkFreezeBesideBusyCPUs measures it;
// bench/scp/README.md has the numbers).
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
	// pressure samples the CPU pressure (idle mode only); crowded: it was
	// at crowdedShare or more within crowdHold, so the writer stays raised.
	pressure *cpuPressure
	crowded  atomic.Bool
}

// The CPU pressure above which other work crowds the machine and the
// writer leaves SCHED_IDLE (the share of time some task waited for a
// CPU), how often it is sampled, and how long it must stay below before
// the writer may go idle again.
const crowdedShare = 0.5

var (
	crowdCheck = 50 * time.Millisecond
	crowdHold  = 5 * time.Second
)

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
	p, err := openCPUPressure(cpuPressurePath)
	if err != nil {
		return fmt.Errorf("%w: it needs the kernel's CPU pressure to leave SCHED_IDLE when other work crowds the CPUs (%w)", errIdleRefused, err)
	}
	// It starts at nice, as if the CPUs were crowded: idle only once the
	// watchdog has seen them with room for crowdHold.
	s.pressure = p
	s.idleMode = true
	s.crowded.Store(true)
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
	if !s.idleMode || s.idle.Load() || s.crowded.Load() {
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

// watchIdleWriter raises the idle writer when other work crowds the CPUs
// (see above), and when records have waited while it did not come round
// its loop for two flush intervals (starved). It ends with the writer
// (done).
func (l *Log) watchIdleWriter(check, hold time.Duration) {
	defer l.sched.pressure.close()
	every := l.opts.FlushInterval
	t := time.NewTicker(min(check, every))
	defer t.Stop()
	var calm time.Duration // since when the pressure is below crowdedShare; 0: not yet
	for {
		select {
		case <-l.done:
			return
		case <-t.C:
		}
		share, err := l.sched.pressure.sample()
		now := monoSince()
		switch {
		case err != nil:
			// Blind: stay out of idle, as without PSI.
			if l.sched.crowded.CompareAndSwap(false, true) {
				l.opts.Logger.Warn("decision log writer leaves SCHED_IDLE: the CPU pressure cannot be read", "err", err)
			}
			calm = 0
		case share >= crowdedShare:
			l.sched.crowded.Store(true)
			calm = 0
		case calm == 0:
			calm = now
		case now-calm >= hold:
			l.sched.crowded.Store(false)
		}
		if !l.sched.idle.Load() {
			// Raised: back to idle once calm and caught up (the writer
			// does the same at each round, but may sleep a flush
			// interval).
			if !l.sched.crowded.Load() && l.queue.len() < l.queue.cap()/16 {
				if err := l.sched.lower(); err != nil {
					l.opts.Logger.Warn("decision log writer stays at writer_nice", "err", err)
				}
			}
			continue
		}
		// Waiting: queued, or taken from the queue into a batch whose
		// commit the writer has not finished (a starved commit holds its
		// records out of the queue for as long as it is starved).
		waiting := l.recorded.Load() - l.written.Load() - l.failed.Load()
		starved := waiting != 0 && now-time.Duration(l.sched.ran.Load()) >= 2*every
		if !l.sched.crowded.Load() && !starved {
			continue
		}
		if err := l.sched.raise(); err != nil && l.sched.raiseFailed.CompareAndSwap(false, true) {
			l.opts.Logger.Warn("decision log writer left under SCHED_IDLE while the CPUs are crowded or it is starved", "waiting", waiting, "err", err)
		}
	}
}
