package store

import (
	"unsafe"

	"callgate/e164"
	"callgate/internal/prefetch"
)

// PrefetchCall starts loading the cache line of called's slot in the
// subscriber number table, the first of LookupCall's dependent misses on a
// large store, and returns without waiting for it. A tier that knows the
// called number some hundreds of nanoseconds before the engine looks it up
// (the SCP, between decoding a query and the decision chain reaching the
// engine) calls it then, so that LookupCall's first load finds the line
// in cache (BenchmarkViewColdPrefetched; numbers in bench/store/README.md).
// It changes nothing and is never needed for a right answer.
func (s *Store) PrefetchCall(called e164.Number) {
	ix := &s.ix
	ix.mu.RLock()
	if t := &ix.byNumber; len(t.slots) > 0 && called != 0 {
		prefetch.Line(unsafe.Pointer(&t.slots[t.home(called)]))
	}
	ix.mu.RUnlock()
}

// PrefetchLookup starts loading what LookupCall reads once it has the
// called number's slot: the subscriber's view, the header of its lists
// and, by the slot's hint, the block of its Blocked filter that caller
// hashes to; it returns without waiting for them. It reads the slot
// itself, so it pays off once an earlier PrefetchCall had the time to
// bring the slot in: the SCP calls PrefetchCall when it has decoded the
// number and this when the decision chain starts, so that the chain's
// stages overlap the second level of misses as the decoding overlapped
// the first.
func (s *Store) PrefetchLookup(called, caller e164.Number) {
	ix := &s.ix
	ix.mu.RLock()
	if id, hint, ok := ix.byNumber.getHinted(called); ok && int(id) < len(ix.views) && int(id) < len(ix.lists) {
		v := unsafe.Pointer(&ix.views[id])
		prefetch.Line(v)
		prefetch.Line(unsafe.Add(v, unsafe.Sizeof(ix.views[id])-1))
		l := &ix.lists[id]
		prefetch.Line(unsafe.Pointer(&l[0]))
		prefetch.Line(unsafe.Pointer(&l[1]))
		if b := ix.filters.block(hint, filterHash(caller)); b != nil {
			prefetch.Line(unsafe.Pointer(b))
		}
	}
	ix.mu.RUnlock()
}
