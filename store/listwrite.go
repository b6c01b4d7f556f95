package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"callgate/e164"
	"callgate/store/kv"
)

// This file is the one write path of list content (AddToList,
// RemoveFromList, Import, subscriber deletion aside). A change is planned
// as one listEdit per list it touches. Edits that fit one transaction
// within etcd's default limits (kv.EtcdDefaults, on every backend, so a
// change behaves the same everywhere) are written in place, in the lists'
// effective generations, in one transaction. Larger ones are staged: the
// new content of every touched list is written under a fresh generation
// that nobody reads, in as many transactions as it takes, and then one
// small transaction commits the generation (writes gens/<gen>, switches
// meta/gen). Either way the change is all or nothing, and a process that
// dies while staging leaves only garbage (see keys.go, CollectGarbage).

// listEdit is the planned new content of one list.
type listEdit struct {
	l    listKey
	name string        // owner, for messages
	meta listMeta      // as planned
	old  []e164.Number // content as planned (the index's)
	next []e164.Number // content after the change
	// touched are the rows (sorted) whose note the change sets: to
	// noteOf(i), or removes ("").
	touched []e164.Number
	noteOf  func(i int) string
	// replaceNotes: every note of a row not in touched goes.
	replaceNotes bool
}

// errStage says an edit set is too large for one transaction.
var errStage = errors.New("too large for one transaction: stage it")

// atomicLimits is what a change may use to be written in one transaction.
func (s *Store) atomicLimits() kv.Limits { return s.kv.Limits().Min(kv.EtcdDefaults) }

// listAudit is who makes a list change and what it is called in the audit
// log; nil: not audited (a bulk load building a store).
type listAudit struct {
	actor Actor
	op    string
}

// listPlanner plans the edits of a change from the index (under applyMu).
// It runs again whenever the change must be replanned (a conflict, a
// commit that found a touched list changed).
type listPlanner func() ([]*listEdit, error)

// writeLists commits the edits plan returns, in place if they fit one
// transaction, else staged. progress, if set, sees rows written.
func (s *Store) writeLists(plan listPlanner, au *listAudit, progress func(ImportProgress)) error {
	return s.writeListsCtx(context.Background(), plan, au, progress)
}

// writeListsCtx is writeLists given up once ctx ends (writebound.go):
// either way the change is made wholly or not at all.
func (s *Store) writeListsCtx(ctx context.Context, plan listPlanner, au *listAudit, progress func(ImportProgress)) error {
	if err := s.wmu.lockCtx(ctx); err != nil {
		return err
	}
	if err := s.writable(); err != nil {
		s.wmu.Unlock()
		return err
	}
	budget := s.atomicLimits()
	if au != nil {
		// Room for the audit record (one put, its list sample bounded by
		// auditSample numbers).
		budget.MaxOps--
		budget.MaxBytes -= 16 << 10
	}
	err := s.writeLockedCtx(ctx, func(t *txn) error {
		edits, err := plan()
		if err != nil || len(edits) == 0 {
			return err
		}
		if len(edits) >= budget.MaxOps {
			return errStage
		}
		if err := s.inPlaceOps(t, edits, budget); err != nil {
			return err
		}
		if au != nil {
			if err := t.auditLists(au.actor, au.op, &s.ix, edits); err != nil {
				return err
			}
		}
		if progress != nil {
			rows := int64(0)
			for _, e := range edits {
				rows += int64(len(e.next))
			}
			progress(ImportProgress{PhaseWrite, 0, rows})
			progress(ImportProgress{PhaseCommit, rows, rows})
		}
		return nil
	})
	s.wmu.Unlock()
	if !errors.Is(err, errStage) {
		return err
	}
	return s.stage(ctx, plan, au, progress, false)
}

// inPlaceOps adds the writes of edits in their lists' effective
// generations to t, or returns errStage once t outgrows budget.
func (s *Store) inPlaceOps(t *txn, edits []*listEdit, budget kv.Limits) error {
	t.cmp(keyGen, s.ix.genMod) // an import committed meanwhile moves lists to other generations
	t.bump(keyListsEpoch)
	return s.kv.View(func(r kv.Reader) error {
		for _, e := range edits {
			g := e.meta.gen
			firsts, err := chunkFirsts(r, e.l, g)
			if err != nil {
				return err
			}
			rewriteList(t, e.l, g, firsts, e.old, e.next)
			if !t.fits(budget) {
				return errStage
			}
			noted, err := notedRows(r, e.l, g)
			if err != nil {
				return err
			}
			for i, n := range e.touched {
				if note := e.noteOf(i); note != "" {
					t.put(rowKey(bNotes, e.l, g, n), []byte(note))
				} else if _, ok := slices.BinarySearch(noted, n); ok {
					t.del(rowKey(bNotes, e.l, g, n))
				}
				if !t.fits(budget) {
					return errStage
				}
			}
			if e.replaceNotes {
				for _, n := range noted {
					if _, ok := slices.BinarySearch(e.touched, n); !ok {
						t.del(rowKey(bNotes, e.l, g, n))
					}
				}
			}
			t.cmp(lvKey(e.l), e.meta.lvRev)
			t.put(lvKey(e.l), u64(uint64(len(e.next))))
			if !t.fits(budget) {
				return errStage
			}
		}
		return nil
	})
}

