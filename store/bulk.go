package store

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"callgate/e164"
)

// BulkLoader creates subscribers and list rows with few, large
// transactions. It exists for initial loads of big data sets and for test
// fixtures (store/storetest); day-to-day writes use the ordinary methods.
type BulkLoader struct {
	s     *Store
	t     txn
	taken *bulkTaken
	lists map[listKey]*bulkList
	rows  int // rows pending in lists
	err   error
}

// bulkTaken is what the pending batch has given out: names, numbers and
// subscriber IDs the index does not know yet.
type bulkTaken struct {
	names   map[string]bool
	numbers map[e164.Number]uint32
	subs    map[string]uint32 // name -> id
	started bool
	next    uint32
	seqMod  int64
}

func (b *bulkTaken) nextID() uint32 {
	b.next++
	return b.next
}

// bulkList is the rows a batch adds to one list.
type bulkList struct {
	nums  []e164.Number // sorted, unique
	notes map[e164.Number]string
}

// bulkRowsEvery bounds the list rows one batch holds in memory.
const bulkRowsEvery = 1 << 20

// BulkLoad runs fn with a loader while holding the writer lock, committing
// in batches as large as the backend allows (a million or so rows on
// bbolt). Unlike Import it is NOT atomic as a whole: if fn fails or the
// process dies, what was committed so far stays (each committed batch is
// complete and consistent). The first error from any loader method is
// sticky: later calls return it and BulkLoad drops the pending batch.
func (s *Store) BulkLoad(fn func(*BulkLoader) error) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if err := s.writable(); err != nil {
		return fmt.Errorf("bulk load: %w", err)
	}
	l := &BulkLoader{s: s}
	l.reset()
	err := fn(l)
	if err == nil {
		err = l.err
	}
	if err == nil {
		err = l.flush()
	}
	if err != nil {
		return fmt.Errorf("bulk load: %w", err)
	}
	return nil
}

func (l *BulkLoader) reset() {
	l.t.reset()
	l.taken = &bulkTaken{names: map[string]bool{}, numbers: map[e164.Number]uint32{}, subs: map[string]uint32{}}
	l.lists = map[listKey]*bulkList{}
	l.rows = 0
}

// full says whether the batch should be committed before it grows.
func (l *BulkLoader) full() bool {
	lim := l.s.kv.Limits()
	return len(l.t.ops)+8 >= lim.MaxOps || len(l.t.cmps)+8 >= lim.MaxOps || l.t.bytes+4096 >= lim.MaxBytes ||
		l.rows >= bulkRowsEvery
}

// flush commits the pending subscribers, then the pending list rows.
func (l *BulkLoader) flush() error {
	s := l.s
	if len(l.t.ops) > 0 {
		if l.taken.started {
			l.t.cmp(seqKey(bSubscribers), l.taken.seqMod)
			l.t.put(seqKey(bSubscribers), u64(uint64(l.taken.next)))
		}
		if _, err := s.commit(&l.t); err != nil {
			return fmt.Errorf("commit a batch of subscribers: %w", err)
		}
	}
	keys := make([]listKey, 0, len(l.lists))
	for k := range l.lists {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b listKey) int {
		return cmpU64(makeGrp(a.kind, a.owner, a.list), makeGrp(b.kind, b.owner, b.list))
	})
	lim := s.kv.Limits()
	for len(keys) > 0 {
		// As many lists as fit one transaction; a list too large alone is
		// staged like an import.
		var t txn
		n := 0
		s.applyMu.Lock()
		var err error
		for n < len(keys) {
			var one txn
			if err = s.inPlaceOps(&one, []*listEdit{l.edit(keys[n])}, lim); err != nil {
				break
			}
			if n > 0 && (len(t.ops)+len(one.ops) > lim.MaxOps || len(t.cmps)+len(one.cmps) > lim.MaxOps || t.bytes+one.bytes > lim.MaxBytes) {
				break
			}
			for _, c := range one.cmps {
				t.cmp(c.Key, c.ModRev)
			}
			for _, op := range one.ops {
				t.set(op)
			}
			n++
		}
		s.applyMu.Unlock()
		switch {
		case n > 0:
			if _, err := s.commit(&t); err != nil {
				return fmt.Errorf("commit a batch of list rows: %w", err)
			}
		case errors.Is(err, errStage):
			k := keys[0]
			if err := s.stage(context.Background(), func() ([]*listEdit, error) { return []*listEdit{l.edit(k)}, nil }, nil, nil, true); err != nil {
				return fmt.Errorf("stage a large list: %w", err)
			}
			n = 1
		case err != nil:
			return err
		}
		keys = keys[n:]
	}
	l.reset()
	return nil
}

