package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"callgate/e164"
	"callgate/store/kv"
)

// The read side of bulk subscriber imports: the index adds an import's
// subscribers when the change feed brings its commit, all in one step.

// decodeSubImport decodes a subimports/ key and record.
func decodeSubImport(k, v []byte) (uint64, subImport, error) {
	g, err := decodeU64(k)
	if err != nil {
		return 0, subImport{}, fmt.Errorf("subimports key %x: %w", k, err)
	}
	var rec subImportRecord
	if err := json.Unmarshal(v, &rec); err != nil {
		return 0, subImport{}, fmt.Errorf("subimports/%d: %w", g, err)
	}
	if rec.First == 0 || rec.Last < rec.First {
		return 0, subImport{}, fmt.Errorf("subimports/%d: ID range %d..%d", g, rec.First, rec.Last)
	}
	return g, subImport{first: rec.First, last: rec.Last, committed: !rec.Committed.IsZero()}, nil
}

// importedSubs are the subscribers a committed import adds to the index.
type importedSubs struct {
	gen         uint64
	first, last uint32
	states      []*subState
	// A large import's maps and arrays are built outside the index lock
	// (copies of the index's with the subscribers added) and swapped in,
	// so readers never wait for a million inserts; a small one is added in
	// place. nil: in place.
	byNumber  *numberTable
	subByName map[string]uint32
	subs      []*subState
	views     []SubscriberView
	lists     [][2]memberList
	subsOf    map[uint32]int // the subscribers it adds per provider ID
}

// importSwapAt is the size from which an import is swapped in rather than
// added under the lock (16Ki subscribers hold the lock for a few ms).
const importSwapAt = 1 << 14

// loadImported gets an import's subscribers: from this node's importer if
// it hands them over (subHandoff), else from the backend; and prepares a
// large import's replacement maps. Caller holds applyMu (not ix.mu).
func (s *Store) loadImported(im *importedSubs) error {
	if h := s.handoff; h != nil && h.gen == im.gen {
		im.states = make([]*subState, 0, h.rows.n)
		for i := 0; i < h.rows.n; i++ {
			im.states = append(im.states, h.rows.at(i))
		}
	} else {
		end := append(idKey(bSubscribers, im.last), 0)
		err := s.kv.View(func(r kv.Reader) error {
			return r.Range(idKey(bSubscribers, im.first), end, func(k, v []byte, mod int64) error {
				st := &subState{mod: mod}
				if err := json.Unmarshal(v, &st.rec); err != nil {
					return fmt.Errorf("subscriber %x: %w", k, err)
				}
				if !bytes.Equal(k, idKey(bSubscribers, st.rec.ID)) {
					return fmt.Errorf("subscriber %x: record has id %d", k, st.rec.ID)
				}
				im.states = append(im.states, st)
				return nil
			})
		})
		if err != nil {
			return fmt.Errorf("import generation %d: read its subscribers: %w", im.gen, err)
		}
	}
	if len(im.states) < importSwapAt {
		return nil
	}
	ix := &s.ix
	n := int(im.last) + 1
	nums := 0
	for _, st := range im.states {
		nums += len(st.rec.Numbers)
	}
	byNumber := ix.byNumber.cloneFor(ix.byNumber.len() + nums)
	im.byNumber = &byNumber
	im.subByName = make(map[string]uint32, len(ix.subByName)+len(im.states))
	maps.Copy(im.subByName, ix.subByName)
	im.subs = growTo(append(make([]*subState, 0, max(n, len(ix.subs))), ix.subs...), n)
	im.views = growTo(append(make([]SubscriberView, 0, max(n, len(ix.views))), ix.views...), n)
	im.lists = growTo(append(make([][2]memberList, 0, max(n, len(ix.lists))), ix.lists...), n)
	im.subsOf = make(map[uint32]int)
	for _, st := range im.states {
		pr := ix.prov(st.rec.ProviderID)
		if pr == nil {
			continue // reported by addImported
		}
		id := st.rec.ID
		st.rec.Provider = pr.rec.Name
		im.subs[id] = st
		im.views[id] = effective(&st.rec, &pr.rec, false)
		im.subByName[st.rec.Name] = id
		im.subsOf[st.rec.ProviderID]++
		for _, num := range st.rec.Numbers {
			im.byNumber.set(num, id)
		}
	}
	return nil
}