// notedRows returns the rows of list l in generation gen that have a note.
func notedRows(r kv.Reader, l listKey, gen uint64) ([]e164.Number, error) {
	var out []e164.Number
	p := listGenPrefix(bNotes, l, gen)
	err := r.Range(p, prefixEnd(p), func(k, _ []byte, _ int64) error {
		out = append(out, rowNumber(k))
		return nil
	})
	return out, err
}

// genRecord is the value of gens/<gen> and staging/<gen>.
type genRecord struct {
	Started   time.Time `json:"started"`
	Committed time.Time `json:"committed,omitzero"`
	Lists     int       `json:"lists"`
	Rows      int       `json:"rows"`
}

// stage writes the edits under a new generation and commits it. held says
// the caller holds wmu (a bulk load); otherwise stage takes it only for
// its two short writes, so other writers go on while it stages. Once ctx
// ends it gives up the generation: nothing reads its rows unless its
// commit landed, which makes the change whole.
func (s *Store) stage(ctx context.Context, plan listPlanner, au *listAudit, progress func(ImportProgress), held bool) error {
	write := func(plan func(t *txn) error) error { return s.writeCtx(ctx, plan) }
	if held {
		write = func(plan func(t *txn) error) error { return s.writeLockedCtx(ctx, plan) }
	}
	report := func(ph ImportPhase, done, total int64) {
		if progress != nil {
			progress(ImportProgress{ph, done, total})
		}
	}
	// Plan once to know what to write; the commit plans again.
	s.applyMu.Lock()
	edits, err := plan()
	s.applyMu.Unlock()
	if err != nil || len(edits) == 0 {
		return err
	}
	rec := genRecord{Started: s.opts.Now().UTC()}
	var gen uint64
	var stagingRev int64
	err = write(func(t *txn) error {
		sq := s.ix.seqs[bGens]
		gen = sq.val + 1
		t.cmp(seqKey(bGens), sq.mod)
		t.put(seqKey(bGens), u64(gen))
		data, err := json.Marshal(&rec)
		if err != nil {
			return err
		}
		t.set(kv.PutEphemeral(genKey(bStaging, gen), data))
		return nil
	})
	if err != nil {
		return fmt.Errorf("start generation: %w", err)
	}
	s.applyMu.Lock()
	stagingRev = s.ix.staging[gen]
	s.applyMu.Unlock()
	if stagingRev == 0 {
		return fmt.Errorf("generation %d: staging record not applied", gen)
	}
	w := &stager{s: s, ctx: ctx, gen: gen, guard: kv.Cmp{Key: genKey(bStaging, gen), ModRev: stagingRev}}
	var total int64
	for _, e := range edits {
		total += int64(len(e.next))
	}
	report(PhaseWrite, 0, total)
	staged := map[listKey]*listEdit{}
	for _, e := range edits {
		if err := w.list(e, false); err != nil {
			return w.abandon(err)
		}
		staged[e.l] = e
		report(PhaseWrite, w.rows, total)
	}
	if err := w.flush(); err != nil {
		return w.abandon(err)
	}
	report(PhaseCommit, w.rows, total)
	for attempt := 1; ; attempt++ {
		var restage []*listEdit
		var lists, rows int
		err := write(func(t *txn) error {
			restage = restage[:0]
			now, err := plan()
			if err != nil {
				return err
			}
			lists, rows = len(now), 0
			for _, e := range now {
				rows += len(e.next)
				if old := staged[e.l]; old == nil || old.meta.rev() != e.meta.rev() {
					restage = append(restage, e)
				}
			}
			if len(restage) > 0 {
				return nil // restage first, then commit
			}
			rec.Committed, rec.Lists, rec.Rows = s.opts.Now().UTC(), lists, rows
			t.cmp(w.guard.Key, w.guard.ModRev)
			t.cmp(keyListsEpoch, s.ix.listsMod)
			t.cmp(keyGen, s.ix.genMod)
			if err := t.putJSON(genKey(bGens, gen), &rec); err != nil {
				return err
			}
			t.put(keyGen, u64(gen))
			t.bump(keyListsEpoch)
			t.del(genKey(bStaging, gen))
			if au != nil {
				return t.auditLists(au.actor, au.op, &s.ix, now)
			}
			return nil
		})
		if err != nil {
			if errors.Is(err, ErrContention) || errors.Is(err, kv.ErrConflict) {
				err = fmt.Errorf("%w (was the staging record lost? see CollectGarbage)", err)
			}
			return w.abandon(fmt.Errorf("commit generation %d: %w", gen, err))
		}
		if len(restage) == 0 {
			break
		}
		if attempt == maxAttempts {
			return w.abandon(fmt.Errorf("commit generation %d: %w (%d lists kept changing)", gen, ErrContention, len(restage)))
		}
		for _, e := range restage {
			if err := w.list(e, staged[e.l] != nil); err != nil {
				return w.abandon(err)
			}
			staged[e.l] = e
		}
		if err := w.flush(); err != nil {
			return w.abandon(err)
		}
	}
	s.background(ctx, func() { s.collectLists(edits) })
	return nil
}

