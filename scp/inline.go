package scp

import (
	"time"

	"callgate/sigtran/m3ua"
)

// Deciding on the reader. Handing a query from the association's reader
// goroutine to a worker costs a copy, a channel hand-off and, on an idle
// worker, waking a goroutine on another thread (futex calls, the
// scheduler, a spinning thread): more CPU than the engine's decision
// itself, which takes a microsecond or two. So by default each query is
// decided on the reader, in the order read, and its answer goes out with
// those of the rest of the batch the reader read, in one write
// (m3ua/outbox.go).
//
// The reader measures each query it decides, in wall time: a moving
// average (weight 1/inlineAvgWeight, each query counting at most
// inlineAvgClamp limits) over Config.InlineLimit means the engine (or a
// signal it waits for) is slow — five slow queries in a row are enough,
// while the odd query that took long only because the operating system
// gave the core to another process for a while, or a GC pause, is not —
// and the queries that follow then go to the workers for inlineHoldoff, in
// parallel and behind a bounded backlog with its stale-query shedding and
// rescue. Deciding inline resumes after that, once no query is waiting for
// a worker (so that no later package of a dialogue overtakes an earlier
// one still queued). With Config.Inline every query is decided on the
// reader whatever it costs.
//
// A decision stuck far past the time budget would hold up its whole
// association. The ticker notices a reader that has been inside one query
// for more than the time budget and has another goroutine take over
// reading the association (m3ua.Association.ReleaseReader), with a fresh
// scratch state; the stuck query is answered when its decision returns.

// inlineHoldoff is how long queries go to the workers once decisions are
// found slow; inlineAvgWeight weighs the newest query in the average, in
// which one query counts at most inlineAvgClamp inline limits.
const (
	inlineHoldoff   = time.Second
	inlineAvgWeight = 16
	inlineAvgClamp  = 5
)

// decideInline reports whether a query read at now is decided on the
// reader.
func (s *Service) decideInline(now time.Time) bool {
	if len(s.queues) == 0 {
		return true // Config.Inline
	}
	if s.cfg.InlineLimit < 0 {
		return false
	}
	return now.UnixNano() >= s.slowUntil.Load() && s.pending.Load() == 0
}

// handleInline decides and answers a query on the reader goroutine.
//
// now is when the query's batch was read (m3ua.Data.Received), earlier
// than its handling began by the queries before it in the batch: what
// the gate weighs is the handling alone, the answer's latency less that
// wait. The wait of a query that follows another decided here in the same
// batch ends when that one was done with (its answer's latency, read
// anyway), so only the first query of a batch reads the clock for it; the
// framing of the next message between the two counts as handling.
func (s *Service) handleInline(w *worker, snd sender, pd *m3ua.ProtocolData, now time.Time) {
	waited := w.lastDone
	if waited == 0 || !w.lastBatch.Equal(now) {
		waited = time.Since(now)
	}
	stamp := now.Add(waited).UnixNano() // when its handling began
	w.busy.Store(stamp)
	s.handle(w, snd, pd, now, safeNone)
	if !w.busy.CompareAndSwap(stamp, 0) {
		// The ticker gave up on this reader (releaseStuckReaders): another
		// one reads the association now, with its own scratch state.
		w.busy.Store(0)
		return
	}
	took := w.cur.took // the answer's latency, measured when it was queued
	if took == 0 {
		took = time.Since(now) // no answer
	}
	w.lastBatch, w.lastDone = now, took
	if len(s.queues) == 0 {
		return
	}
	took -= waited
	// One query counts at most inlineAvgClamp limits: a run of slow ones
	// trips the average, a lone stall (the operating system giving the
	// core to another process, a GC pause) does not.
	w.avg += (min(took, inlineAvgClamp*s.cfg.InlineLimit) - w.avg) / inlineAvgWeight
	if w.avg > s.cfg.InlineLimit {
		s.slowUntil.Store(now.Add(took + inlineHoldoff).UnixNano())
		if ok, n := s.inlineLog.Allow(time.Now(), time.Minute); ok {
			s.log.Info("scp: queries take longer than the inline limit to answer: handing them to the workers for a while",
				"average", w.avg.String(), "last", took.String(), "inline_limit", s.cfg.InlineLimit.String(),
				"for", inlineHoldoff.String(), "suppressed_since_last", n)
		}
		w.avg = 0
	}
}

// readerWorker returns the scratch state of a's reader goroutine, made on
// first use and kept with the association.
func (s *Service) readerWorker(a *m3ua.Association) *worker {
	if w, ok := a.Value().(*worker); ok {
		return w
	}
	return s.newReaderWorker(a)
}

func (s *Service) newReaderWorker(a *m3ua.Association) *worker {
	w := newWorker(-1)
	w.cnt = s.met.hot.shard()
	w.assoc = a
	a.SetValue(w)
	s.readersMu.Lock()
	s.readers = append(s.readers, w)
	s.readersMu.Unlock()
	return w
}

// releaseStuckReaders has a new goroutine take over reading each
// association whose reader has been deciding one query for longer than
// the time budget, and forgets the scratch states no reader uses any more.
func (s *Service) releaseStuckReaders(now time.Time) {
	s.readersMu.Lock()
	var stuck []*worker
	keep := s.readers[:0]
	for _, w := range s.readers {
		since := w.busy.Load()
		if since > 0 && now.UnixNano()-since >= int64(s.cfg.TimeBudget) && w.busy.CompareAndSwap(since, -1) {
			// Taken from the reader: it cannot finish this query as its
			// own any more (handleInline), and it is still inside it.
			stuck = append(stuck, w)
		}
		if since == 0 && w.busy.Load() == 0 && (w.assoc.Value() != w || isDone(w.assoc)) {
			continue // no reader uses it
		}
		keep = append(keep, w)
	}
	clear(s.readers[len(keep):])
	s.readers = keep
	s.readersMu.Unlock()
	for _, w := range stuck {
		// The next reader gets scratch state of its own before it can
		// read anything: the stuck one keeps w.
		a := w.assoc
		s.newReaderWorker(a)
		a.ReleaseReader() // false: it returned meanwhile and reads on, with the new state
		s.slowUntil.Store(now.Add(inlineHoldoff).UnixNano())
	}
}

func isDone(a *m3ua.Association) bool {
	select {
	case <-a.Done():
		return true
	default:
		return false
	}
}

// inlineBusy reports how many readers are deciding a query now.
func (s *Service) inlineBusy() int {
	s.readersMu.Lock()
	defer s.readersMu.Unlock()
	n := 0
	for _, w := range s.readers {
		if w.busy.Load() != 0 {
			n++
		}
	}
	return n
}
