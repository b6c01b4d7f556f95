package scp

import "callgate/sigtran/m3ua"

// Handing queries to the workers a batch at a time. A query that is not
// decided on the reader is copied and held by the reader until the end of
// the batch it was read in (m3ua.Config.BatchEnd), or until maxHeld are
// held, and the held queries then go to their workers' queues in one go,
// in the order read. Sent one by one, each query could find its worker
// idle and wake it (a futex call and a context switch on each side, more
// CPU than deciding the query); sent together, the first wakes the worker
// and the rest are waiting for it when it looks. Held queries count as
// pending from the start, so the reader does not decide a later query
// inline while an earlier one of its dialogue is still held (decideInline),
// and a drain waits for them.

// maxHeld bounds the queries a reader holds before handing them on: what
// a long batch read first goes to the workers without waiting for the
// batch's end.
const maxHeld = 64

// hold keeps j, a copy of a query read by w's reader, for its worker.
func (s *Service) hold(w *worker, j *job) {
	s.pending.Add(1)
	w.held = append(w.held, j)
	if len(w.held) >= maxHeld {
		s.handOff(w)
	}
}

// batchEnd is the association reader's batch end (m3ua.Config.BatchEnd):
// the queries it held go to the workers before it writes the batch's
// answers and waits for more.
func (s *Service) batchEnd(a *m3ua.Association) {
	if w, ok := a.Value().(*worker); ok && len(w.held) > 0 {
		s.handOff(w)
	}
}

// handOff queues the queries w holds on their workers, in the order read.
// A query whose worker's backlog is full is answered on the reader with
// the safe answer and an ACG, without asking the engine.
func (s *Service) handOff(w *worker) {
	for k, j := range w.held {
		w.held[k] = nil
		select {
		case s.queues[j.queue] <- j:
			continue
		default:
		}
		s.handle(w, j.snd, &j.pd, j.at, safeBacklog)
		s.release(j)
	}
	w.held = w.held[:0]
}