// edit plans the batch's rows of list k against the index. Caller holds
// applyMu; the owner exists (its creation was committed first).
func (l *BulkLoader) edit(k listKey) *listEdit {
	b := l.lists[k]
	old := l.s.ix.content(k).rows
	return &listEdit{l: k, meta: *l.s.ix.listMeta(k), old: old, next: mergeSorted(old, b.nums), touched: b.nums,
		noteOf: func(i int) string { return b.notes[b.nums[i]] }}
}

func (l *BulkLoader) fail(err error) error {
	l.err = err
	return err
}

// CreateSubscriber is Store.CreateSubscriber inside the bulk load, as
// the platform owner (a bulk load is the owner's own, so a refused number
// names its holder).
func (l *BulkLoader) CreateSubscriber(spec SubscriberSpec) (Subscriber, error) {
	if l.err != nil {
		return Subscriber{}, l.err
	}
	rec, err := l.s.subscriberRecord(spec)
	if err == nil {
		ix := &l.s.ix
		l.s.applyMu.Lock()
		if !l.taken.started {
			sq := ix.seqs[bSubscribers]
			l.taken.started, l.taken.next, l.taken.seqMod = true, uint32(sq.val), sq.mod
		}
		err = ix.planSubscriber(&l.t, Operator, &rec, spec, l.taken)
		if err == nil {
			// As found, not absent: a key a dead writer left is taken
			// over, as every assignment does (numberkeys.go).
			err = l.s.claimNumberKeys(&l.t, rec.Numbers, rec.ID)
		}
		l.s.applyMu.Unlock()
	}
	if err != nil {
		return Subscriber{}, l.fail(fmt.Errorf("create subscriber: %w", err))
	}
	l.taken.names[rec.Name] = true
	l.taken.subs[rec.Name] = rec.ID
	for _, n := range rec.Numbers {
		l.taken.numbers[n] = rec.ID
	}
	if l.full() {
		if err := l.flush(); err != nil {
			return Subscriber{}, l.fail(err)
		}
	}
	return rec, nil
}

// resolve finds an owner in the index or among the batch's subscribers.
func (l *BulkLoader) resolve(owner string) (ownerRef, error) {
	if id, ok := l.taken.subs[owner]; ok {
		return ownerRef{kindSubscriber, id, owner}, nil
	}
	if n, err := e164.Parse(owner); err == nil {
		if id, ok := l.taken.numbers[n]; ok {
			return ownerRef{kindSubscriber, id, owner}, nil
		}
	}
	l.s.ix.mu.RLock()
	defer l.s.ix.mu.RUnlock()
	return l.s.ix.resolveOwner(owner)
}

// AddEntries puts numbers on owner's list (owner as for AddToList), with an
// optional note. Numbers need not be sorted or unique.
func (l *BulkLoader) AddEntries(owner string, list List, nums []e164.Number, note string) error {
	if l.err != nil {
		return l.err
	}
	o, err := l.resolve(owner)
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
		return l.fail(fmt.Errorf("add entries for %s: %w", owner, err))
	}
	sorted := slices.Clone(nums)
	slices.Sort(sorted)
	sorted = slices.Compact(sorted)
	k := listKey{o.kind, o.id, list}
	b := l.lists[k]
	if b == nil {
		b = &bulkList{notes: map[e164.Number]string{}}
		l.lists[k] = b
	}
	l.rows += len(sorted)
	b.nums = mergeSorted(b.nums, sorted)
	for _, n := range sorted {
		if note != "" {
			b.notes[n] = note
		} else {
			delete(b.notes, n)
		}
	}
	if l.full() {
		if err := l.flush(); err != nil {
			return l.fail(err)
		}
	}
	return nil
}
