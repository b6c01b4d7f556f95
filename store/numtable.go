package store

import (
	"iter"

	"callgate/e164"
)

// numberTable maps subscriber numbers to subscriber IDs for the hot path
// (Store.Subscriber): a flat open-addressing table, linear probing, the
// number and its ID side by side in one 16-byte slot (four to a cache
// line). A look-up hashes the number and reads consecutive slots from
// there: at most half the slots are used, so it is almost always one cache
// miss where Go's map (directory, table, group control word, slot) costs
// two or three when nothing is cached (BenchmarkViewCold).
//
// Deletion shifts the following entries of the probe run back instead of
// leaving tombstones, so look-ups never slow down with churn and the table
// never needs a rebuild for them. Number 0 is never a subscriber's number
// but is kept aside (zero, hasZero) so the table means exactly what a map
// would; the empty slot is num == 0.
//
// Like the map it replaces, the table is read under ix.mu.RLock and
// changed in place only under ix.mu.Lock (or before it is published). A
// growth copies every entry; the applier grows a copy outside the lock
// (grownFor) so readers never wait for it.
type numberTable struct {
	slots   []numberSlot // len 0 or a power of two
	n       int          // entries in slots (not counting zero)
	zero    uint32
	hasZero bool
}

type numberSlot struct {
	num e164.Number // 0: empty
	id  uint32
	// hint is where id's Blocked filter lies in the index's filter arena
	// (filterarena.go), kept in the slot's otherwise padding bytes so the
	// look-up can load the filter block without waiting for lists[id].
	// 0 = none. Readers check it against the list before trusting it.
	hint filterRef
}

// numberTableMinSlots is the smallest non-empty table.
const numberTableMinSlots = 16

// newNumberTable returns a table with room for n entries without growing.
func newNumberTable(n int) numberTable {
	var t numberTable
	if n > 0 {
		t.slots = make([]numberSlot, slotsFor(n))
	}
	return t
}

// slotsFor is the table size that holds n entries at a load of at most 1/2.
func slotsFor(n int) int {
	size := numberTableMinSlots
	for size < 2*n {
		size *= 2
	}
	return size
}

// home is where n's probe run starts: the low bits of a mixing hash
// (numbers come in consecutive ranges, which would fill one run unmixed).
func (t *numberTable) home(n e164.Number) int {
	return int(filterHash(n) & uint64(len(t.slots)-1))
}

// get returns n's ID.
func (t *numberTable) get(n e164.Number) (uint32, bool) {
	id, _, ok := t.getHinted(n)
	return id, ok
}

// getHinted returns n's ID and the hint stored with it (0 for number 0).
func (t *numberTable) getHinted(n e164.Number) (uint32, filterRef, bool) {
	if n == 0 {
		return t.zero, 0, t.hasZero
	}
	if len(t.slots) == 0 {
		return 0, 0, false
	}
	mask := len(t.slots) - 1
	for i := t.home(n); ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.num == n {
			return s.id, s.hint, true
		}
		if s.num == 0 {
			return 0, 0, false
		}
	}
}

// setHint stores h with n when n maps to id (else does nothing).
func (t *numberTable) setHint(n e164.Number, id uint32, h filterRef) {
	if n == 0 || len(t.slots) == 0 {
		return
	}
	mask := len(t.slots) - 1
	for i := t.home(n); ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.num == n {
			if s.id == id {
				s.hint = h
			}
			return
		}
		if s.num == 0 {
			return
		}
	}
}

// setHints replaces every entry's hint with hintOf(its ID).
func (t *numberTable) setHints(hintOf func(id uint32) filterRef) {
	for i := range t.slots {
		if s := &t.slots[i]; s.num != 0 {
			s.hint = hintOf(s.id)
		}
	}
}

// len returns the number of entries.
func (t *numberTable) len() int {
	if t.hasZero {
		return t.n + 1
	}
	return t.n
}

// set maps n to id, growing the table when it would be more than half
// full. n keeps its hint when it already mapped to id; else it has none.
func (t *numberTable) set(n e164.Number, id uint32) {
	if n == 0 {
		t.zero, t.hasZero = id, true
		return
	}
	if 2*(t.n+1) > len(t.slots) {
		if _, ok := t.get(n); !ok {
			*t = t.grownFor(1)
		}
	}
	mask := len(t.slots) - 1
	for i := t.home(n); ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.num == n {
			if s.id != id {
				s.id, s.hint = id, 0
			}
			return
		}
		if s.num == 0 {
			*s = numberSlot{num: n, id: id}
			t.n++
			return
		}
	}
}

// del removes n. The entries after it in its probe run that may move
// closer to their home move back one gap at a time (backward shift), so
// every entry stays reachable from its home without tombstones.
func (t *numberTable) del(n e164.Number) {
	if n == 0 {
		t.zero, t.hasZero = 0, false
		return
	}
	if len(t.slots) == 0 {
		return
	}
	mask := len(t.slots) - 1
	i := t.home(n)
	for ; t.slots[i].num != n; i = (i + 1) & mask {
		if t.slots[i].num == 0 {
			return // not there
		}
	}
	// i is the gap. Slide later entries of the run into it when the gap
	// lies on their probe path (between their home and their slot).
	for j := (i + 1) & mask; t.slots[j].num != 0; j = (j + 1) & mask {
		h := t.home(t.slots[j].num)
		// Distance from home to j versus from the gap to j, cyclically:
		// the entry may fill the gap when the gap is no nearer to j
		// than its home is.
		if (j-h)&mask >= (j-i)&mask {
			t.slots[i] = t.slots[j]
			i = j
		}
	}
	t.slots[i] = numberSlot{}
	t.n--
}

// all yields every entry, in no particular order.
func (t *numberTable) all() iter.Seq2[e164.Number, uint32] {
	return func(yield func(e164.Number, uint32) bool) {
		if t.hasZero && !yield(0, t.zero) {
			return
		}
		for _, s := range t.slots {
			if s.num != 0 && !yield(s.num, s.id) {
				return
			}
		}
	}
}

// grownFor returns a copy of t with room for more entries more without
// growing (t itself when it already has room): the applier builds it
// outside the index lock and swaps it in under the lock.
func (t *numberTable) grownFor(more int) numberTable {
	if 2*(t.n+more) <= len(t.slots) {
		return *t
	}
	return t.cloneFor(t.n + more)
}

// cloneFor returns a copy of t, sized for at least n entries (and for
// every entry of t).
func (t *numberTable) cloneFor(n int) numberTable {
	c := newNumberTable(max(n, t.n))
	c.zero, c.hasZero = t.zero, t.hasZero
	if len(c.slots) == 0 {
		return c
	}
	mask := len(c.slots) - 1
	for _, s := range t.slots {
		if s.num == 0 {
			continue
		}
		i := c.home(s.num)
		for c.slots[i].num != 0 {
			i = (i + 1) & mask
		}
		c.slots[i] = s
		c.n++
	}
	return c
}
