package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"

	"callgate/e164"
	"callgate/store/kv"
)

// rebuildIndex reads a snapshot of the whole key space and replaces the
// index with it. Caller holds applyMu.
func (s *Store) rebuildIndex() error {
	nx := newIndex()
	var rev int64
	err := s.kv.View(func(r kv.Reader) error {
		rev = r.Rev()
		return nx.load(r)
	})
	if err != nil {
		return err
	}
	// Before anyone reads it (hugepages.go).
	huge := nx.collapseHuge()
	s.ix.mu.Lock()
	s.huge = huge
	s.ix.byNumber, s.ix.entByNum = nx.byNumber, nx.entByNum
	s.ix.filters = nx.filters
	s.ix.subs, s.ix.provs, s.ix.ents = nx.subs, nx.provs, nx.ents
	s.ix.views, s.ix.lists = nx.views, nx.lists
	s.ix.subByName, s.ix.provByName, s.ix.entByName = nx.subByName, nx.provByName, nx.entByName
	s.ix.subsOf = nx.subsOf
	s.ix.routes, s.ix.defaultRoute = nx.routes, nx.defaultRoute
	s.ix.defRoute, s.ix.defRouteOK = nx.defRoute, nx.defRouteOK
	s.ix.allocs = nx.allocs
	s.ix.rows = nx.rows
	s.ix.routeMod, s.ix.defaultRouteMod = nx.routeMod, nx.defaultRouteMod
	s.ix.gen, s.ix.genMod, s.ix.listsMod, s.ix.allocMod = nx.gen, nx.genMod, nx.listsMod, nx.allocMod
	s.ix.seqs = nx.seqs
	s.ix.committed, s.ix.staging, s.ix.marks = nx.committed, nx.staging, nx.marks
	s.ix.subImports = nx.subImports
	s.ix.mu.Unlock()
	s.setApplied(rev)
	return nil
}

func newIndex() *index {
	return &index{
		entByNum:   make(map[e164.Number]uint32),
		subByName:  make(map[string]uint32),
		provByName: make(map[string]uint32),
		entByName:  make(map[string]uint32),
		subsOf:     make(map[uint32]int),
		routes:     make(map[string]Route),
		routeMod:   make(map[string]int64),
		seqs:       make(map[string]seqState),
		committed:  make(map[uint64]int64),
		staging:    make(map[uint64]int64),
		marks:      make(map[uint64][]listKey),
		subImports: make(map[uint64]subImport),
	}
}

// rangeBucket calls fn for every key of a bucket with the bucket's prefix
// cut off.
func rangeBucket(r kv.Reader, bucket string, fn func(rest, v []byte, mod int64) error) error {
	p := bucketPrefix(bucket)
	return r.Range(p, prefixEnd(p), func(k, v []byte, mod int64) error {
		return fn(k[len(p):], v, mod)
	})
}

// load fills a new index from a snapshot.
func (nx *index) load(r kv.Reader) error {
	if err := nx.loadMeta(r); err != nil {
		return err
	}
	err := rangeBucket(r, bSeq, func(k, v []byte, mod int64) error {
		n, err := decodeU64(v)
		if err != nil {
			return fmt.Errorf("seq/%s: %w", k, err)
		}
		nx.seqs[string(k)] = seqState{n, mod}
		return nil
	})
	if err != nil {
		return err
	}
	err = rangeBucket(r, bRoutes, func(k, v []byte, mod int64) error {
		var rt Route
		if err := json.Unmarshal(v, &rt); err != nil {
			return fmt.Errorf("route %q: %w", k, err)
		}
		if rt.Name != string(k) {
			return fmt.Errorf("route %q: record named %q", k, rt.Name)
		}
		nx.routes[rt.Name], nx.routeMod[rt.Name] = rt, mod
		return nil
	})
	if err != nil {
		return err
	}
	if err := nx.loadTenants(r); err != nil {
		return err
	}
	if err := nx.loadGenerations(r); err != nil {
		return err
	}
	if err := nx.loadEntries(r); err != nil {
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
		if e != nil && e.rec.ProviderID != 0 {
			if p := nx.prov(e.rec.ProviderID); p != nil {
				e.rec.Provider = p.rec.Name
			}
		}
	}
	nx.resolveRoutes()
	nx.countRows()
	nx.installFilters(nx.packFilters(0))
	return nil
}

