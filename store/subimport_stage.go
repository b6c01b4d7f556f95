package store

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"callgate/e164"
	"callgate/store/kv"
)

// The write side of ImportSubscribers: an import generation.
//
//  1. begin: one transaction takes a generation (seq/gens), reserves the
//     subscriber IDs first..last (seq/subscribers moves past them) and
//     writes subimports/<gen> (the range, uncommitted) and the ephemeral
//     staging/<gen>, which lives as long as the importing process.
//  2. stage: the records, names and numbers of the new subscribers (each
//     kind in key order), in transactions as large as the backend allows,
//     each comparing the
//     staging record (still ours) and the allocation epoch (nobody gave a
//     number or subscriber name away since the validation: every such
//     write moves it). The index leaves subscribers in the range of an
//     uncommitted import out, so nothing of this is visible.
//  3. commit: one transaction marks subimports/<gen> committed, deletes the
//     staging record, moves the allocation epoch and writes the audit
//     record, comparing the staging record, the epoch and every provider
//     the rows name. The change feed then adds all the subscribers at once
//     (apply.go, publishImported).
//
// An import that fails while staging deletes its staging record; one that
// dies loses it with its process (bbolt: at the next Open; etcd: when its
// lease expires). Either way its rows are garbage: CollectGarbage deletes
// the records, names and numbers of an uncommitted import with no staging
// record, then its subimports/ record; and the committed records, which
// nothing needs after the feed applied them.

// subImportRecord is the value of subimports/<gen>.
type subImportRecord struct {
	First       uint32    `json:"first"` // the IDs the import reserved
	Last        uint32    `json:"last"`
	Started     time.Time `json:"started"`
	Committed   time.Time `json:"committed,omitzero"` // zero: not (yet) committed
	Subscribers int       `json:"subscribers"`
	SHA256      string    `json:"sha256"`
}

func subImportKey(gen uint64) []byte { return genKey(bSubImports, gen) }

// subImport is what the index keeps of a subimports/ record.
type subImport struct {
	first, last uint32
	committed   bool
}

// subHandoff gives the applier of this node the subscribers an import
// staged, so it need not read and decode them back: they are exactly what
// the backend holds at the commit (nothing can change a subscriber the
// index does not have). Set under applyMu before the commit.
type subHandoff struct {
	gen  uint64
	rows *subRows
}

// stageSubscribers writes the validated rows (steps above). Caller holds
// wmu.
func (s *Store) stageSubscribers(v *subValidator, opts *SubscriberImportOptions, rep *SubscriberImportReport) error {
	n := v.rows.n
	report := func(ph ImportPhase, done int) {
		if opts.Progress != nil {
			opts.Progress(ImportProgress{ph, int64(done), int64(n)})
		}
	}
	report(PhaseWrite, 0)
	now := s.opts.Now().UTC()
	var gen uint64
	var first uint32
	err := s.writeLocked(func(t *txn) error {
		ix := &s.ix
		sq, ss := ix.seqs[bGens], ix.seqs[bSubscribers]
		if ss.val+uint64(n) > math.MaxUint32 {
			return fmt.Errorf("%d subscribers: %w (subscriber IDs would pass 2^32)", n, ErrInvalid)
		}
		gen, first = sq.val+1, uint32(ss.val+1)
		t.cmp(seqKey(bGens), sq.mod)
		t.put(seqKey(bGens), u64(gen))
		t.cmp(seqKey(bSubscribers), ss.mod)
		t.put(seqKey(bSubscribers), u64(ss.val+uint64(n)))
		rec := subImportRecord{First: first, Last: first + uint32(n-1), Started: now, Subscribers: n, SHA256: rep.SHA256}
		if err := t.putJSON(subImportKey(gen), &rec); err != nil {
			return err
		}
		staging, err := json.Marshal(genRecord{Started: now, Rows: n})
		if err != nil {
			return err
		}
		t.set(kv.PutEphemeral(genKey(bStaging, gen), staging))
		return nil
	})
	if err != nil {
		return fmt.Errorf("start the import: %w", err)
	}
	s.applyMu.Lock()
	stagingRev := s.ix.staging[gen]
	s.applyMu.Unlock()
	if stagingRev == 0 {
		return fmt.Errorf("import generation %d: staging record not applied", gen)
	}
	w := &subStager{s: s, v: v, gen: gen, first: first, lim: s.kv.Limits(),
		guard: []kv.Cmp{{Key: genKey(bStaging, gen), ModRev: stagingRev}, {Key: keyAllocEpoch, ModRev: v.allocMod}},
		keys:  2*n + rep.Numbers}
	w.progress = func(keys int) { report(PhaseWrite, int(int64(keys)*int64(n)/int64(w.keys))) }
	if err := w.stage(); err != nil {
		return w.abandon(err)
	}
	report(PhaseCommit, n)
	if err := w.commit(opts.Actor, rep); err != nil {
		return w.abandon(err)
	}
	return nil
}

