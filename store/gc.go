package store

import (
	"context"
	"fmt"
	"iter"
	"slices"
	"time"

	"callgate/store/kv"
)

// GCStats says what CollectGarbage removed.
type GCStats struct {
	Lists       int // (list, generation) pairs whose rows were deleted
	Generations int // commit records deleted
	Ops         int // delete operations sent
	Audit       int // audit records deleted (beyond the count or age bound)
	Subscribers int // subscribers of abandoned bulk imports deleted
}

// CollectGarbage deletes what no reader uses any more: rows of
// generations an import abandoned (its process died or gave up), rows of
// generations shadowed by a later import, rows of owners deleted while an
// import staged them, commit records no list refers to, and the
// subscribers of bulk imports that died or gave up. It is safe to
// run at any time, on any number of nodes at once: it deletes only rows
// that can never become visible again. The store runs it every
// Options.GCInterval; after an import, the import's own lists are cleaned
// at once. It also deletes the audit records beyond Options.AuditMax and
// older than Options.AuditMaxAge.
func (s *Store) CollectGarbage() (GCStats, error) {
	if err := s.writableNow(); err != nil {
		return GCStats{}, err
	}
	var st GCStats
	s.applyMu.Lock()
	ops := s.garbageOfLists(func(yield func(listKey) bool) {
		seen := map[listKey]bool{}
		for _, ls := range s.ix.marks {
			for _, l := range ls {
				if !seen[l] {
					seen[l] = true
					if !yield(l) {
						return
					}
				}
			}
		}
	}, &st)
	s.applyMu.Unlock()
	err := s.kv.View(func(r kv.Reader) error {
		aops, err := s.auditGarbage(r)
		st.Audit = len(aops)
		ops = append(ops, aops...)
		return err
	})
	if err != nil {
		return st, fmt.Errorf("collect garbage: audit log: %w", err)
	}
	n, err := s.deleteInBatches(ops)
	st.Ops = n
	if err != nil {
		return st, fmt.Errorf("collect garbage: %w", err)
	}
	if st.Subscribers, err = s.collectSubImports(); err != nil {
		return st, fmt.Errorf("collect garbage: %w", err)
	}
	return st, nil
}

func (s *Store) writableNow() error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return s.writable()
}

// garbageOfLists returns the deletes that clean the given lists and the
// commit records left unused. Caller holds applyMu.
func (s *Store) garbageOfLists(lists iter.Seq[listKey], st *GCStats) []kv.Op {
	if st == nil {
		st = &GCStats{}
	}
	ix := &s.ix
	byList := map[listKey][]uint64{}
	for g, ls := range ix.marks {
		for _, l := range ls {
			byList[l] = append(byList[l], g)
		}
	}
	left := map[uint64]int{}
	for g, ls := range ix.marks {
		left[g] = len(ls)
	}
	var ops []kv.Op
	drop := func(l listKey, g uint64) {
		ops = append(ops, kv.DeletePrefix(listGenPrefix(bEntries, l, g)), kv.DeletePrefix(listGenPrefix(bNotes, l, g)))
		st.Lists++
	}
	_ = s.kv.View(func(r kv.Reader) error {
		for l := range lists {
			m := ix.listMeta(l)
			gens := byList[l]
			slices.Sort(gens)
			for _, g := range gens {
				_, committed := ix.committed[g]
				_, staging := ix.staging[g]
				switch {
				case m != nil && g == m.gen:
					continue
				case m != nil && staging && !committed:
					continue // an import is writing it
				}
				drop(l, g)
				ops = append(ops, kv.Delete(markKey(l, g)))
				left[g]--
			}
			if m != nil && m.gen != 0 && hasRows(r, l, 0) {
				drop(l, 0)
			}
		}
		return nil
	})
	for g := range ix.committed {
		if g != ix.gen && left[g] <= 0 {
			ops = append(ops, kv.Delete(genKey(bGens, g)))
			st.Generations++
		}
	}
	return ops
}

// hasRows reports whether list l has rows or notes in generation gen.
func hasRows(r kv.Reader, l listKey, gen uint64) bool {
	found := false
	for _, b := range []string{bEntries, bNotes} {
		p := listGenPrefix(b, l, gen)
		_ = r.Range(p, prefixEnd(p), func([]byte, []byte, int64) error {
			found = true
			return errStop
		})
	}
	return found
}

// deleteInBatches sends ops in transactions within the backend's limits
// and returns how many it sent.
func (s *Store) deleteInBatches(ops []kv.Op) (int, error) {
	max := s.kv.Limits().MaxOps
	sent := 0
	for len(ops) > 0 {
		n := min(len(ops), max)
		if _, err := s.kv.Txn(context.Background(), nil, ops[:n]); err != nil {
			return sent, err
		}
		sent += n
		ops = ops[n:]
	}
	return sent, nil
}

// gcLoop collects garbage once soon after Open and then every GCInterval.
func (s *Store) gcLoop() {
	defer close(s.gcDone)
	wait := time.Second
	for {
		select {
		case <-s.stopGC:
			return
		case <-time.After(wait):
		}
		wait = s.opts.GCInterval
		if _, err := s.CollectGarbage(); err != nil {
			s.report(err)
		}
	}
}
