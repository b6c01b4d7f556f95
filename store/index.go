package store

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"sync"

	"callgate/e164"

	bolt "go.etcd.io/bbolt"
)

// index is the in-memory read side, a pure function of the bbolt file. Lists
// are kept per (owner, list) as sorted []e164.Number (8 bytes a row, binary
// search), not as a Go map entry per row: 10,000,000 rows cost about 80 MB.
//
// Locking: readers take mu.RLock for one lookup. The writer (holding
// Store.wmu) builds replacement slices and records outside mu, then swaps
// them in under mu.Lock, so readers wait at most for a few pointer stores.
// Slices that have been published are never modified in place.
type index struct {
	mu sync.RWMutex

	byNumber map[e164.Number]uint32 // subscriber numbers
	entByNum map[e164.Number]uint32 // enterprise numbers
	// Hot per-subscriber data lives in value arrays indexed by ID, so a
	// lookup costs one dependent memory access less than going through
	// subs. views[id].ID == 0 means no such subscriber. Writers replace
	// elements (and grow the arrays) only under mu.Lock.
	views []SubscriberView   // effective settings
	lists [][2][]e164.Number // VIP, Blocked
	subs  []*subState        // by ID; nil = no such subscriber (cold data)
	provs []*provState       // by ID
	ents  []*Enterprise      // by ID

	subByName  map[string]uint32
	provByName map[string]uint32
	entByName  map[string]uint32

	routes       map[string]Route
	defaultRoute string
	defRoute     Route
	defRouteOK   bool

	rows rowCounts // list row totals for Counts, kept by setList/dropLists
}

type subState struct {
	rec Subscriber // as stored; slices never modified in place
	pin []byte     // bcrypt hash, nil = none
}

type provState struct {
	rec     Provider
	blocked []e164.Number
	route   Route // resolved egress route (own or platform default)
	routeOK bool
}

func listSlot(l List) int { return int(l) - 1 }

// ---- View (hot path): no allocation, no error, one read lock each ----

// Subscriber implements View.
func (s *Store) Subscriber(called e164.Number) (SubscriberView, bool) {
	ix := &s.ix
	ix.mu.RLock()
	id, ok := ix.byNumber[called]
	var v SubscriberView
	if ok {
		v = ix.views[id]
	}
	ix.mu.RUnlock()
	return v, ok
}

// InVIP implements View.
func (s *Store) InVIP(subscriber uint32, caller e164.Number) bool {
	return s.inList(subscriber, 0, caller)
}

// InBlocked implements View.
func (s *Store) InBlocked(subscriber uint32, caller e164.Number) bool {
	return s.inList(subscriber, 1, caller)
}

func (s *Store) inList(subscriber uint32, slot int, caller e164.Number) bool {
	ix := &s.ix
	ix.mu.RLock()
	found := false
	if int(subscriber) < len(ix.lists) {
		_, found = slices.BinarySearch(ix.lists[subscriber][slot], caller)
	}
	ix.mu.RUnlock()
	return found
}

// ProviderBlocked implements View.
func (s *Store) ProviderBlocked(provider uint32, caller e164.Number) bool {
	ix := &s.ix
	ix.mu.RLock()
	found := false
	if int(provider) < len(ix.provs) {
		if p := ix.provs[provider]; p != nil {
			_, found = slices.BinarySearch(p.blocked, caller)
		}
	}
	ix.mu.RUnlock()
	return found
}

