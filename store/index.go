package store

import (
	"fmt"
	"slices"
	"sync"

	"callgate/e164"
)

// index is the in-memory read side, a pure function of the key space at
// revision rev. Lists are kept per (owner, list) as sorted []e164.Number (8
// bytes a row, binary search), not as a Go map entry per row: 10,000,000
// rows cost about 80 MB. Each list carries a membership filter built with
// its rows (memberList, listfilter.go: ~1.3 bytes a row more), so a caller
// on no list, the common case, is answered from one cache line instead of
// a binary search's five or so.
//
// The hot path of a call, when nothing is cached (a store of 100,000
// subscribers over 80 MB of lists): the called number's slot in byNumber
// (a flat open-addressing table, numtable.go: one miss), then, all three
// found from the slot alone, views[id] and lists[id] (the header of the
// VIP and Blocked lists, with a short list's filter inline) and the block
// of the Blocked list's filter (filterarena.go: the slot says where the
// subscriber's filter lies). LookupCall issues the loads of one level
// together so the CPU overlaps them: two levels of misses for a caller on
// no list (BenchmarkViewCold, BenchmarkViewColdAtOnce; numbers in
// bench/store/README.md). A long VIP list's filter is a third level.
//
// Locking: readers take mu.RLock for one lookup (LookupCall: for all of
// one call's). The change-feed applier (holding Store.applyMu, the only
// goroutine that changes the index) builds replacement slices, filters,
// records and a grown byNumber outside mu, then swaps them in under
// mu.Lock, so readers wait at most for a few pointer stores (and a few
// map and table entries set in place). Slices that have been published
// are never modified in place. Writers plan their transactions under
// applyMu and may read everything without mu.
type index struct {
	mu sync.RWMutex

	byNumber numberTable            // subscriber numbers (numtable.go)
	filters  filterArena            // subscribers' Blocked filters (filterarena.go)
	entByNum map[e164.Number]uint32 // enterprise numbers
	// Hot per-subscriber data lives in value arrays indexed by ID, so a
	// lookup costs one dependent memory access less than going through
	// subs. views[id].ID == 0 means no such subscriber. The applier
	// replaces elements (and grows the arrays) only under mu.Lock.
	views []SubscriberView // effective settings
	lists [][2]memberList  // VIP, Blocked (listfilter.go)
	subs  []*subState      // by ID; nil = no such subscriber (cold data)
	provs []*provState     // by ID
	ents  []*entState      // by ID

	subByName  map[string]uint32
	provByName map[string]uint32
	entByName  map[string]uint32
	subsOf     map[uint32]int // subscribers per provider ID (subcount.go)

	routes       map[string]Route
	defaultRoute string
	defRoute     Route
	defRouteOK   bool

	allocs []allocation // sorted by First, disjoint

	rows rowCounts // list row totals for Counts, kept by setList/dropLists

	// What writers compare against: mod revisions of what they read.
	rev             int64            // revision applied
	routeMod        map[string]int64 // routes/<name>
	defaultRouteMod int64            // meta/default_route
	gen             uint64           // meta/gen: generation committed last
	genMod          int64
	listsMod        int64 // meta/lists
	allocMod        int64 // meta/allocations
	seqs            map[string]seqState

	// List generations (see keys.go).
	committed map[uint64]int64     // gen -> revision its gens/ record was written at
	staging   map[uint64]int64     // gen -> mod revision of its staging/ record
	marks     map[uint64][]listKey // gen -> lists it holds

	// Bulk subscriber imports with a subimports/ record: subscribers in
	// the range of one not committed are left out (subimport_stage.go).
	// Bookkeeping of the applier (and of writers under applyMu).
	subImports map[uint64]subImport
}

// staged says whether subscriber id belongs to an import that is not
// committed: the index leaves it out.
func (ix *index) staged(id uint32) bool {
	for _, si := range ix.subImports {
		if !si.committed && id >= si.first && id <= si.last {
			return true
		}
	}
	return false
}