// subStager writes one import's rows.
type subStager struct {
	s     *Store
	v     *subValidator
	gen   uint64
	first uint32
	guard []kv.Cmp
	lim   kv.Limits
	// One batch's keys and values live in buf; ops and buf are reused by
	// the next batch (a backend keeps neither past Txn).
	buf      []byte
	ops      []kv.Op
	size     int
	perm     map[Permission][]byte // permissions as JSON, per value
	keys     int                   // keys to write in all
	written  int                   // keys written
	progress func(keys int)
	// onFlush, if set, is told the revision of each batch committed.
	onFlush func(rev int64)
}

// stage writes the records, then the names, then the numbers, each in key
// order whatever the file's order: bbolt then appends to (or walks
// through) its trees once instead of reading and rewriting a page for
// every key a batch scatters over them. (The order of the writes is free:
// nothing is visible before the commit.)
func (w *subStager) stage() error {
	rows := &w.v.rows
	n := rows.n
	// Records, by ID; each row learns the revision of its batch (the mod
	// revision the index will hold).
	done := 0
	w.onFlush = func(rev int64) {
		for ; done < n && rows.at(done).rec.ID != 0 && rows.at(done).mod == 0; done++ {
			rows.at(done).mod = rev
		}
	}
	for i := range n {
		st := rows.at(i)
		if err := w.room(320 + 48*len(st.rec.Numbers)); err != nil {
			return err
		}
		st.rec.ID = w.first + uint32(i)
		k0 := len(w.buf)
		w.buf = binary.BigEndian.AppendUint32(append(w.buf, bSubscribers+"/"...), st.rec.ID)
		v0 := len(w.buf)
		w.buf = appendSubscriberRecord(w.buf, &st.rec, w.permJSON(st.rec.Permissions))
		w.add(k0, v0)
	}
	if err := w.flush(); err != nil {
		return err
	}
	w.onFlush = nil
	// Names, in name order.
	order := make([]int32, n)
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int { return strings.Compare(rows.at(int(a)).rec.Name, rows.at(int(b)).rec.Name) })
	for _, i := range order {
		st := rows.at(int(i))
		if err := w.room(96); err != nil {
			return err
		}
		k0 := len(w.buf)
		w.buf = append(append(append(w.buf, bNames+"/"...), kindSubscriber), st.rec.Name...)
		v0 := len(w.buf)
		w.buf = binary.BigEndian.AppendUint32(w.buf, st.rec.ID)
		w.add(k0, v0)
	}
	order = nil
	// Numbers, in number order.
	type owned struct {
		n  e164.Number
		id uint32
	}
	nums := make([]owned, 0, w.keys-2*n)
	for i := range n {
		st := rows.at(i)
		for _, num := range st.rec.Numbers {
			nums = append(nums, owned{num, st.rec.ID})
		}
	}
	slices.SortFunc(nums, func(a, b owned) int { return cmpU64(uint64(a.n), uint64(b.n)) })
	for _, o := range nums {
		if err := w.room(32); err != nil {
			return err
		}
		k0 := len(w.buf)
		w.buf = binary.BigEndian.AppendUint64(append(w.buf, bNumbers+"/"...), uint64(o.n))
		v0 := len(w.buf)
		w.buf = binary.BigEndian.AppendUint32(w.buf, o.id)
		w.add(k0, v0)
	}
	return w.flush()
}

// room makes sure the batch can take one more row of at most size bytes
// of keys and values (its keys, at most 2 + a number each), sending the
// batch first if not.
func (w *subStager) room(size int) error {
	if len(w.ops) > 0 && (len(w.ops)+8 > w.lim.MaxOps || w.size+size > w.lim.MaxBytes-4096) {
		if err := w.flush(); err != nil {
			return err
		}
	}
	if cap(w.buf)-len(w.buf) < size {
		// A new array: the ops built so far keep the old one.
		w.buf = make([]byte, 0, max(1<<20, 2*cap(w.buf), size))
	}
	w.size += size
	return nil
}