// stager writes one generation's rows in transactions within the
// backend's limits, each guarded by the staging record.
type stager struct {
	s     *Store
	ctx   context.Context // the write's bound
	gen   uint64
	guard kv.Cmp
	t     txn
	rows  int64
}

// list writes e's whole content (rows and notes) under the generation;
// again replaces what an earlier list(e) wrote.
func (w *stager) list(e *listEdit, again bool) error {
	s, g := w.s, w.gen
	if again {
		if err := w.flush(); err != nil {
			return err
		}
		w.t.delPrefix(listGenPrefix(bEntries, e.l, g))
		w.t.delPrefix(listGenPrefix(bNotes, e.l, g))
		if err := w.flush(); err != nil {
			return err
		}
	}
	if err := w.addFlush(kv.Put(markKey(e.l, g), nil)); err != nil {
		return err
	}
	nums := e.next
	for len(nums) > 0 {
		n := min(len(nums), chunkTarget)
		if len(nums) <= chunkMax {
			n = len(nums)
		}
		if err := w.addFlush(kv.Put(rowKey(bEntries, e.l, g, nums[0]), encodeChunk(nums[:n]))); err != nil {
			return err
		}
		w.rows += int64(n)
		nums = nums[n:]
	}
	// Notes: the rows' own, then the old ones the change keeps.
	for i, n := range e.touched {
		if note := e.noteOf(i); note != "" {
			if err := w.addFlush(kv.Put(rowKey(bNotes, e.l, g, n), []byte(note))); err != nil {
				return err
			}
		}
	}
	if e.replaceNotes {
		return nil
	}
	var kept []kv.Op
	err := s.kv.View(func(r kv.Reader) error {
		p := listGenPrefix(bNotes, e.l, e.meta.gen)
		return r.Range(p, prefixEnd(p), func(k, v []byte, _ int64) error {
			n := rowNumber(k)
			if _, touched := slices.BinarySearch(e.touched, n); touched {
				return nil
			}
			if _, listed := slices.BinarySearch(e.next, n); listed {
				kept = append(kept, kv.Put(rowKey(bNotes, e.l, g, n), slices.Clone(v)))
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	for _, op := range kept {
		if err := w.addFlush(op); err != nil {
			return err
		}
	}
	return nil
}

// addFlush adds op, first sending what is collected if op would not fit.
func (w *stager) addFlush(op kv.Op) error {
	l := w.s.kv.Limits()
	if len(w.t.ops)+1 >= l.MaxOps || w.t.bytes+op.Size()+256 > l.MaxBytes {
		if err := w.flush(); err != nil {
			return err
		}
	}
	w.t.set(op)
	return nil
}

func (w *stager) flush() error {
	if len(w.t.ops) == 0 {
		return nil
	}
	w.t.cmps = append(w.t.cmps[:0], w.guard)
	_, err := w.s.kv.Txn(w.ctx, w.t.cmps, w.t.ops)
	w.t.reset()
	if errors.Is(err, kv.ErrConflict) {
		return fmt.Errorf("generation %d: staging record gone (lease lost or collected): %w", w.gen, err)
	}
	return err
}

// abandon gives up the generation: its staging record goes, so its rows
// are garbage for CollectGarbage, and err is returned. The delete is not
// bounded by the write's ctx (it is what ended the write, often), but the
// caller waits for it only as long as ctx allows. Its guard makes it
// nothing when the commit landed after all, and a commit that comes after
// it fails on the same guard: the change is whole or not made.
func (w *stager) abandon(err error) error {
	w.s.background(w.ctx, func() {
		_, derr := w.s.kv.Txn(context.Background(), []kv.Cmp{w.guard}, []kv.Op{kv.Delete(w.guard.Key)})
		if derr != nil && !errors.Is(derr, kv.ErrConflict) {
			w.s.report(fmt.Errorf("abandon generation %d: %w", w.gen, derr))
		}
	})
	return err
}

// collectLists removes the rows the edits' lists no longer use (their
// older generations), best effort: what it misses, CollectGarbage finds.
func (s *Store) collectLists(edits []*listEdit) {
	s.applyMu.Lock()
	ops := s.garbageOfLists(func(yield func(listKey) bool) {
		for _, e := range edits {
			if !yield(e.l) {
				return
			}
		}
	}, nil)
	s.applyMu.Unlock()
	if _, err := s.deleteInBatches(ops); err != nil {
		s.report(fmt.Errorf("collect garbage after an import: %w", err))
	}
}
