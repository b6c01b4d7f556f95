package store

import (
	"slices"
	"unsafe"

	"callgate/e164"
)

// The Blocked filters of subscribers live together in one arena, and each
// number's slot in byNumber says where its subscriber's filter lies there
// (numberSlot.hint, in the slot's 4 bytes of padding).
//
// Why: a call's look-up loads the number's slot, then views[id] and
// lists[id] (both indexed by the ID from the slot), then the Blocked
// list's filter block, whose address is in lists[id]: three dependent
// cache misses on a large store. With the hint, the block's address
// depends only on the slot, so LookupCall loads it together with views[id]
// and lists[id]: two levels of misses (BenchmarkViewColdAtOnce; numbers in
// bench/store/README.md).
//
// The hint is only a hint: LookupCall trusts the block it points at when
// the list header it loads anyway confirms that the list's filter is that
// very region of the arena (same first block, same length); otherwise it
// takes the filter from the header, as without an arena. So a missing or
// stale hint costs a miss, never a wrong answer, and the places that keep
// hints fresh (the applier, the index build) are an optimisation.
//
// Filters of more than maxRefBlocks blocks (lists of ~1,600 rows and more,
// rare for one subscriber) stay in their own allocation, without a hint.
//
// The arena is append-only: the applier copies a published list's filter
// in under mu.Lock (a few blocks) and the region of the filter it replaces
// becomes garbage. Published regions are never written again. When there
// is no room left, the applier packs the live filters into a new arena
// with as much room again (outside the lock), and under the lock points
// every packed list and every hint at it. So the arena holds at most about
// twice the live filters, and the packing's cost is spread over as many
// blocks of list changes as there were live blocks.

// filterRef is a filter's place in the arena: its first block's index
// (above refLenBits) and its length in blocks less one (below); 0 = none
// (block 0 of an arena is never used).
type filterRef uint32

const (
	refLenBits   = 5
	maxRefBlocks = 1 << refLenBits
	maxRefOff    = 1<<(32-refLenBits) - 1
	// minArenaBlocks is the smallest arena packed (64 KiB).
	minArenaBlocks = 1024
)

func makeRef(off, blocks int) filterRef {
	if off < 1 || off > maxRefOff || blocks < 1 || blocks > maxRefBlocks {
		return 0
	}
	return filterRef(off<<refLenBits | (blocks - 1))
}

func (r filterRef) off() int    { return int(r >> refLenBits) }
func (r filterRef) blocks() int { return int(r&(maxRefBlocks-1)) + 1 }

// filterArena holds subscribers' Blocked filters: blocks[1:] are filters
// one after another (some replaced: garbage), cap(blocks)-len(blocks) the
// room for more.
type filterArena struct {
	blocks []filterBlock
}

// arenaFits says whether a filter of n blocks gets a place in the arena.
func arenaFits(n int) bool { return n >= 1 && n <= maxRefBlocks }

// refOf returns where filter f lies in the arena (0: not there).
func (a *filterArena) refOf(f listFilter) filterRef {
	if !arenaFits(len(f)) || len(a.blocks) == 0 {
		return 0
	}
	// Address arithmetic only to find an offset; no pointer is made from
	// it.
	base := uintptr(unsafe.Pointer(unsafe.SliceData(a.blocks)))
	p := uintptr(unsafe.Pointer(unsafe.SliceData(f)))
	size := unsafe.Sizeof(filterBlock{})
	if p < base || p >= base+uintptr(len(a.blocks))*size {
		return 0
	}
	return makeRef(int((p-base)/size), len(f))
}

// block returns the block of the filter at r that hash h selects; nil when
// r is 0 or outside the arena.
func (a *filterArena) block(r filterRef, h uint64) *filterBlock {
	off, n := r.off(), r.blocks()
	if r == 0 || off+n > len(a.blocks) {
		return nil
	}
	return &a.blocks[off+int(blockOf(h, n))]
}

// holds says whether f is exactly the arena's filter at r.
func (a *filterArena) holds(r filterRef, f listFilter) bool {
	return r != 0 && len(f) == r.blocks() && r.off() < len(a.blocks) && &f[0] == &a.blocks[r.off()]
}