// flush sends the batch.
func (w *subStager) flush() error {
	if len(w.ops) == 0 {
		return nil
	}
	rev, err := w.s.kv.Txn(context.Background(), w.guard, w.ops)
	if errors.Is(err, kv.ErrConflict) {
		return fmt.Errorf("import generation %d: %w: another writer gave out numbers or subscriber names, or the staging record was lost, while importing; nothing was imported, import again", w.gen, err)
	}
	if err != nil {
		return fmt.Errorf("import generation %d: write %d keys: %w", w.gen, len(w.ops), err)
	}
	if w.onFlush != nil {
		w.onFlush(rev)
	}
	w.written += len(w.ops)
	w.ops, w.buf, w.size = w.ops[:0], w.buf[:0], 0
	if w.progress != nil {
		w.progress(w.written)
	}
	return nil
}

// add puts the key buf[k0:v0] with the value buf[v0:].
func (w *subStager) add(k0, v0 int) {
	end := len(w.buf)
	w.ops = append(w.ops, kv.Put(w.buf[k0:v0:v0], w.buf[v0:end:end]))
}

// permJSON is the JSON string of p, once per value.
func (w *subStager) permJSON(p Permission) []byte {
	if b, ok := w.perm[p]; ok {
		return b
	}
	b, _ := json.Marshal(p)
	if w.perm == nil {
		w.perm = map[Permission][]byte{}
	}
	w.perm[p] = b
	return b
}

// appendSubscriberRecord appends the JSON of r (no settings of its own;
// a valid name needs no escaping) to b.
func appendSubscriberRecord(b []byte, r *Subscriber, perm []byte) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendUint(b, uint64(r.ID), 10)
	b = append(b, `,"name":"`...)
	b = append(b, r.Name...)
	b = append(b, `","provider_id":`...)
	b = strconv.AppendUint(b, uint64(r.ProviderID), 10)
	b = append(b, `,"numbers":[`...)
	for i, n := range r.Numbers {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = n.AppendTo(b)
		b = append(b, '"')
	}
	b = append(b, `],"settings":{},"permissions":`...)
	b = append(b, perm...)
	b = append(b, `,"created":"`...)
	b = r.Created.AppendFormat(b, time.RFC3339Nano)
	return append(b, `"}`...)
}

// commit makes the import visible: one small transaction, handing the
// rows to this node's applier.
func (w *subStager) commit(actor Actor, rep *SubscriberImportReport) error {
	s, v := w.s, w.v
	var t txn
	for _, c := range w.guard {
		t.cmp(c.Key, c.ModRev)
	}
	provs := 0
	var one *subProvider
	for _, p := range v.provs {
		if p.used {
			t.cmp(idKey(bProviders, p.id), p.mod)
			provs++
			one = p
		}
	}
	now := s.opts.Now().UTC()
	rec := subImportRecord{First: w.first, Last: w.first + uint32(v.rows.n-1), Started: v.created, Committed: now,
		Subscribers: v.rows.n, SHA256: rep.SHA256}
	if err := t.putJSON(subImportKey(w.gen), &rec); err != nil {
		return err
	}
	t.del(genKey(bStaging, w.gen))
	t.bump(keyAllocEpoch)
	scope := auditScope{}
	if provs == 1 {
		scope = auditScope{provID: one.id, prov: one.name}
	}
	err := t.audit(actor, "subscriber.import", fmt.Sprintf("subscribers (%d)", v.rows.n), scope, nil,
		subImportAudit{Subscribers: v.rows.n, Numbers: rep.Numbers, Providers: provs, SHA256: rep.SHA256, Generation: w.gen})
	if err == nil {
		err = t.putAudit(now)
	}
	if err != nil {
		return err
	}
	s.applyMu.Lock()
	s.handoff = &subHandoff{gen: w.gen, rows: &v.rows}
	s.applyMu.Unlock()
	_, err = s.commit(&t)
	s.applyMu.Lock()
	s.handoff = nil
	s.applyMu.Unlock()
	if errors.Is(err, kv.ErrConflict) {
		return fmt.Errorf("commit import generation %d: %w: the allocations, a provider of the file or the staging record changed while importing; nothing was imported, import again", w.gen, err)
	}
	if err != nil {
		return fmt.Errorf("commit import generation %d: %w", w.gen, err)
	}
	return nil
}

// abandon gives the import up: its staging record goes, so what it staged
// is garbage, collected at once (best effort; CollectGarbage finds what
// this misses). It returns err.
func (w *subStager) abandon(err error) error {
	s := w.s
	_, derr := s.kv.Txn(context.Background(), w.guard[:1], []kv.Op{kv.Delete(w.guard[0].Key)})
	if derr != nil && !errors.Is(derr, kv.ErrConflict) {
		s.report(fmt.Errorf("abandon import generation %d: %w", w.gen, derr))
		return err
	}
	if _, gerr := s.collectSubImports(); gerr != nil {
		s.report(fmt.Errorf("collect the abandoned import generation %d: %w", w.gen, gerr))
	}
	return err
}