type seqState struct {
	val uint64
	mod int64
}

// listMeta is what the index knows about a list besides its rows.
type listMeta struct {
	gen    uint64 // effective generation (0: never imported in bulk)
	genRev int64  // revision gen was committed at (0 for generation 0)
	lvRev  int64  // mod revision of lv/<list>: last in-place change
}

// rev is the revision of the list's last change of content.
func (m listMeta) rev() int64 { return max(m.genRev, m.lvRev) }

type subState struct {
	rec Subscriber // as stored; slices never modified in place
	mod int64      // mod revision of its record
	pin []byte     // bcrypt hash, nil = none
	lm  [2]listMeta
}

type provState struct {
	rec     Provider
	mod     int64
	lists   [2]memberList // VIP and Blocked, by listSlot
	lm      [2]listMeta
	route   Route // resolved egress route (own or platform default)
	routeOK bool
}

type entState struct {
	rec Enterprise
	mod int64
}

type allocation struct {
	Range
	provider uint32
}

func listSlot(l List) int { return int(l) - 1 }

// ---- View (hot path): no allocation, no error, one read lock each ----
//
// Each method takes the read lock once around an index helper (below);
// LookupCall runs the helpers of one whole call under one lock.

// Subscriber implements View.
func (s *Store) Subscriber(called e164.Number) (SubscriberView, bool) {
	s.ix.mu.RLock()
	v, ok := s.ix.subscriber(called)
	s.ix.mu.RUnlock()
	return v, ok
}

// InVIP implements View.
func (s *Store) InVIP(subscriber uint32, caller e164.Number) bool {
	s.ix.mu.RLock()
	found := s.ix.inList(subscriber, listSlot(ListVIP), caller)
	s.ix.mu.RUnlock()
	return found
}

// InBlocked implements View.
func (s *Store) InBlocked(subscriber uint32, caller e164.Number) bool {
	s.ix.mu.RLock()
	found := s.ix.inList(subscriber, listSlot(ListBlocked), caller)
	s.ix.mu.RUnlock()
	return found
}

// ProviderBlocked implements View.
func (s *Store) ProviderBlocked(provider uint32, caller e164.Number) bool {
	s.ix.mu.RLock()
	found := s.ix.inProviderList(provider, listSlot(ListBlocked), caller)
	s.ix.mu.RUnlock()
	return found
}

// ProviderVIP implements View.
func (s *Store) ProviderVIP(provider uint32, caller e164.Number) bool {
	s.ix.mu.RLock()
	found := s.ix.inProviderList(provider, listSlot(ListVIP), caller)
	s.ix.mu.RUnlock()
	return found
}

// EgressRoute implements View: the provider's own route if it names one,
// else the platform default.
func (s *Store) EgressRoute(provider uint32) (Route, bool) {
	s.ix.mu.RLock()
	r, ok := s.ix.egressRoute(provider)
	s.ix.mu.RUnlock()
	return r, ok
}

// LookupCall implements CallViewer: every answer the engine's incoming
// chain may read for one call, under one read lock. The loads that depend
// only on the number's slot (the subscriber's view, its lists' header, its
// Blocked filter's block by the slot's hint) are issued together, so the
// CPU overlaps their cache misses, which separate calls (each behind a
// lock's atomic instruction) cannot.
func (s *Store) LookupCall(called, caller e164.Number) CallLookup {
	ix := &s.ix
	var c CallLookup
	ix.mu.RLock()
	id, hint, ok := ix.byNumber.getHinted(called)
	if ok {
		// The Blocked filter's block, by the slot's hint: its load does
		// not wait for lists[id] (filterarena.go).
		mayBe := true
		if b := ix.filters.block(hint, filterHash(caller)); b != nil {
			mayBe = b.mayContain(filterHash(caller))
		}
		c.Subscriber, c.Found = ix.views[id], true
		c.VIP = ix.inList(id, listSlot(ListVIP), caller)
		c.Blocked = ix.inBlockedHinted(id, hint, mayBe, caller)
	}
	c.ProviderVIP = ix.inProviderList(c.Subscriber.Provider, listSlot(ListVIP), caller)
	c.ProviderBlocked = ix.inProviderList(c.Subscriber.Provider, listSlot(ListBlocked), caller)
	c.Route, c.RouteOK = ix.egressRoute(c.Subscriber.Provider)
	ix.mu.RUnlock()
	return c
}