// EgressRoute implements View: the provider's own route if it names one,
// else the platform default.
func (s *Store) EgressRoute(provider uint32) (Route, bool) {
	ix := &s.ix
	ix.mu.RLock()
	r, ok := ix.defRoute, ix.defRouteOK
	if int(provider) < len(ix.provs) {
		if p := ix.provs[provider]; p != nil {
			r, ok = p.route, p.routeOK
		}
	}
	ix.mu.RUnlock()
	return r, ok
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

// effective computes a subscriber's effective view: its own value where set
// and permitted, else the provider default, else the platform default.
func effective(sub *Subscriber, prov *Provider, hasPIN bool) SubscriberView {
	own, def, perm := sub.Settings, prov.Defaults, sub.Permissions
	v := SubscriberView{
		ID:       sub.ID,
		Provider: prov.ID,
		Name:     sub.Name,
		HasPIN:   hasPIN,
		Stir:     prov.Stir,
	}
	pickT := func(o, d, p Treatment, bit Permission) Treatment {
		if o != TreatUnset && perm&bit != 0 {
			return o
		}
		if d != TreatUnset {
			return d
		}
		return p
	}
	v.Unknown = pickT(own.Unknown, def.Unknown, PlatformDefaults.Unknown, PermUnknown)
	v.Anonymous = pickT(own.Anonymous, def.Anonymous, PlatformDefaults.Anonymous, PermAnonymous)
	rwm := PlatformDefaults.RejectWithMedia
	if own.RejectWithMedia != ToggleUnset && perm&PermRejectWithMedia != 0 {
		rwm = own.RejectWithMedia
	} else if def.RejectWithMedia != ToggleUnset {
		rwm = def.RejectWithMedia
	}
	v.RejectWithMedia = rwm == ToggleOn
	v.Voicemail = PlatformDefaults.Voicemail
	if own.Voicemail != "" && perm&PermVoicemail != 0 {
		v.Voicemail = own.Voicemail
	} else if def.Voicemail != "" {
		v.Voicemail = def.Voicemail
	}
	if v.Voicemail == VoicemailNone {
		v.Voicemail = "" // set explicitly to none, over the level above
	}
	v.Announcement = PlatformDefaults.Announcement
	if own.Announcement != 0 && perm&PermAnnouncement != 0 {
		v.Announcement = own.Announcement
	} else if def.Announcement != 0 {
		v.Announcement = def.Announcement
	}
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

// ---- building ----

// rebuildIndex scans the whole file and replaces the index.
func (s *Store) rebuildIndex() error {
	nx := index{
		byNumber:   make(map[e164.Number]uint32),
		entByNum:   make(map[e164.Number]uint32),
		subByName:  make(map[string]uint32),
		provByName: make(map[string]uint32),
		entByName:  make(map[string]uint32),
		routes:     make(map[string]Route),
	}
	err := s.db.View(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bktProviders).ForEach(func(k, v []byte) error {
			p := new(provState)
			if err := json.Unmarshal(v, &p.rec); err != nil {
				return fmt.Errorf("provider %x: %w", k, err)
			}
			nx.provs = growSet(nx.provs, p.rec.ID, p)
			nx.provByName[p.rec.Name] = p.rec.ID
			return nil
		}); err != nil {
			return err
		}
		pins := tx.Bucket(bktPINs)
		if err := tx.Bucket(bktSubscribers).ForEach(func(k, v []byte) error {
			st := new(subState)
			if err := json.Unmarshal(v, &st.rec); err != nil {
				return fmt.Errorf("subscriber %x: %w", k, err)
			}
			if h := pins.Get(k); h != nil {
				st.pin = slices.Clone(h)
			}
			nx.subs = growSet(nx.subs, st.rec.ID, st)
			nx.growSubs(st.rec.ID)
			nx.subByName[st.rec.Name] = st.rec.ID
			for _, n := range st.rec.Numbers {
				nx.byNumber[n] = st.rec.ID
			}
			return nil
		}); err != nil {
			return err
		}
		if err := tx.Bucket(bktEnterprises).ForEach(func(k, v []byte) error {
			e := new(Enterprise)
			if err := json.Unmarshal(v, e); err != nil {
				return fmt.Errorf("enterprise %x: %w", k, err)
			}
			nx.ents = growSet(nx.ents, e.ID, e)
			nx.entByName[e.Name] = e.ID
			for _, n := range e.Numbers {
				nx.entByNum[n] = e.ID
			}
			return nil
		}); err != nil {
			return err
		}
		if err := tx.Bucket(bktRoutes).ForEach(func(k, v []byte) error {
			var r Route
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("route %q: %w", k, err)
			}
			nx.routes[r.Name] = r
			return nil
		}); err != nil {
			return err
		}
		nx.defaultRoute = string(tx.Bucket(bktMeta).Get(keyDefaultRoute))
		return nx.loadEntries(tx)
	})
	if err != nil {
		return err
	}
	for _, st := range nx.subs {
		if st == nil {
			continue
		}
		p := nx.prov(st.rec.ProviderID)
		if p == nil {
			return fmt.Errorf("subscriber %s: provider id %d missing", st.rec.Name, st.rec.ProviderID)
		}
		st.rec.Provider = p.rec.Name
		nx.views[st.rec.ID] = effective(&st.rec, &p.rec, st.pin != nil)
	}
	for _, e := range nx.ents {
		if e != nil && e.ProviderID != 0 {
			if p := nx.prov(e.ProviderID); p != nil {
				e.Provider = p.rec.Name
			}
		}
	}
	nx.resolveRoutes()
	nx.countRows()

	s.ix.mu.Lock()
	defer s.ix.mu.Unlock()
	s.ix.byNumber, s.ix.entByNum = nx.byNumber, nx.entByNum
	s.ix.subs, s.ix.provs, s.ix.ents = nx.subs, nx.provs, nx.ents
	s.ix.views, s.ix.lists = nx.views, nx.lists
	s.ix.subByName, s.ix.provByName, s.ix.entByName = nx.subByName, nx.provByName, nx.entByName
	s.ix.routes, s.ix.defaultRoute = nx.routes, nx.defaultRoute
	s.ix.defRoute, s.ix.defRouteOK = nx.defRoute, nx.defRouteOK
	s.ix.rows = nx.rows
	return nil
}

