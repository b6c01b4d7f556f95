package store

import (
	"fmt"
	"slices"

	"callgate/e164"

	bolt "go.etcd.io/bbolt"
)

// BulkLoader creates subscribers and list rows with few, large
// transactions. It exists for initial loads of big data sets and for test
// fixtures (store/storetest); day-to-day writes use the ordinary methods.
type BulkLoader struct {
	s       *Store
	tx      *bolt.Tx
	pending int // puts in the open transaction
	err     error
}

// bulkCommitEvery bounds the dirty pages one bulk transaction holds in memory.
const bulkCommitEvery = 1 << 20

// BulkLoad runs fn with a loader while holding the writer lock, committing
// every million or so rows, then rebuilds the in-memory index from the file.
// Unlike Import it is NOT atomic as a whole: if fn fails or the process
// dies, what was committed so far stays (each committed transaction is
// complete and consistent). The first error from any loader method is
// sticky: later calls return it and BulkLoad rolls back the open
// transaction.
func (s *Store) BulkLoad(fn func(*BulkLoader) error) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if err := s.writable(); err != nil {
		return fmt.Errorf("bulk load: %w", err)
	}
	l := &BulkLoader{s: s}
	err := fn(l)
	if err == nil {
		err = l.err
	}
	if err == nil {
		err = l.commit()
	}
	if l.tx != nil {
		_ = l.tx.Rollback()
		l.tx = nil
	}
	// The loader updated the index optimistically for name and number
	// checks; make it exactly what the file now holds.
	if rerr := s.rebuildIndex(); rerr != nil && err == nil {
		err = rerr
	}
	if err != nil {
		return fmt.Errorf("bulk load: %w", err)
	}
	return nil
}

func (l *BulkLoader) begin() error {
	if l.err != nil {
		return l.err
	}
	if l.tx == nil {
		tx, err := l.s.db.Begin(true)
		if err != nil {
			l.err = err
			return err
		}
		l.tx = tx
		// Bulk rows arrive in ascending key order: pack pages full.
		tx.Bucket(bktEntries).FillPercent = 1.0
	}
	return nil
}

func (l *BulkLoader) commit() error {
	if l.tx == nil {
		return nil
	}
	err := l.tx.Commit()
	l.tx, l.pending = nil, 0
	if err != nil {
		l.err = err
	}
	return err
}

func (l *BulkLoader) added(puts int) error {
	l.pending += puts
	if l.pending >= bulkCommitEvery {
		return l.commit()
	}
	return nil
}

// step is a txRunner for the shared write code.
func (l *BulkLoader) step(fn func(*bolt.Tx) error, apply func()) error {
	if err := l.begin(); err != nil {
		return err
	}
	if err := fn(l.tx); err != nil {
		l.err = err
		return err
	}
	apply()
	return l.added(4)
}

// CreateSubscriber is Store.CreateSubscriber inside the bulk load.
func (l *BulkLoader) CreateSubscriber(spec SubscriberSpec) (Subscriber, error) {
	if l.err != nil {
		return Subscriber{}, l.err
	}
	sub, err := l.s.createSubscriber(spec, l.step)
	if err != nil {
		l.err = err
		return Subscriber{}, fmt.Errorf("create subscriber: %w", err)
	}
	return sub, nil
}

// AddEntries puts numbers on owner's list (owner as for AddToList), with an
// optional note. Numbers need not be sorted or unique.
func (l *BulkLoader) AddEntries(owner string, list List, nums []e164.Number, note string) error {
	if err := l.begin(); err != nil {
		return err
	}
	o, err := l.s.ix.resolveOwner(owner)
	if err == nil {
		err = o.checkList(list)
	}
	if err == nil {
		note, err = checkNote(note)
	}
	for _, n := range nums {
		if err == nil && (n < 1000000 || n > 999999999999999) { // 7 to 15 digits
			err = fmt.Errorf("number %d: %w", uint64(n), ErrInvalid)
		}
	}
	if err != nil {
		l.err = fmt.Errorf("add entries for %s: %w", owner, err)
		return l.err
	}
	sorted := slices.Clone(nums)
	slices.Sort(sorted)
	sorted = slices.Compact(sorted)
	dst, err := l.s.ix.listSlice(o.kind, o.id, list)
	if err != nil {
		l.err = err
		return err
	}
	merged := mergeSorted(*dst, sorted)
	prefix := entryPrefix(o.kind, o.id, list)
	puts, err := rewriteList(l.tx.Bucket(bktEntries), prefix, *dst, merged)
	if err == nil && note != "" {
		err = setNotes(l.tx.Bucket(bktNotes), prefix, sorted, note)
		puts += len(sorted)
	}
	if err != nil {
		l.err = err
		return err
	}
	// Keep the index in step within the load (rebuilt exactly at the end).
	l.s.ix.mu.Lock()
	l.s.ix.setList(dst, o.kind, list, merged)
	l.s.ix.mu.Unlock()
	return l.added(puts + 1)
}