// room is how many blocks can be added without packing.
func (a *filterArena) room() int { return cap(a.blocks) - len(a.blocks) }

// place copies l's filter into the arena when it fits there and there is
// room, and points l at the copy. Caller holds mu.Lock (or owns the index
// exclusively); the room it writes is read by nobody.
func (a *filterArena) place(l *memberList) {
	n := len(l.filt)
	if !arenaFits(n) || len(a.blocks) == 0 || a.room() < n || len(a.blocks) > maxRefOff {
		return
	}
	off := len(a.blocks)
	a.blocks = append(a.blocks, l.filt...)
	l.filt = listFilter(a.blocks[off : off+n : off+n])
}

// packedFilters is a new arena with the live filters of the index it was
// packed from: at[id] is where subscriber id's Blocked filter lies in it
// (0: not packed).
type packedFilters struct {
	blocks []filterBlock
	at     []filterRef
}

// packFilters copies the subscribers' Blocked filters that fit the arena
// into a new one, with room for at least more blocks besides. It only
// reads the index: the applier calls it outside the lock.
func (ix *index) packFilters(more int) *packedFilters {
	live := 0
	for id := range ix.lists {
		if n := len(ix.lists[id][listSlot(ListBlocked)].filt); arenaFits(n) {
			live += n
		}
	}
	p := &packedFilters{
		blocks: make([]filterBlock, 1, max(minArenaBlocks, 1+2*(live+more))),
		at:     make([]filterRef, len(ix.lists)),
	}
	for id := range ix.lists {
		f := ix.lists[id][listSlot(ListBlocked)].filt
		if r := makeRef(len(p.blocks), len(f)); r != 0 {
			p.at[id] = r
			p.blocks = append(p.blocks, f...)
		}
	}
	return p
}

// installFilters makes p the index's arena: every packed list's filter is
// pointed at its copy (the same blocks) and every hint is set anew, from
// p.at (a sequential pass over the lists and one over the table, since it
// runs under the lock readers wait on). The lists must be those p was
// packed from. Caller holds mu.Lock (or owns the index exclusively).
func (ix *index) installFilters(p *packedFilters) {
	for id, r := range p.at {
		if r == 0 {
			continue
		}
		l := &ix.lists[id][listSlot(ListBlocked)]
		if len(l.filt) != r.blocks() {
			p.at[id] = 0 // not the list packed (cannot happen): keep it
			continue
		}
		off, end := r.off(), r.off()+r.blocks()
		l.filt = listFilter(p.blocks[off:end:end])
	}
	ix.filters = filterArena{blocks: p.blocks}
	ix.byNumber.setHints(func(id uint32) filterRef {
		if int(id) < len(p.at) {
			return p.at[id]
		}
		return 0
	})
}

// blockedRef is where subscriber id's Blocked filter lies in the arena.
func (ix *index) blockedRef(id uint32) filterRef {
	if int(id) < len(ix.lists) {
		return ix.filters.refOf(ix.lists[id][listSlot(ListBlocked)].filt)
	}
	return 0
}

// hintBlocked sets the hint of every number of subscriber id (after its
// record or its Blocked list changed). Caller holds mu.Lock.
func (ix *index) hintBlocked(id uint32) {
	st := ix.sub(id)
	if st == nil {
		return
	}
	h := ix.blockedRef(id)
	for _, n := range st.rec.Numbers {
		ix.byNumber.setHint(n, id, h)
	}
}

// inBlockedHinted is inList(id, Blocked, caller) for LookupCall: mayBe is
// what the hinted block (the arena's block for hint, issued before the
// list header arrives) says of the caller's hash, used when the header
// confirms the hint.
func (ix *index) inBlockedHinted(id uint32, hint filterRef, mayBe bool, caller e164.Number) bool {
	if int(id) >= len(ix.lists) {
		return false
	}
	l := &ix.lists[id][listSlot(ListBlocked)]
	if !ix.filters.holds(hint, l.filt) {
		return l.contains(caller)
	}
	if !mayBe {
		return false
	}
	_, found := slices.BinarySearch(l.rows, caller)
	return found
}
