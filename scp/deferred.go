package scp

import (
	"time"

	"callgate/sigtran/m3ua"
)

// Deferred decisions. A signal may have to wait for a look-up (a
// reputation provider asked about a caller it has not seen: up to
// reputation.budget). Waiting on an association's reader would hold up
// every query read after it; waiting on a worker, every query of its
// shard. So readers and workers decide under a Budget that allows
// deferring (policy.Defer): a stage that would wait says so instead,
// having started its look-up and changed nothing, and the query is
// received anew, decided and answered on a goroutine of its own, where
// the wait holds up nobody. Only a TerminationAttempt can be deferred
// (the stage that waits looks at incoming calls), and it always opens its
// transaction, so no later package of the dialogue can arrive before it
// is answered: it needs no place in its shard's order.
//
// At most maxDeferred queries are deferred at once (the signal bounds its
// own waits, reputation.max_waiting, far lower); past that a query that
// would wait waits where it is, as before.

// maxDeferred bounds the goroutines deciding deferred queries.
const maxDeferred = 256

// mayDefer reports whether a query decided on w may be deferred now.
func (s *Service) mayDefer(w *worker) bool {
	return !w.deferred && s.deferred.Load() < maxDeferred
}

// deferQuery hands the query being answered, whose decision was deferred,
// to a goroutine of its own: the transaction the query opened is
// forgotten, to be opened again when the copy is received there.
func (q *request) deferQuery() {
	s := q.s
	if q.v.HasDialogue {
		s.tx.End(q.v.Dialogue)
	}
	j := s.jobs.Get().(*job)
	j.snd, j.at = q.snd, q.arrived
	j.buf = append(j.buf[:0], q.pd.Data...)
	j.pd = q.pd
	j.pd.Data = j.buf
	s.deferred.Add(1)
	s.deferWG.Add(1)
	go s.runDeferred(j)
}

// runDeferred receives, decides and answers a deferred query on a scratch
// worker that does not defer.
func (s *Service) runDeferred(j *job) {
	defer s.deferWG.Done()
	w := s.scratch.Get().(*worker)
	w.deferred = true
	why := safeNone
	if time.Since(j.at) >= s.cfg.TimeBudget {
		why = safeStale
	}
	s.handle(w, j.snd, &j.pd, j.at, why)
	w.deferred = false
	s.scratch.Put(w)
	j.snd, j.pd = nil, m3ua.ProtocolData{}
	s.jobs.Put(j)
	s.deferred.Add(-1)
}