// The index helpers behind the View: caller holds mu (read or write).

func (ix *index) subscriber(called e164.Number) (SubscriberView, bool) {
	id, ok := ix.byNumber.get(called)
	if !ok {
		return SubscriberView{}, false
	}
	return ix.views[id], true
}

func (ix *index) inList(subscriber uint32, slot int, caller e164.Number) bool {
	if int(subscriber) < len(ix.lists) {
		return ix.lists[subscriber][slot].contains(caller)
	}
	return false
}

func (ix *index) inProviderList(provider uint32, slot int, caller e164.Number) bool {
	if int(provider) < len(ix.provs) {
		if p := ix.provs[provider]; p != nil {
			return p.lists[slot].contains(caller)
		}
	}
	return false
}

func (ix *index) egressRoute(provider uint32) (Route, bool) {
	if int(provider) < len(ix.provs) {
		if p := ix.provs[provider]; p != nil {
			return p.route, p.routeOK
		}
	}
	return ix.defRoute, ix.defRouteOK
}

// Enterprise reports which enterprise (internal ID) enrolled calling as one
// of its numbers. Hot-path safe like the View methods.
func (s *Store) Enterprise(calling e164.Number) (uint32, bool) {
	s.ix.mu.RLock()
	id, ok := s.ix.entByNum[calling]
	s.ix.mu.RUnlock()
	return id, ok
}

// ---- effective settings ----

// effective computes a subscriber's effective view: per setting, the
// level sources picks (setby.go): its own value where its manager set it
// or it set it with the permission, else the provider default, else the
// platform default.
func effective(sub *Subscriber, prov *Provider, hasPIN bool) SubscriberView {
	own, def, src := sub.Settings, prov.Defaults, sources(sub, prov)
	v := SubscriberView{
		ID:       sub.ID,
		Provider: prov.ID,
		Name:     sub.Name,
		HasPIN:   hasPIN,
		Stir:     prov.Stir,
		Signals:  prov.Signals,
	}
	pick := func(s Source) *Settings {
		switch s {
		case SourceProvider, SourceSubscriber:
			return &own
		case SourceProviderDefault:
			return &def
		}
		return &PlatformDefaults
	}
	v.Unknown = pick(src.Unknown).Unknown
	v.Anonymous = pick(src.Anonymous).Anonymous
	v.RejectWithMedia = pick(src.RejectWithMedia).RejectWithMedia == ToggleOn
	v.Voicemail = pick(src.Voicemail).Voicemail
	if v.Voicemail == VoicemailNone {
		v.Voicemail = "" // set explicitly to none, over the level above
	}
	v.Announcement = pick(src.Announcement).Announcement
	return v
}

// resolveRoutes recomputes every provider's resolved route. Called under
// ix.mu.Lock after a route or provider-route change (few providers).
func (ix *index) resolveRoutes() {
	ix.defRoute, ix.defRouteOK = ix.routes[ix.defaultRoute]
	if ix.defaultRoute == "" {
		ix.defRoute, ix.defRouteOK = Route{}, false
	}
	for _, p := range ix.provs {
		if p == nil {
			continue
		}
		p.route, p.routeOK = ix.defRoute, ix.defRouteOK
		if p.rec.Route != "" {
			if r, ok := ix.routes[p.rec.Route]; ok {
				p.route, p.routeOK = r, true
			}
		}
	}
}

// ---- helpers ----