// addImported publishes an import. Caller holds ix.mu.Lock.
func (ix *index) addImported(im *importedSubs) error {
	var missing error
	for _, st := range im.states {
		if ix.prov(st.rec.ProviderID) == nil {
			missing = fmt.Errorf("import generation %d: subscriber %s: provider id %d missing", im.gen, st.rec.Name, st.rec.ProviderID)
			break
		}
	}
	if im.byNumber != nil {
		ix.byNumber, ix.subByName = *im.byNumber, im.subByName
		ix.subs, ix.views, ix.lists = im.subs, im.views, im.lists
		for pid, n := range im.subsOf {
			ix.countSubscriber(pid, n)
		}
		return missing
	}
	if len(im.states) > 0 {
		ix.subs = growTo(ix.subs, int(im.last)+1)
		ix.growSubs(im.last)
	}
	for _, st := range im.states {
		pr := ix.prov(st.rec.ProviderID)
		if pr == nil {
			continue
		}
		id := st.rec.ID
		st.rec.Provider = pr.rec.Name
		ix.subs[id] = st
		ix.views[id] = effective(&st.rec, &pr.rec, false)
		ix.subByName[st.rec.Name] = id
		ix.countSubscriber(st.rec.ProviderID, 1)
		for _, num := range st.rec.Numbers {
			ix.byNumber.set(num, id)
		}
	}
	return missing
}

// knownBuckets are the buckets the applier tells apart; bucketOf returns
// these strings without allocating one per change.
var knownBuckets = append(slices.Clone(allBuckets), bFraud, bAPITokens, bAudit, bWebUsers, bPINLocks)

// bucketOf is kv.Bucket without its allocation for the known buckets.
func bucketOf(key []byte) (string, bool) {
	i := bytes.IndexByte(key, '/')
	if i <= 0 || key[0] == '_' {
		return "", false
	}
	for _, b := range knownBuckets {
		if string(key[:i]) == b {
			return b, true
		}
	}
	return kv.Bucket(key)
}

// collectSubImports deletes what imports left behind: the records, names
// and numbers of every import that is neither committed nor being
// written (no staging record: its process died or gave up), then its
// subimports/ record; and the subimports/ records of committed imports,
// whose subscribers the index has since taken in. It does not take the
// writer lock (an abandoning import holds it).
func (s *Store) collectSubImports() (int, error) {
	type dead struct {
		gen         uint64
		first, last uint32
	}
	var gone []dead
	var done []uint64
	s.applyMu.Lock()
	for g, si := range s.ix.subImports {
		_, live := s.ix.staging[g]
		switch {
		case si.committed:
			done = append(done, g)
		case !live:
			gone = append(gone, dead{g, si.first, si.last})
		}
	}
	s.applyMu.Unlock()
	collected := 0
	lim := s.kv.Limits()
	for _, d := range gone {
		// In slices of the ID range, so a million abandoned subscribers do
		// not need a million deletes in memory at once.
		for lo := uint64(d.first); lo <= uint64(d.last); lo += 4096 {
			hi := min(lo+4095, uint64(d.last))
			var ops []kv.Op
			err := s.kv.View(func(r kv.Reader) error {
				end := append(idKey(bSubscribers, uint32(hi)), 0)
				return r.Range(idKey(bSubscribers, uint32(lo)), end, func(k, v []byte, _ int64) error {
					var rec struct {
						Name    string        `json:"name"`
						Numbers []e164.Number `json:"numbers"`
					}
					if err := json.Unmarshal(v, &rec); err != nil {
						return fmt.Errorf("subscriber %x: %w", k, err)
					}
					id := k[len(k)-4:]
					for _, key := range append([][]byte{nameKey(kindSubscriber, rec.Name)}, numberKeys(rec.Numbers)...) {
						if v, _, err := r.Get(key); err != nil {
							return err
						} else if bytes.Equal(v, id) { // still the import's
							ops = append(ops, kv.Delete(key))
						}
					}
					ops = append(ops, kv.Delete(bytes.Clone(k)))
					collected++
					return nil
				})
			})
			if err != nil {
				return collected, fmt.Errorf("import generation %d: %w", d.gen, err)
			}
			for len(ops) > 0 {
				n := min(len(ops), lim.MaxOps)
				if _, err := s.kv.Txn(context.Background(), nil, ops[:n]); err != nil {
					return collected, fmt.Errorf("import generation %d: %w", d.gen, err)
				}
				ops = ops[n:]
			}
		}
		done = append(done, d.gen)
	}
	for _, g := range done {
		if _, err := s.kv.Txn(context.Background(), nil, []kv.Op{kv.Delete(subImportKey(g))}); err != nil {
			return collected, fmt.Errorf("import generation %d: delete its record: %w", g, err)
		}
	}
	return collected, nil
}

func numberKeys(nums []e164.Number) [][]byte {
	out := make([][]byte, len(nums))
	for i, n := range nums {
		out[i] = numberKey(n)
	}
	return out
}