func (nx *index) loadMeta(r kv.Reader) error {
	v, mod, err := r.Get(keyDefaultRoute)
	if err != nil {
		return err
	}
	nx.defaultRoute, nx.defaultRouteMod = string(v), mod
	if v, nx.genMod, err = r.Get(keyGen); err != nil {
		return err
	}
	if nx.genMod != 0 {
		if nx.gen, err = decodeU64(v); err != nil {
			return fmt.Errorf("meta/gen: %w", err)
		}
	}
	if _, nx.listsMod, err = r.Get(keyListsEpoch); err != nil {
		return err
	}
	_, nx.allocMod, err = r.Get(keyAllocEpoch)
	return err
}

func (nx *index) loadTenants(r kv.Reader) error {
	err := rangeBucket(r, bProviders, func(k, v []byte, mod int64) error {
		p := &provState{mod: mod}
		if err := json.Unmarshal(v, &p.rec); err != nil {
			return fmt.Errorf("provider %x: %w", k, err)
		}
		if err := idAllocated(bProviders, p.rec.ID, nx.seqs, nil); err != nil {
			return fmt.Errorf("provider %x: %w", k, err)
		}
		nx.provs = growSet(nx.provs, p.rec.ID, p)
		nx.provByName[p.rec.Name] = p.rec.ID
		return nil
	})
	if err != nil {
		return err
	}
	err = rangeBucket(r, bSubImports, func(k, v []byte, _ int64) error {
		g, si, err := decodeSubImport(k, v)
		if err != nil {
			return err
		}
		if err := idAllocated(bSubscribers, si.last, nx.seqs, nil); err != nil {
			return fmt.Errorf("subimports/%d: last subscriber: %w", g, err)
		}
		nx.subImports[g] = si
		return nil
	})
	if err != nil {
		return err
	}
	err = rangeBucket(r, bSubscribers, func(k, v []byte, mod int64) error {
		if len(k) == 4 && nx.staged(binary.BigEndian.Uint32(k)) {
			return nil // an import not committed: not there yet, or garbage
		}
		st := &subState{mod: mod}
		if err := json.Unmarshal(v, &st.rec); err != nil {
			return fmt.Errorf("subscriber %x: %w", k, err)
		}
		if err := idAllocated(bSubscribers, st.rec.ID, nx.seqs, nil); err != nil {
			return fmt.Errorf("subscriber %x: %w", k, err)
		}
		nx.subs = growSet(nx.subs, st.rec.ID, st)
		nx.growSubs(st.rec.ID)
		nx.subByName[st.rec.Name] = st.rec.ID
		nx.subsOf[st.rec.ProviderID]++
		for _, n := range st.rec.Numbers {
			nx.byNumber.set(n, st.rec.ID)
		}
		return nil
	})
	if err != nil {
		return err
	}
	err = rangeBucket(r, bPINs, func(k, v []byte, _ int64) error {
		if len(k) != 4 {
			return fmt.Errorf("pin key %x: bad length", k)
		}
		if st := nx.sub(binary.BigEndian.Uint32(k)); st != nil {
			st.pin = slices.Clone(v)
		}
		return nil
	})
	if err != nil {
		return err
	}
	err = rangeBucket(r, bEnterprises, func(k, v []byte, mod int64) error {
		e := &entState{mod: mod}
		if err := json.Unmarshal(v, &e.rec); err != nil {
			return fmt.Errorf("enterprise %x: %w", k, err)
		}
		if err := idAllocated(bEnterprises, e.rec.ID, nx.seqs, nil); err != nil {
			return fmt.Errorf("enterprise %x: %w", k, err)
		}
		nx.ents = growSet(nx.ents, e.rec.ID, e)
		nx.entByName[e.rec.Name] = e.rec.ID
		for _, n := range e.rec.Numbers {
			nx.entByNum[n] = e.rec.ID
		}
		return nil
	})
	if err != nil {
		return err
	}
	return rangeBucket(r, bAllocations, func(k, v []byte, _ int64) error {
		a, err := decodeAllocation(k, v)
		if err != nil {
			return err
		}
		nx.allocs = append(nx.allocs, a) // keys arrive in First order
		return nil
	})
}

