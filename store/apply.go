package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"sync"

	"callgate/e164"
	"callgate/store/kv"
)

// This file is the only place the index changes after Open: the change
// feed's events, applied in revision order. An event is applied in two
// steps: first everything is decoded and every list whose content changed
// is read from the backend's snapshot (no lock: slow work, readers go on),
// then it is all published under one ix.mu.Lock, so the hot path sees a
// transaction entirely or not at all.

// onEvent is the backend subscription.
func (s *Store) onEvent(ev kv.Event) {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	if ev.Reset {
		if err := s.rebuildIndex(); err != nil {
			s.feedErrs.add(fmt.Errorf("revision %d: rebuild after a reset: %w", ev.Rev, err))
			s.report(err)
			s.setApplied(ev.Rev)
		}
		return
	}
	if ev.Rev <= s.ix.rev {
		return // in the snapshot the index was built from
	}
	if err := s.apply(ev); err != nil {
		err = fmt.Errorf("revision %d: %w", ev.Rev, err)
		s.feedErrs.add(err)
		s.report(err)
	}
	s.setApplied(ev.Rev)
}

// feedErrors counts events the index could not apply in full.
type feedErrors struct {
	mu   sync.Mutex
	n    int
	last error
}

func (f *feedErrors) add(err error) {
	f.mu.Lock()
	f.n++
	f.last = err
	f.mu.Unlock()
}

// FeedErrors returns how many change-feed events could not be applied in
// full (malformed values written by something else), and the last such
// error. Zero in a healthy store.
func (s *Store) FeedErrors() (int, error) {
	s.feedErrs.mu.Lock()
	defer s.feedErrs.mu.Unlock()
	return s.feedErrs.n, s.feedErrs.last
}

// pending is an event decoded, ready to publish.
type pending struct {
	rev     int64
	records []func(ix *index, d *dirty) // record changes, in key order of the event
	lists   map[listKey]*listLoad
	imports []*importedSubs // bulk subscriber imports the event commits
	errs    []error

	// numbers counts the subscriber numbers the records may add to
	// ix.byNumber; byNumber is the table grown for them, built before
	// publish takes the lock (nil: it has room).
	numbers  int
	byNumber *numberTable

	// filters is the filter arena packed anew (filterarena.go) when the
	// Blocked filters of this event do not fit the room left (nil: they
	// do), built before publish takes the lock.
	filters *packedFilters

	// chunks are the list generations whose rows (entries/) the event
	// changed; goneProvs the providers it deleted. Both are checked once
	// the whole event is known: callgate writes neither alone.
	chunks    []listGen
	goneProvs []uint32
	// seqs are the ID sequences (seq/) the event sets, for idAllocated.
	seqs map[string]uint64
}

// listGen is one generation of a list.
type listGen struct {
	l   listKey
	gen uint64
}

// listLoad is a list whose content is re-read.
type listLoad struct {
	gen    uint64
	genRev int64 // > 0: the event commits gen for this list
	nums   []e164.Number
	list   memberList // nums with its filter, built before publish takes the lock
	err    error
}

// dirty is what the record changes require afterwards.
type dirty struct {
	subs   map[uint32]bool // views to recompute
	provs  map[uint32]bool // views of all their subscribers to recompute
	routes bool
	ents   bool
}