// loadEntries walks the entries bucket once. Chunks are sorted by (kind,
// owner, list, first number), so every (owner, list) arrives as one
// ascending run; it is collected in a scratch buffer and copied out at its
// exact size.
func (ix *index) loadEntries(tx *bolt.Tx) error {
	var (
		scratch []e164.Number
		cur     [6]byte
		have    bool
	)
	flush := func() error {
		if !have || len(scratch) == 0 {
			return nil
		}
		kind, owner, list := cur[0], binary.BigEndian.Uint32(cur[1:5]), List(cur[5])
		dst, err := ix.listSlice(kind, owner, list)
		if err != nil {
			return err
		}
		*dst = slices.Clone(scratch)
		scratch = scratch[:0]
		return nil
	}
	c := tx.Bucket(bktEntries).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if len(k) != 14 {
			return fmt.Errorf("entries key %x: length %d, want 14", k, len(k))
		}
		if !have || string(k[:6]) != string(cur[:]) {
			if err := flush(); err != nil {
				return err
			}
			copy(cur[:], k[:6])
			have = true
		}
		var err error
		if scratch, err = appendChunk(scratch, k, v); err != nil {
			return err
		}
	}
	return flush()
}

// listSlice returns where the index keeps the given list.
func (ix *index) listSlice(kind byte, owner uint32, list List) (*[]e164.Number, error) {
	switch kind {
	case kindSubscriber:
		if ix.sub(owner) != nil && list.valid() {
			return &ix.lists[owner][listSlot(list)], nil
		}
	case kindProvider:
		if p := ix.prov(owner); p != nil && list == ListBlocked {
			return &p.blocked, nil
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
		ix.views = append(ix.views, make([]SubscriberView, n-len(ix.views))...)
		ix.lists = append(ix.lists, make([][2][]e164.Number, n-len(ix.lists))...)
	}
}

func growSet[T any](s []*T, id uint32, v *T) []*T {
	if int(id) >= len(s) {
		s = append(s, make([]*T, int(id)+1-len(s))...)
	}
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