// listSlice returns where the index keeps the given list.
func (ix *index) listSlice(kind byte, owner uint32, list List) (*memberList, error) {
	switch kind {
	case kindSubscriber:
		if ix.sub(owner) != nil && list.valid() {
			return &ix.lists[owner][listSlot(list)], nil
		}
	case kindProvider:
		if p := ix.prov(owner); p != nil && list.valid() {
			return &p.lists[listSlot(list)], nil
		}
	}
	return nil, fmt.Errorf("list rows for %c%d list %d: no such owner or list", kind, owner, list)
}

func (ix *index) sub(id uint32) *subState {
	if int(id) < len(ix.subs) {
		return ix.subs[id]
	}
	return nil
}

func (ix *index) prov(id uint32) *provState {
	if int(id) < len(ix.provs) {
		return ix.provs[id]
	}
	return nil
}

// growSubs makes views and lists long enough for subscriber id. Caller
// holds mu.Lock (or owns ix exclusively). Pointers into lists obtained
// before a growth must not be used after it: only subscriber creation
// grows, and no write path holds such a pointer across one.
func (ix *index) growSubs(id uint32) {
	if n := int(id) + 1; n > len(ix.views) {
		ix.views = growTo(ix.views, n)
		ix.lists = growTo(ix.lists, n)
	}
}

// growTo returns s lengthened to n zero elements more, doubling its
// capacity when it must grow (subscribers created one batch after another
// would otherwise copy the arrays once a batch). Elements past len are
// zero: nothing shortens these arrays.
func growTo[T any](s []T, n int) []T {
	if n <= len(s) {
		return s
	}
	if n <= cap(s) {
		return s[:n]
	}
	out := make([]T, n, max(n, 2*cap(s)))
	copy(out, s)
	return out
}

func growSet[T any](s []*T, id uint32, v *T) []*T {
	s = growTo(s, int(id)+1)
	s[id] = v
	return s
}

// mergeSorted returns the sorted union of two sorted, duplicate-free slices
// in a new slice.
func mergeSorted(a, b []e164.Number) []e164.Number {
	out := make([]e164.Number, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] < b[j]:
			out = append(out, a[i])
			i++
		case a[i] > b[j]:
			out = append(out, b[j])
			j++
		default:
			out = append(out, a[i])
			i++
			j++
		}
	}
	out = append(out, a[i:]...)
	out = append(out, b[j:]...)
	return slices.Clip(out)
}

// subtractSorted returns a minus b (both sorted) in a new slice.
func subtractSorted(a, b []e164.Number) []e164.Number {
	out := make([]e164.Number, 0, len(a))
	j := 0
	for _, x := range a {
		for j < len(b) && b[j] < x {
			j++
		}
		if j < len(b) && b[j] == x {
			continue
		}
		out = append(out, x)
	}
	return slices.Clip(out)
}

// listMeta returns the bookkeeping of list l (nil: no such owner or list).
func (ix *index) listMeta(l listKey) *listMeta {
	switch l.kind {
	case kindSubscriber:
		if st := ix.sub(l.owner); st != nil && l.list.valid() {
			return &st.lm[listSlot(l.list)]
		}
	case kindProvider:
		if p := ix.prov(l.owner); p != nil && l.list.valid() {
			return &p.lm[listSlot(l.list)]
		}
	}
	return nil
}

// content returns where the index keeps list l; the owner exists.
// The pointer is invalid after growSubs.
func (ix *index) content(l listKey) *memberList {
	if l.kind == kindProvider {
		return &ix.provs[l.owner].lists[listSlot(l.list)]
	}
	return &ix.lists[l.owner][listSlot(l.list)]
}

// allocationBelow returns the allocation with the greatest first number <= n.
func (ix *index) allocationBelow(n e164.Number) (allocation, bool) {
	i, found := slices.BinarySearchFunc(ix.allocs, n, func(a allocation, n e164.Number) int { return cmpU64(uint64(a.First), uint64(n)) })
	if found {
		return ix.allocs[i], true
	}
	if i == 0 {
		return allocation{}, false
	}
	return ix.allocs[i-1], true
}