func decodeAllocation(k, v []byte) (allocation, error) {
	if len(k) != 8 || len(v) != 12 {
		return allocation{}, fmt.Errorf("allocation %x: key %d bytes, value %d bytes", k, len(k), len(v))
	}
	return allocation{
		Range:    Range{e164.Number(binary.BigEndian.Uint64(k)), e164.Number(binary.BigEndian.Uint64(v))},
		provider: binary.BigEndian.Uint32(v[8:]),
	}, nil
}

// loadGenerations reads commit and staging records, marks and lv keys, and
// gives every list its effective generation.
func (nx *index) loadGenerations(r kv.Reader) error {
	err := rangeBucket(r, bGens, func(k, _ []byte, mod int64) error {
		g, err := decodeU64(k)
		if err != nil {
			return fmt.Errorf("gens key %x: %w", k, err)
		}
		nx.committed[g] = mod
		return nil
	})
	if err != nil {
		return err
	}
	err = rangeBucket(r, bStaging, func(k, _ []byte, mod int64) error {
		g, err := decodeU64(k)
		if err != nil {
			return fmt.Errorf("staging key %x: %w", k, err)
		}
		nx.staging[g] = mod
		return nil
	})
	if err != nil {
		return err
	}
	err = rangeBucket(r, bMarks, func(k, _ []byte, _ int64) error {
		l, g, err := parseMark(k)
		if err != nil {
			return err
		}
		nx.marks[g] = append(nx.marks[g], l)
		if m := nx.listMeta(l); m != nil {
			if rev, ok := nx.committed[g]; ok && rev > m.genRev {
				m.gen, m.genRev = g, rev
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return rangeBucket(r, bLV, func(k, _ []byte, mod int64) error {
		l, err := parseListKey(k)
		if err != nil {
			return err
		}
		if m := nx.listMeta(l); m != nil {
			m.lvRev = mod
		}
		return nil
	})
}

func parseMark(k []byte) (listKey, uint64, error) {
	if len(k) != 14 {
		return listKey{}, 0, fmt.Errorf("mark key %x: bad length", k)
	}
	l, err := parseListKey(k)
	return l, binary.BigEndian.Uint64(k[6:]), err
}

// loadEntries walks the entries bucket once. Keys sort by (list,
// generation, first number), so every list's effective generation arrives
// as one ascending run; it is collected in a scratch buffer and copied out
// at its exact size. Rows of other generations (shadowed, staged or
// abandoned) and of owners that no longer exist are skipped.
func (nx *index) loadEntries(r kv.Reader) error {
	var (
		scratch []e164.Number
		cur     [14]byte
		have    bool
		skip    bool
		dst     *memberList
	)
	flush := func() {
		if have && !skip && len(scratch) > 0 {
			*dst = newMemberList(slices.Clone(scratch))
		}
		scratch = scratch[:0]
	}
	err := rangeBucket(r, bEntries, func(k, v []byte, _ int64) error {
		if len(k) != 22 {
			return fmt.Errorf("entries key %x: length %d, want 22", k, len(k))
		}
		if !have || !bytes.Equal(k[:14], cur[:]) {
			flush()
			copy(cur[:], k[:14])
			have = true
			l, err := parseListKey(k)
			if err != nil {
				return err
			}
			m := nx.listMeta(l)
			skip = m == nil || m.gen != binary.BigEndian.Uint64(k[6:14])
			if !skip {
				dst = nx.content(l)
			}
		}
		if skip {
			return nil
		}
		var err error
		scratch, err = appendChunk(scratch, k, v)
		return err
	})
	if err != nil {
		return err
	}
	flush()
	return nil
}
