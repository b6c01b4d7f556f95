package store

import (
	"encoding/binary"
	"slices"
	"time"
	"unsafe"

	"callgate/store/kv"
)

// GarbageRows counts list rows and notes no reader uses: outside their
// list's effective generation, or of owners that are gone.
func GarbageRows(s *Store) (int, error) {
	n := 0
	err := s.kv.View(func(r kv.Reader) error {
		gens, err := effectiveGens(r)
		if err != nil {
			return err
		}
		for _, b := range []string{bEntries, bNotes} {
			err := rangeBucket(r, b, func(k, _ []byte, _ int64) error {
				l, err := parseListKey(k)
				if err != nil {
					return err
				}
				s.ix.mu.RLock()
				owner := s.ix.listMeta(l) != nil
				s.ix.mu.RUnlock()
				if !owner || binary.BigEndian.Uint64(k[6:14]) != gens[[6]byte(k[:6])] {
					n++
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	return n, err
}

// CommittedGenerations lists the generations with a commit record, and
// meta/gen.
func CommittedGenerations(s *Store) ([]uint64, uint64) {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	var out []uint64
	for g := range s.ix.committed {
		out = append(out, g)
	}
	slices.Sort(out)
	return out, s.ix.gen
}

// AtomicLimits is what one change may use to be written in place.
func AtomicLimits(s *Store) kv.Limits { return s.atomicLimits() }

// SubscriberKeys counts the subscriber records, subscriber names and
// assigned numbers in the key space (not the index): what an import
// left behind shows as more keys than the index holds subscribers.
func SubscriberKeys(s *Store) (records, names, numbers int, err error) {
	err = s.kv.View(func(r kv.Reader) error {
		for _, c := range []struct {
			b string
			n *int
		}{{bSubscribers, &records}, {bNumbers, &numbers}} {
			if err := rangeBucket(r, c.b, func(_, _ []byte, _ int64) error { *c.n++; return nil }); err != nil {
				return err
			}
		}
		return rangeBucket(r, bNames, func(k, _ []byte, _ int64) error {
			if len(k) > 0 && k[0] == kindSubscriber {
				names++
			}
			return nil
		})
	})
	return records, names, numbers, err
}

// SubImports counts the subimports/ records the index knows of.
func SubImports(s *Store) int {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	return len(s.ix.subImports)
}

// StaleFilters counts the published lists (subscribers' and providers')
// whose membership filter is not the one their rows build: every list
// replacement must swap its filter with its rows (listfilter.go).
func StaleFilters(s *Store) int {
	s.ix.mu.RLock()
	defer s.ix.mu.RUnlock()
	n := 0
	check := func(l *memberList) {
		if want := newMemberList(l.rows); !slices.Equal(l.filt, want.filt) || l.small != want.small {
			n++
		}
	}
	for i := range s.ix.lists {
		for j := range s.ix.lists[i] {
			check(&s.ix.lists[i][j])
		}
	}
	for _, p := range s.ix.provs {
		if p != nil {
			for j := range p.lists {
				check(&p.lists[j])
			}
		}
	}
	return n
}

// StaleHints counts the subscriber numbers whose hint is not where their
// subscriber's Blocked filter lies in the filter arena (filterarena.go),
// and the subscribers' Blocked filters that would fit the arena but are
// not in it: each is a call that misses LookupCall's fast path.
func StaleHints(s *Store) (stale, outside int) {
	s.ix.mu.RLock()
	defer s.ix.mu.RUnlock()
	ix := &s.ix
	for n, id := range ix.byNumber.all() {
		if _, h, _ := ix.byNumber.getHinted(n); n != 0 && h != ix.blockedRef(id) {
			stale++
		}
	}
	for id, st := range ix.subs {
		if st != nil && arenaFits(len(ix.lists[id][listSlot(ListBlocked)].filt)) && ix.blockedRef(uint32(id)) == 0 {
			outside++
		}
	}
	return stale, outside
}

// RotateHints gives every subscriber number the hint of the next number
// in the table's order, as a stale hint pointing at another subscriber's
// filter would be.
func RotateHints(s *Store) {
	s.ix.mu.Lock()
	defer s.ix.mu.Unlock()
	var prev filterRef
	slots := s.ix.byNumber.slots
	for i := range slots {
		if slots[i].num != 0 {
			slots[i].hint, prev = prev, slots[i].hint
		}
	}
	for i := range slots {
		if slots[i].num != 0 {
			slots[i].hint = prev
			break
		}
	}
}

// FilterArena identifies the index's filter arena (a new value after each
// packing) and says how many blocks it holds.
func FilterArena(s *Store) (*[8]uint64, int) {
	s.ix.mu.RLock()
	defer s.ix.mu.RUnlock()
	return (*[8]uint64)(unsafe.SliceData(s.ix.filters.blocks)), len(s.ix.filters.blocks)
}

// RepackFilters packs the filter arena anew and installs it, as the
// applier does when the arena has no room left, and says how long each
// part took: packing runs outside the index lock, installing under it.
func RepackFilters(s *Store) (pack, install time.Duration) {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	t0 := time.Now()
	p := s.ix.packFilters(0)
	t1 := time.Now()
	s.ix.mu.Lock()
	s.ix.installFilters(p)
	s.ix.mu.Unlock()
	return t1.Sub(t0), time.Since(t1)
}