// apply decodes ev, reads the lists it changed and publishes the result.
func (s *Store) apply(ev kv.Event) error {
	p := pending{rev: ev.Rev, lists: map[listKey]*listLoad{}}
	for _, c := range ev.Changes {
		// A record comes with the sequence that allocated its ID, in
		// whatever order the transaction put them.
		if rest, ok := bytes.CutPrefix(c.Key, seqPrefix); ok && !c.Deleted {
			if n, err := decodeU64(c.Value); err == nil {
				if p.seqs == nil {
					p.seqs = map[string]uint64{}
				}
				p.seqs[string(rest)] = n
			}
		}
	}
	var commits []uint64
	for _, c := range ev.Changes {
		b, ok := bucketOf(c.Key)
		if !ok {
			p.errs = append(p.errs, fmt.Errorf("key %q: not bucket/rest", c.Key))
			continue
		}
		rest := c.Key[len(b)+1:]
		if err := s.decode(&p, b, rest, c, &commits); err != nil {
			p.errs = append(p.errs, fmt.Errorf("%s/%x: %w", b, rest, err))
		}
	}
	// A commit makes its generation effective for every list it marks,
	// including marks written in this very transaction.
	ix := &s.ix
	for _, g := range commits {
		rev := ev.Rev
		for _, l := range ix.marks[g] {
			p.lists[l] = &listLoad{gen: g, genRev: rev}
		}
	}
	for l, ld := range p.lists {
		if ld.genRev == 0 {
			if m := ix.listMeta(l); m != nil {
				ld.gen = m.gen
			}
		}
	}
	// Rows follow their list's version: callgate changes the rows of a
	// list's effective generation only with its lv/ key (or commits a new
	// generation). Rows of that generation changed alone are a write the
	// index does not follow, while a restart reads it: say so.
	for _, c := range p.chunks {
		if _, reread := p.lists[c.l]; reread {
			continue
		}
		if m := ix.listMeta(c.l); m != nil && m.gen == c.gen {
			p.errs = append(p.errs, fmt.Errorf("rows of list %c%d/%s generation %d changed without its version (lv/): "+
				"this node keeps the list as it was, a restart reads the change; change lists through callgate", c.l.kind, c.l.owner, c.l.list, c.gen))
		}
	}
	if len(p.lists) > 0 {
		err := s.kv.View(func(r kv.Reader) error {
			for l, ld := range p.lists {
				ld.nums, ld.err = readList(r, l, ld.gen)
				ld.list = newMemberList(ld.nums)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	for _, im := range p.imports {
		if err := s.loadImported(im); err != nil {
			return err
		}
		if im.byNumber == nil {
			for _, st := range im.states {
				p.numbers += len(st.rec.Numbers)
			}
		}
	}
	// Growing the number table copies it: do that here, not under the
	// lock readers wait on (the applier is its only writer).
	if g := ix.byNumber.grownFor(p.numbers); len(g.slots) != len(ix.byNumber.slots) {
		p.byNumber = &g
	}
	// Likewise packing the filter arena when it has no room left.
	need := 0
	for l, ld := range p.lists {
		if n := len(ld.list.filt); l.kind == kindSubscriber && l.list == ListBlocked && arenaFits(n) {
			need += n
		}
	}
	if need > ix.filters.room() {
		p.filters = ix.packFilters(need)
	}
	s.publish(&p)
	for l, ld := range p.lists {
		if ld.err != nil {
			p.errs = append(p.errs, fmt.Errorf("list %c%d/%s: %w", l.kind, l.owner, l.list, ld.err))
		}
	}
	if len(p.errs) > 0 {
		return fmt.Errorf("%d change(s) not applied, first: %w", len(p.errs), p.errs[0])
	}
	return nil
}

// readList reads the rows of list l in generation gen.
func readList(r kv.Reader, l listKey, gen uint64) ([]e164.Number, error) {
	var out []e164.Number
	p := listGenPrefix(bEntries, l, gen)
	err := r.Range(p, prefixEnd(p), func(k, v []byte, _ int64) error {
		var err error
		out, err = appendChunk(out, k, v)
		return err
	})
	return slices.Clip(out), err
}

// decode turns one change into a record update (applied under the lock
// later) or bookkeeping, and notes the lists it changes. Bookkeeping that
// only the applier and planners read is changed later too, in order.
func (s *Store) decode(p *pending, b string, rest []byte, c kv.Change, commits *[]uint64) error {
	mod := c.ModRev
	if c.Deleted {
		mod = 0
	}
	add := func(f func(ix *index, d *dirty)) { p.records = append(p.records, f) }
	switch b {
	case bMeta:
		return s.decodeMeta(p, string(rest), c, mod)
	case bSeq:
		var n uint64
		if !c.Deleted {
			var err error
			if n, err = decodeU64(c.Value); err != nil {
				return err
			}
		}
		name := string(rest)
		if was := s.ix.seqs[name].val; n < was {
			// callgate only moves a sequence on: back, it would hand out
			// IDs again, and a restart refuses records beyond it.
			return fmt.Errorf("sequence moved back from %d to %d", was, n)
		}
		add(func(ix *index, _ *dirty) { ix.seqs[name] = seqState{n, mod} })
	case bRoutes:
		name := string(rest)
		var r Route
		if !c.Deleted {
			if err := json.Unmarshal(c.Value, &r); err != nil {
				return err
			}
			if r.Name != name {
				return fmt.Errorf("record named %q", r.Name)
			}
		}
		add(func(ix *index, d *dirty) {
			if c.Deleted {
				delete(ix.routes, name)
				delete(ix.routeMod, name)
			} else {
				ix.routes[name], ix.routeMod[name] = r, mod
			}
			d.routes = true
		})
	case bAllocations:
		if c.Deleted {
			if len(rest) != 8 {
				return fmt.Errorf("bad key length")
			}
			lo := e164.Number(binary.BigEndian.Uint64(rest))
			add(func(ix *index, _ *dirty) {
				ix.allocs = slices.DeleteFunc(slices.Clone(ix.allocs), func(a allocation) bool { return a.First == lo })
			})
			return nil
		}
		a, err := decodeAllocation(rest, c.Value)
		if err != nil {
			return err
		}
		add(func(ix *index, _ *dirty) { ix.allocs = putAllocation(ix.allocs, a) })
	case bProviders:
		return s.decodeProvider(p, rest, c, mod)
	case bSubscribers:
		return s.decodeSubscriber(p, rest, c, mod)
	case bPINs:
		if len(rest) != 4 {
			return fmt.Errorf("bad key length")
		}
		id, hash := binary.BigEndian.Uint32(rest), slices.Clone(c.Value)
		if c.Deleted {
			hash = nil
		}
		add(func(ix *index, d *dirty) {
			if st := ix.sub(id); st != nil {
				st.pin = hash
				d.subs[id] = true
			}
		})
	case bEnterprises:
		return s.decodeEnterprise(p, rest, c, mod)
	case bLV:
		l, err := parseListKey(rest)
		if err != nil {
			return err
		}
		if _, ok := p.lists[l]; !ok {
			p.lists[l] = &listLoad{}
		}
		add(func(ix *index, _ *dirty) {
			if m := ix.listMeta(l); m != nil {
				m.lvRev = mod
			}
		})
	case bMarks:
		l, g, err := parseMark(rest)
		if err != nil {
			return err
		}
		// Marks are bookkeeping of the applier alone: record at once, so a
		// commit in the same event sees them.
		ix := &s.ix
		if c.Deleted {
			ix.marks[g] = slices.DeleteFunc(ix.marks[g], func(x listKey) bool { return x == l })
			if len(ix.marks[g]) == 0 {
				delete(ix.marks, g)
			}
		} else if !slices.Contains(ix.marks[g], l) {
			ix.marks[g] = append(ix.marks[g], l)
		}
	case bGens:
		g, err := decodeU64(rest)
		if err != nil {
			return err
		}
		if c.Deleted {
			add(func(ix *index, _ *dirty) { delete(ix.committed, g) })
			return nil
		}
		*commits = append(*commits, g)
		add(func(ix *index, _ *dirty) { ix.committed[g] = mod })
	case bStaging:
		g, err := decodeU64(rest)
		if err != nil {
			return err
		}
		add(func(ix *index, _ *dirty) {
			if c.Deleted {
				delete(ix.staging, g)
			} else {
				ix.staging[g] = mod
			}
		})
	case bSubImports:
		// Bookkeeping of the applier alone, recorded at once: the import's
		// subscribers arrive in later events and are told apart by it.
		ix := &s.ix
		if c.Deleted {
			g, err := decodeU64(rest)
			if err != nil {
				return err
			}
			delete(ix.subImports, g)
			return nil
		}
		g, si, err := decodeSubImport(rest, c.Value)
		if err != nil {
			return err
		}
		if err := idAllocated(bSubscribers, si.last, s.ix.seqs, p.seqs); err != nil {
			return fmt.Errorf("import's last subscriber: %w", err)
		}
		was := ix.subImports[g]
		ix.subImports[g] = si
		if si.committed && !was.committed {
			p.imports = append(p.imports, &importedSubs{gen: g, first: si.first, last: si.last})
		}
	case bEntries:
		// Read when lv/ or gens/ says the list changed; checked in apply.
		// Open refuses a malformed key, so the feed does too.
		if len(rest) != 22 {
			return fmt.Errorf("bad key length %d, want 22", len(rest))
		}
		l, err := parseListKey(rest)
		if err != nil {
			return err
		}
		p.chunks = append(p.chunks, listGen{l, binary.BigEndian.Uint64(rest[6:14])})
	case bNotes, bNames, bNumbers, bFraud, bAPITokens, bAudit, bWebUsers, bPINLocks:
		// Notes of list rows, names and numbers are
		// derived from the records; the fraud signal, the admin API's
		// credentials, the audit log, web logins and PIN lockouts are read
		// from the kv when needed.
	default:
		return fmt.Errorf("unknown bucket")
	}
	return nil
}

func (s *Store) decodeMeta(p *pending, name string, c kv.Change, mod int64) error {
	add := func(f func(ix *index, d *dirty)) { p.records = append(p.records, f) }
	switch name {
	case "default_route":
		route := string(c.Value)
		add(func(ix *index, d *dirty) { ix.defaultRoute, ix.defaultRouteMod, d.routes = route, mod, true })
	case "gen":
		var g uint64
		if !c.Deleted {
			var err error
			if g, err = decodeU64(c.Value); err != nil {
				return err
			}
		}
		add(func(ix *index, _ *dirty) { ix.gen, ix.genMod = g, mod })
	case "lists":
		add(func(ix *index, _ *dirty) { ix.listsMod = mod })
	case "allocations":
		add(func(ix *index, _ *dirty) { ix.allocMod = mod })
	case "schema":
		if c.Deleted || len(c.Value) != 4 {
			return fmt.Errorf("the schema version was deleted or damaged (%d bytes): this node goes on, a restart refuses the store; write it back (%d)", len(c.Value), SchemaVersion)
		}
		switch v := binary.BigEndian.Uint32(c.Value); {
		case v < SchemaVersion:
			return fmt.Errorf("schema version %d written over %d: this node goes on, a restart would take the store for an old one; write it back", v, SchemaVersion)
		case v > SchemaVersion:
			return fmt.Errorf("schema version %d written by another node: %w; upgrade this node", v, ErrSchemaNewer)
		}
	default:
		return fmt.Errorf("unknown meta key")
	}
	return nil
}

func (s *Store) decodeProvider(p *pending, rest []byte, c kv.Change, mod int64) error {
	if len(rest) != 4 {
		return fmt.Errorf("bad key length")
	}
	id := binary.BigEndian.Uint32(rest)
	if c.Deleted {
		p.goneProvs = append(p.goneProvs, id)
		p.records = append(p.records, func(ix *index, d *dirty) {
			if pr := ix.prov(id); pr != nil {
				ix.rows.provVIP -= len(pr.lists[listSlot(ListVIP)].rows)
				ix.rows.provBlocked -= len(pr.lists[listSlot(ListBlocked)].rows)
				delete(ix.provByName, pr.rec.Name)
				ix.provs[id] = nil
				d.routes = true
			}
		})
		return nil
	}
	var rec Provider
	if err := json.Unmarshal(c.Value, &rec); err != nil {
		return err
	}
	if rec.ID != id {
		return fmt.Errorf("record has id %d", rec.ID)
	}
	if err := idAllocated(bProviders, id, s.ix.seqs, p.seqs); err != nil {
		return err
	}
	p.records = append(p.records, func(ix *index, d *dirty) {
		if pr := ix.prov(id); pr != nil {
			if pr.rec.Name != rec.Name {
				delete(ix.provByName, pr.rec.Name)
			}
			pr.rec, pr.mod = rec, mod
		} else {
			ix.provs = growSet(ix.provs, id, &provState{rec: rec, mod: mod})
		}
		ix.provByName[rec.Name] = id
		d.provs[id], d.routes, d.ents = true, true, true
	})
	return nil
}

func (s *Store) decodeSubscriber(p *pending, rest []byte, c kv.Change, mod int64) error {
	if len(rest) != 4 {
		return fmt.Errorf("bad key length")
	}
	id := binary.BigEndian.Uint32(rest)
	if s.ix.staged(id) {
		return nil // an import's, not committed: see subimport_stage.go
	}
	if c.Deleted {
		p.records = append(p.records, func(ix *index, d *dirty) {
			st := ix.sub(id)
			if st == nil {
				return
			}
			for _, n := range st.rec.Numbers {
				if got, _ := ix.byNumber.get(n); got == id {
					ix.byNumber.del(n)
				}
			}
			delete(ix.subByName, st.rec.Name)
			ix.countSubscriber(st.rec.ProviderID, -1)
			ix.subs[id] = nil
			ix.views[id] = SubscriberView{}
			ix.dropLists(id)
			ix.lists[id] = [2]memberList{}
			delete(d.subs, id)
		})
		return nil
	}
	var rec Subscriber
	if err := json.Unmarshal(c.Value, &rec); err != nil {
		return err
	}
	if rec.ID != id {
		return fmt.Errorf("record has id %d", rec.ID)
	}
	if err := idAllocated(bSubscribers, id, s.ix.seqs, p.seqs); err != nil {
		return err
	}
	p.numbers += len(rec.Numbers)
	p.records = append(p.records, func(ix *index, d *dirty) {
		st := ix.sub(id)
		if st == nil {
			st = &subState{}
			ix.subs = growSet(ix.subs, id, st)
			ix.growSubs(id)
			ix.countSubscriber(rec.ProviderID, 1)
		} else {
			if st.rec.ProviderID != rec.ProviderID {
				ix.countSubscriber(st.rec.ProviderID, -1)
				ix.countSubscriber(rec.ProviderID, 1)
			}
			for _, n := range st.rec.Numbers {
				if got, _ := ix.byNumber.get(n); got == id && !slices.Contains(rec.Numbers, n) {
					ix.byNumber.del(n)
				}
			}
			if st.rec.Name != rec.Name {
				delete(ix.subByName, st.rec.Name)
			}
		}
		for _, n := range rec.Numbers {
			ix.byNumber.set(n, id)
		}
		ix.subByName[rec.Name] = id
		st.rec, st.mod = rec, mod
		d.subs[id] = true
	})
	return nil
}

func (s *Store) decodeEnterprise(p *pending, rest []byte, c kv.Change, mod int64) error {
	if len(rest) != 4 {
		return fmt.Errorf("bad key length")
	}
	id := binary.BigEndian.Uint32(rest)
	var rec Enterprise
	if !c.Deleted {
		if err := json.Unmarshal(c.Value, &rec); err != nil {
			return err
		}
		if rec.ID != id {
			return fmt.Errorf("record has id %d", rec.ID)
		}
		if err := idAllocated(bEnterprises, id, s.ix.seqs, p.seqs); err != nil {
			return err
		}
	}
	p.records = append(p.records, func(ix *index, d *dirty) {
		if int(id) < len(ix.ents) && ix.ents[id] != nil {
			old := ix.ents[id].rec
			for _, n := range old.Numbers {
				if ix.entByNum[n] == id {
					delete(ix.entByNum, n)
				}
			}
			delete(ix.entByName, old.Name)
			ix.ents[id] = nil
		}
		if c.Deleted {
			return
		}
		ix.ents = growSet(ix.ents, id, &entState{rec: rec, mod: mod})
		ix.entByName[rec.Name] = id
		for _, n := range rec.Numbers {
			ix.entByNum[n] = id
		}
		d.ents = true
	})
	return nil
}

// putAllocation returns allocs with a inserted or replaced, in a new slice.
func putAllocation(allocs []allocation, a allocation) []allocation {
	out := slices.Clone(allocs)
	i, found := slices.BinarySearchFunc(out, a.First, func(x allocation, n e164.Number) int { return cmpU64(uint64(x.First), uint64(n)) })
	if found {
		out[i] = a
		return out
	}
	return slices.Insert(out, i, a)
}

// publish applies a decoded event under the index lock.
func (s *Store) publish(p *pending) {
	ix := &s.ix
	d := dirty{subs: map[uint32]bool{}, provs: map[uint32]bool{}}
	var rehint []uint32
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if p.byNumber != nil {
		ix.byNumber = *p.byNumber
	}
	for _, im := range p.imports {
		if err := ix.addImported(im); err != nil {
			p.errs = append(p.errs, err)
		}
	}
	// Packed from the lists as they are now: before any record or list
	// of the event changes them.
	if p.filters != nil {
		ix.installFilters(p.filters)
	}
	for _, f := range p.records {
		f(ix, &d)
	}
	for l, ld := range p.lists {
		m := ix.listMeta(l)
		if m == nil || ld.err != nil {
			continue // owner gone (its rows are garbage) or unreadable
		}
		if ld.genRev > 0 {
			m.gen, m.genRev = ld.gen, ld.genRev
		}
		if m.gen != ld.gen {
			continue // a later change in this event moved the list on
		}
		dst := ix.content(l)
		ix.setList(dst, l.kind, l.list, ld.list)
		if l.kind == kindSubscriber && l.list == ListBlocked {
			ix.filters.place(dst)
			rehint = append(rehint, l.owner)
		}
	}
	// Hints of the numbers whose subscriber or Blocked list changed.
	for id := range d.subs {
		ix.hintBlocked(id)
	}
	for _, id := range rehint {
		ix.hintBlocked(id)
	}
	for id := range d.provs {
		for _, st := range ix.subs {
			if st != nil && st.rec.ProviderID == id {
				d.subs[st.rec.ID] = true
			}
		}
	}
	for id := range d.subs {
		st := ix.sub(id)
		if st == nil {
			continue
		}
		pr := ix.prov(st.rec.ProviderID)
		if pr == nil {
			p.errs = append(p.errs, fmt.Errorf("subscriber %s: provider id %d missing", st.rec.Name, st.rec.ProviderID))
			continue
		}
		st.rec.Provider = pr.rec.Name
		ix.views[id] = effective(&st.rec, &pr.rec, st.pin != nil)
	}
	for _, id := range p.goneProvs {
		// callgate deletes a provider only once it has no subscribers.
		if n := ix.subsOf[id]; n > 0 {
			p.errs = append(p.errs, fmt.Errorf("provider id %d deleted while %d subscriber(s) still name it: "+
				"they keep its last settings here, and a restart refuses the store", id, n))
		}
	}
	if d.ents {
		// Records handed out (EnterpriseInfo) are never changed in place.
		for i, e := range ix.ents {
			if e != nil && e.rec.ProviderID != 0 {
				if name := ix.providerName(e.rec.ProviderID); e.rec.Provider != name {
					cp := *e
					cp.rec.Provider = name
					ix.ents[i] = &cp
				}
			}
		}
	}
	if d.routes {
		ix.resolveRoutes()
	}
}
