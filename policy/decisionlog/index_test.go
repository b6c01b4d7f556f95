package decisionlog

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"callgate/e164"
	"callgate/policy"
)

// modelRec is a record as the reference model keeps it: the record and
// the key the log gives it (seq is the arrival order in a fresh file).
type modelRec struct {
	r       Record
	ts, seq uint64
}

// modelSearch is Search done the obvious way: filter everything, sort
// newest first, cut at the limit.
func modelSearch(kept []modelRec, q Query) []Record {
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	var hits []modelRec
	for _, m := range kept {
		if q.Number != 0 && m.r.Calling != q.Number && m.r.Called != q.Number && m.r.OriginalCalled != q.Number {
			continue
		}
		if !q.From.IsZero() && m.ts < nanos(q.From) || !q.To.IsZero() && m.ts >= nanos(q.To) {
			continue
		}
		if q.Action != 0 && m.r.Action != q.Action {
			continue
		}
		hits = append(hits, m)
	}
	slices.SortFunc(hits, func(a, b modelRec) int {
		if c := cmp.Compare(b.ts, a.ts); c != 0 {
			return c
		}
		return cmp.Compare(b.seq, a.seq)
	})
	var out []Record
	for i := 0; i < len(hits) && i < limit; i++ {
		out = append(out, hits[i].r)
	}
	return out
}

// randomRecords makes n records over a small pool of numbers (so each
// number has many records), with times that mostly move forward but
// jitter back, repeat and sometimes jump far back (late records), and
// with anonymous callers, a number calling itself and forwarded calls.
func randomRecords(rng *rand.Rand, n int) []Record {
	pool := make([]e164.Number, 12)
	for i := range pool {
		pool[i] = e164.Number(13035550100 + uint64(i))
	}
	actions := []policy.Action{policy.ActionAllow, policy.ActionBlock, policy.ActionScreen}
	out := make([]Record, n)
	at := t0
	for i := range out {
		at = at.Add(time.Duration(rng.IntN(2000)) * time.Microsecond)
		ts := at
		switch rng.IntN(20) {
		case 0:
			ts = at.Add(-time.Duration(rng.IntN(500)) * time.Millisecond) // late record
		case 1:
			if i > 0 {
				ts = out[i-1].Time // same nanosecond as the previous one
			}
		}
		r := Record{Time: ts, Origin: policy.OriginAIN, Peer: fmt.Sprintf("p%d", i),
			Called: pool[rng.IntN(len(pool))], Action: actions[rng.IntN(len(actions))]}
		switch rng.IntN(10) {
		case 0: // anonymous
		case 1:
			r.Calling = r.Called
		default:
			r.Calling = pool[rng.IntN(len(pool))]
		}
		if rng.IntN(4) == 0 {
			r.OriginalCalled = pool[rng.IntN(len(pool))]
		}
		out[i] = r
	}
	return out
}

// checkIndex checks the index's invariants: every block parses, is sorted,
// is keyed by its newest entry, has the right minTime and maxSeq, and the
// first block still has a live record (the blocks whose records are all
// pruned are deleted from the front with them; one may wait behind a live
// block, see pruneBlocks).
func checkIndex(t *testing.T, l *Log) (blocks int) {
	t.Helper()
	err := l.db.View(func(tx *bolt.Tx) error {
		seg := tx.Bucket(bucketSeg)
		firstLive := seg.Sequence() + 1
		if k, _ := seg.Cursor().First(); k != nil {
			firstLive = binary.BigEndian.Uint64(k)
		}
		idx := tx.Bucket(bucketIdx)
		// Count top-level keys: Stats counts the keys of nested buckets
		// (blob.go) too.
		count := func(b *bolt.Bucket) int {
			n := 0
			c := b.Cursor()
			for k, _ := c.First(); k != nil; k, _ = c.Next() {
				n++
			}
			return n
		}
		summaries := 0
		fc := tx.Bucket(bucketFlt).Cursor()
		for k, _ := fc.First(); k != nil; k, _ = fc.Next() {
			if len(k) == recKeyLen {
				summaries++
			}
		}
		if n, m := count(idx), summaries; n != m {
			return fmt.Errorf("%d index blocks for %d summaries", n, m)
		}
		return idx.ForEach(func(k, _ []byte) error {
			blocks++
			bl, err := readBlock(idx, k)
			if err != nil {
				return err
			}
			es := bl.appendEntries(nil, 0)
			if len(es) == 0 {
				return fmt.Errorf("block %x is empty", k)
			}
			if !slices.IsSortedFunc(es, cmpEntry) {
				return fmt.Errorf("block %x is not sorted", k)
			}
			sp := spanOf(es)
			if !bytes.Equal(k, appendRecKey(nil, sp.newestTS, sp.newestSeq)) {
				return fmt.Errorf("block %x is keyed by %d/%d, not its newest entry", k, sp.newestTS, sp.newestSeq)
			}
			if bl.minTime != sp.minTime || bl.maxSeq != sp.maxSeq {
				return fmt.Errorf("block %x: minTime %d maxSeq %d, entries from %d up to seq %d", k, bl.minTime, bl.maxSeq, sp.minTime, sp.maxSeq)
			}
			// The summary's parts (summary.go) follow its key.
			var got []byte
			fc := tx.Bucket(bucketFlt).Cursor()
			for fk, fv := fc.Seek(k); fk != nil && bytes.HasPrefix(fk, k); fk, fv = fc.Next() {
				got = append(got, fv...)
			}
			if want := appendSummary(nil, es, sp); !bytes.Equal(got, want) {
				return fmt.Errorf("block %x: summary %x, want %x", k, got, want)
			}
			if blocks == 1 && bl.maxSeq < firstLive {
				return fmt.Errorf("block %x outlived its records (maxSeq %d, first live %d)", k, bl.maxSeq, firstLive)
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return blocks
}

// TestSearchMatchesModel writes random records (late, same-time and
// self-calling ones included) through small batches, merges and pruning,
// and checks that every search gives exactly what filtering all kept
// records would: the block index changes how records are found, not which.
func TestSearchMatchesModel(t *testing.T) {
	for _, tc := range []struct {
		name       string
		batch      int
		maxRecords int
		flushEvery int
	}{
		{"small batches, merging", 7, 0, 50},
		{"pruned by count", 13, 700, 40},
		{"big batches", 1000, 1500, 900},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(7, uint64(tc.batch)))
			opts := testOptions()
			opts.BatchSize = tc.batch
			opts.QueueSize = 4096
			opts.MaxRecords = tc.maxRecords
			opts.MaxAge = -1
			path := filepath.Join(t.TempDir(), FileName)
			l, err := Open(path, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			recs := randomRecords(rng, 3000)
			model := make([]modelRec, len(recs))
			for i, r := range recs {
				l.Record(r)
				model[i] = modelRec{r: r, ts: nanos(r.Time), seq: uint64(i + 1)}
				if i%tc.flushEvery == tc.flushEvery-1 {
					if err := l.Flush(); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := l.Flush(); err != nil {
				t.Fatal(err)
			}
			// Pruning keeps the newest records in commit (seq) order, whole
			// segments at a time: at most maxRecords, and fewer by less
			// than one segment, which is at most one commit.
			s := l.Stats()
			want := uint64(len(model))
			if tc.maxRecords > 0 && len(model) > tc.maxRecords {
				seg := uint64(min(tc.batch, segmentMax))
				if s.Stored > uint64(tc.maxRecords) || s.Stored+seg <= uint64(tc.maxRecords) {
					t.Fatalf("stats %+v: want at most %d stored, fewer by less than %d", s, tc.maxRecords, seg)
				}
				want = s.Stored
			}
			if s.Stored != want || s.Dropped != 0 || s.Pruned != uint64(len(model))-want {
				t.Fatalf("stats %+v, want %d stored", s, want)
			}
			kept := model[uint64(len(model))-want:]
			blocks := checkIndex(t, l)
			t.Logf("%d records in %d index blocks", len(kept), blocks)

			queries := []Query{{Limit: 5000}, {Limit: 3}}
			for range 300 {
				q := Query{Number: recs[rng.IntN(len(recs))].Called, Limit: 1 + rng.IntN(60)}
				if rng.IntN(3) == 0 {
					q.Number = 0
				}
				if rng.IntN(2) == 0 {
					q.From = t0.Add(time.Duration(rng.IntN(3000)) * time.Millisecond)
				}
				if rng.IntN(2) == 0 {
					q.To = t0.Add(time.Duration(rng.IntN(3000)) * time.Millisecond)
				}
				if rng.IntN(4) == 0 {
					q.Action = policy.ActionBlock
				}
				if rng.IntN(10) == 0 {
					q.Limit = 5000
				}
				queries = append(queries, q)
			}
			compare := func(l *Log, when string) {
				t.Helper()
				for _, q := range queries {
					got := mustSearch(t, l, q)
					want := modelSearch(kept, q)
					if len(got) != len(want) {
						t.Fatalf("%s: %+v: %d records, want %d", when, q, len(got), len(want))
					}
					for i := range got {
						w := want[i]
						if !got[i].Time.Equal(w.Time) {
							t.Fatalf("%s: %+v: record %d at %v, want %v", when, q, i, got[i].Time, w.Time)
						}
						got[i].Time = w.Time
						if got[i] != w {
							t.Fatalf("%s: %+v: record %d is %+v, want %+v", when, q, i, got[i], w)
						}
					}
				}
			}
			compare(l, "open")
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			ro, err := OpenReadOnly(path)
			if err != nil {
				t.Fatal(err)
			}
			defer ro.Close()
			compare(ro, "reopened read-only")
		})
	}
}

// TestPruneDropsIndexBlocks runs a log at its bound for many batches: the
// blocks of pruned records go with them, so the index stays the size of
// what is kept.
func TestPruneDropsIndexBlocks(t *testing.T) {
	opts := testOptions()
	opts.BatchSize = 100
	opts.MaxRecords = 1000
	opts.MaxAge = -1
	l := openTest(t, opts)
	for i := range 20_000 {
		l.Record(Record{Time: t0.Add(time.Duration(i) * time.Millisecond),
			Calling: e164.Number(12125550000 + uint64(i)), Called: nA, Action: policy.ActionAllow})
		if i%500 == 499 {
			if err := l.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	blocks := checkIndex(t, l)
	var entries int
	err := l.db.View(func(tx *bolt.Tx) error {
		idx := tx.Bucket(bucketIdx)
		return idx.ForEach(func(k, _ []byte) error {
			bl, err := readBlock(idx, k)
			entries += bl.len()
			return err
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	// 1000 records x 2 numbers are live; dead entries linger only in the
	// oldest block, which is at most mergeLimit entries.
	if entries > 2000+mergeLimit || blocks > 10 {
		t.Fatalf("index holds %d entries in %d blocks for 1000 records", entries, blocks)
	}
	if _, live := countIndex(t, l); live != 2000 {
		t.Fatalf("live index entries = %d, want 2000", live)
	}
	if got := mustSearch(t, l, Query{Number: e164.Number(12125550000 + 18_999)}); len(got) != 0 {
		t.Fatalf("a pruned record is found: %+v", got)
	}
	if got := mustSearch(t, l, Query{Number: e164.Number(12125550000 + 19_000)}); len(got) != 1 {
		t.Fatalf("the oldest kept record: %d found", len(got))
	}
}

// TestMergeEmptiesIndexRoot merges every block of an index whose root is
// a branch page. bbolt's Cursor.Last loops forever on a bucket all of
// whose leaves were emptied earlier in the same transaction, so the writer
// must not call it after deleting blocks; this test hangs (and fails) if
// it does.
func TestMergeEmptiesIndexRoot(t *testing.T) {
	const batch = 256 // 512 entries (calling + called) per commit
	opts := testOptions()
	opts.BatchSize = batch
	// Not openTest: a stuck writer would hang its Close in the cleanup.
	l, err := Open(filepath.Join(t.TempDir(), FileName), opts)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		// The merges count in binary: after 31 commits the index holds
		// blocks of 16, 8, 4, 2 and 1 units (a branch over several
		// leaves, the blocks being large), and the 32nd merges all of
		// them into one of mergeLimit entries.
		for c := range mergeLimit / (2 * batch) {
			for i := range batch {
				n := c*batch + i
				l.Record(Record{Time: t0.Add(time.Duration(n) * time.Millisecond),
					Calling: e164.Number(12125550000 + uint64(n)), Called: nA, Action: policy.ActionAllow})
			}
			if err := l.Flush(); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("writer stuck merging index blocks") // leaves it stuck
	}
	defer l.Close()
	if n := checkIndex(t, l); n != 1 {
		t.Fatalf("%d blocks, want all merged into 1", n)
	}
	if got := mustSearch(t, l, Query{Number: nA, Limit: mergeLimit}); len(got) != mergeLimit/2 {
		t.Fatalf("%d records of the called number, want %d", len(got), mergeLimit/2)
	}
}

// TestCatchUpBatches: while a quarter of the queue or more is waiting, a
// commit takes more than BatchSize records (up to a quarter of the queue);
// otherwise exactly BatchSize.
func TestCatchUpBatches(t *testing.T) {
	opts := testOptions()
	opts.QueueSize = 256
	opts.BatchSize = 8
	l := openTest(t, opts)
	var (
		sizes   []int // written by the writer goroutine only
		release = make(chan struct{})
		once    sync.Once
	)
	l.beforeCommit = func() {
		sizes = append(sizes, l.w.n)
		if len(sizes) == 1 {
			<-release // hold the first commit so the queue fills
		}
	}
	defer once.Do(func() { close(release) })
	for i := range 200 {
		l.Record(Record{Time: t0.Add(time.Duration(i)), Calling: nC, Called: nA, Action: policy.ActionAllow})
	}
	once.Do(func() { close(release) })
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	if s := l.Stats(); s.Written != 200 || s.Dropped != 0 {
		t.Fatalf("stats %+v", s)
	}
	// Catch-up batches of 64 while the backlog is 64 or more, then
	// batches of 8 and the flushed rest.
	if slices.Max(sizes) != 64 || !slices.Contains(sizes, opts.BatchSize) {
		t.Fatalf("commit sizes %v: want catch-up batches of 64, then of 8", sizes)
	}
	if len(sizes) >= 200/opts.BatchSize {
		t.Fatalf("%d commits for 200 records: no catching up", len(sizes))
	}
}

func TestSortByNum(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 5, radixMin - 1, radixMin, 1000, 20_000} {
		es := make([]entry, n)
		for i := range es {
			// Record key order, as putRecords makes them; numbers sharing
			// high digits (one skipped pass) and a few far apart.
			es[i] = entry{num: 13035550000 + rng.Uint64N(5000), ts: uint64(i / 3), seq: uint64(i + 1)}
			if rng.IntN(50) == 0 {
				es[i].num = rng.Uint64N(1e15)
			}
		}
		want := slices.Clone(es)
		slices.SortFunc(want, cmpEntry)
		got, _ := sortByNum(es, nil)
		if !slices.Equal(got, want) {
			t.Fatalf("n=%d: radix order differs from cmpEntry order", n)
		}
	}
}

// appendBlock2 appends the format 2 (schema 3) block value of es, sorted.
func appendBlock2(b []byte, es []entry) []byte {
	sp := spanOf(es)
	b = append(b, blockFormat2)
	b = binary.BigEndian.AppendUint64(b, sp.minTime)
	b = binary.BigEndian.AppendUint64(b, sp.maxSeq)
	for _, e := range es {
		b = binary.BigEndian.AppendUint64(b, e.num)
		b = binary.BigEndian.AppendUint64(b, e.ts)
		b = binary.BigEndian.AppendUint64(b, e.seq)
	}
	return b
}

// TestBlockEncoding: a block reads back (format 3 as written, and format
// 2 as schema 3 files hold it), searches in it and refuses damage.
func TestBlockEncoding(t *testing.T) {
	es := []entry{{num: 5, ts: 30, seq: 3}, {num: 5, ts: 40, seq: 1}, {num: 9, ts: 10, seq: 2}}
	for _, format := range []byte{blockFormat, blockFormat2} {
		v := appendBlock(nil, es)
		if format == blockFormat2 {
			v = appendBlock2(nil, es)
		}
		testBlockEncoding(t, es, v)
	}
	// Fields take the bytes their ranges need; the largest ranges read back.
	wide := []entry{{num: 0, ts: 0, seq: 0}, {num: 1, ts: 1 << 40, seq: 70000}, {num: math.MaxUint64, ts: math.MaxUint64, seq: math.MaxUint64}}
	v := appendBlock(nil, wide)
	if bl, err := parseBlock(v); err != nil || bl.wn != 8 || bl.wt != 8 || bl.ws != 8 || bl.at(1) != wide[1] || bl.at(2) != wide[2] {
		t.Fatalf("wide block: %+v, %v", bl, err)
	}
	narrow := []entry{{num: 13035550100, ts: 1e18, seq: 9000}, {num: 13035550100 + 70000, ts: 1e18 + 40e6, seq: 9000 + 255}}
	v = appendBlock(nil, narrow)
	if bl, err := parseBlock(v); err != nil || bl.wn != 3 || bl.wt != 4 || bl.ws != 1 || len(v) != blockHeaderLen+2*8 || bl.at(0) != narrow[0] || bl.at(1) != narrow[1] {
		t.Fatalf("narrow block of %d bytes: %+v, %v", len(v), bl, err)
	}
}

func testBlockEncoding(t *testing.T, es []entry, v []byte) {
	t.Helper()
	bl, err := parseBlock(v)
	if err != nil {
		t.Fatal(err)
	}
	if bl.len() != 3 || bl.minTime != 10 || bl.maxSeq != 3 || bl.at(1) != es[1] {
		t.Fatalf("parsed %+v", bl)
	}
	for _, tc := range []struct {
		e    entry
		want int
	}{
		{entry{num: 5}, 0}, {entry{num: 5, ts: 40}, 1}, {entry{num: 6}, 2}, {entry{num: 10}, 3},
	} {
		if got := bl.lowerBound(tc.e); got != tc.want {
			t.Errorf("lowerBound(%+v) = %d, want %d", tc.e, got, tc.want)
		}
	}
	if got := bl.appendEntries(nil, 2); len(got) != 2 || got[0] != es[0] || got[1] != es[2] {
		t.Fatalf("live entries from seq 2: %+v", got)
	}
	bad := [][]byte{nil, {v[0]}, append([]byte{1}, v[1:]...), append([]byte{4}, v[1:]...), v[:len(v)-1]}
	if v[0] == blockFormat {
		for i := blockHeaderLen - 3; i < blockHeaderLen; i++ {
			for _, w := range []byte{0, 9} {
				b := slices.Clone(v)
				b[i] = w
				bad = append(bad, b)
			}
		}
	}
	for _, b := range bad {
		if _, err := parseBlock(b); err == nil {
			t.Errorf("damaged block %x accepted", b)
		}
	}
}

func FuzzParseBlock(f *testing.F) {
	f.Add(appendBlock(nil, []entry{{num: 13035550101, ts: 1, seq: 1}, {num: 13035550102, ts: 2, seq: 2}}))
	f.Add(appendBlock2(nil, []entry{{num: 13035550101, ts: 1, seq: 1}, {num: 13035550102, ts: 2, seq: 2}}))
	f.Add(appendBlock(nil, nil))                                                // no entries
	f.Add([]byte{blockFormat2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}) // no entries
	f.Add([]byte{blockFormat2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1})
	f.Add([]byte{})
	db := fuzzDB(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		bl, err := parseBlock(b)
		// The same value stored in chunks (blob.go) reads the same.
		sameBlock(t, db, b, bl, err)
		if err != nil {
			return
		}
		if hdr := map[byte]int{blockFormat: blockHeaderLen, blockFormat2: block2HeaderLen}[b[0]]; bl.len()*bl.w+hdr != len(b) {
			t.Fatalf("%d entries in %d bytes", bl.len(), len(b))
		}
		// Whatever the order inside, searching stays in bounds.
		for i := range bl.len() {
			e := bl.at(i)
			if j := bl.lowerBound(e); j < 0 || j > bl.len() {
				t.Fatalf("lowerBound = %d of %d", j, bl.len())
			}
		}
		_ = bl.appendEntries(nil, 0)
		// Merging with it stays in bounds and loses nothing.
		es := []entry{{num: 1, ts: 1, seq: 1}, {num: 1 << 62, ts: 2, seq: 2}}
		if got := mergeEntries(nil, es, bl.appendEntries(nil, 0), 0); len(got) != len(es)+bl.len() {
			t.Fatalf("merge of %d and %d entries gave %d", len(es), bl.len(), len(got))
		}
	})
}

// writeV1 writes recs to a new file in schema 1's layout (as the previous
// release did): rec as now, and one empty-valued num key per distinct
// number of each record.
func writeV1(t *testing.T, path string, recs []Record) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Many small transactions: bbolt splits nodes only at commit, and
	// random inserts into one huge node are quadratic.
	for start := 0; start < len(recs); start += 1000 {
		err = db.Update(func(tx *bolt.Tx) error {
			meta, _ := tx.CreateBucketIfNotExists(bucketMeta)
			rec, _ := tx.CreateBucketIfNotExists(bucketRec)
			num, _ := tx.CreateBucketIfNotExists(bucketNum)
			for i := start; i < min(start+1000, len(recs)); i++ {
				r := &recs[i]
				seq, _ := rec.NextSequence()
				ts := nanos(r.Time)
				if err := rec.Put(appendRecKey(nil, ts, seq), appendRecord(nil, r)); err != nil {
					return err
				}
				nums, n := distinctNumbers(r.Calling, r.Called, r.OriginalCalled)
				for _, x := range nums[:n] {
					k := appendRecKey(appendUint64BE(nil, uint64(x)), ts, seq)
					if err := num.Put(k, []byte{}); err != nil {
						return err
					}
				}
			}
			if err := meta.Put(metaCount, appendUint64BE(nil, uint64(min(start+1000, len(recs))))); err != nil {
				return err
			}
			return meta.Put(metaVersion, []byte{1})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func appendUint64BE(b []byte, v uint64) []byte {
	return append(b, byte(v>>56), byte(v>>48), byte(v>>40), byte(v>>32), byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

// writeV2 writes recs to a new file in schema 2's layout: rec as in
// schema 1, and idx blocks of format 1 (no maxSeq), one per 1000 records,
// keyed by their newest record.
func writeV2(t *testing.T, path string, recs []Record) {
	t.Helper()
	writeV1(t, path, recs)
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket(bucketNum); err != nil {
			return err
		}
		idx, err := tx.CreateBucket(bucketIdx)
		if err != nil {
			return err
		}
		var es []entry
		flush := func() error {
			if len(es) == 0 {
				return nil
			}
			slices.SortFunc(es, cmpEntry)
			sp := spanOf(es)
			v := binary.BigEndian.AppendUint64([]byte{1}, sp.minTime) // format 1
			for _, e := range es {
				v = binary.BigEndian.AppendUint64(v, e.num)
				v = binary.BigEndian.AppendUint64(v, e.ts)
				v = binary.BigEndian.AppendUint64(v, e.seq)
			}
			es = nil
			return idx.Put(appendRecKey(nil, sp.newestTS, sp.newestSeq), v)
		}
		c := tx.Bucket(bucketRec).Cursor()
		n := 0
		for k, v := c.First(); k != nil; k, v = c.Next() {
			calling, called, orig, err := decodeNumbers(v)
			if err != nil {
				return err
			}
			nums, cnt := distinctNumbers(calling, called, orig)
			for _, x := range nums[:cnt] {
				es = append(es, entry{num: uint64(x), ts: recKeyTime(k), seq: recKeySeq(k)})
			}
			if n++; n%1000 == 0 {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		if err := flush(); err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Put(metaVersion, []byte{2})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestMigrateV1 opens a schema 1 file: the records stay, in segments, the
// index is rebuilt from them, searches find what they found before, the
// old buckets are gone and a log line says what happened. The read-only
// CLI refuses a schema 1 file with a message saying how to convert it.
func TestMigrateV1(t *testing.T) {
	testMigrate(t, 1, writeV1)
}

// TestMigrateV2 is TestMigrateV1 for a schema 2 file (index blocks of
// format 1, which name the old seqs and are rebuilt).
func TestMigrateV2(t *testing.T) {
	testMigrate(t, 2, writeV2)
}

func testMigrate(t *testing.T, version int, write func(*testing.T, string, []Record)) {
	path := filepath.Join(t.TempDir(), FileName)
	rng := rand.New(rand.NewPCG(11, 12))
	recs := randomRecords(rng, 40_000) // more than one rebuilt block
	write(t, path, recs)

	if _, err := OpenReadOnly(path); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("older schema version %d", version)) {
		t.Fatalf("read-only open of a schema %d file: %v", version, err)
	}

	var logs bytes.Buffer
	opts := testOptions()
	opts.MaxAge = -1
	opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	l, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if !strings.Contains(logs.String(), "converted") || !strings.Contains(logs.String(), "records=40000") {
		t.Fatalf("no conversion log line: %s", logs.String())
	}
	if s := l.Stats(); s.Stored != uint64(len(recs)) {
		t.Fatalf("stored %d, want %d", s.Stored, len(recs))
	}
	err = l.db.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketNum) != nil || tx.Bucket(bucketRec) != nil {
			return fmt.Errorf("schema %d buckets still there", version)
		}
		if v := tx.Bucket(bucketMeta).Get(metaVersion); !bytes.Equal(v, []byte{schemaVersion}) {
			return fmt.Errorf("version %v after conversion", v)
		}
		if seq := tx.Bucket(bucketSeg).Sequence(); seq != uint64(len(recs)) {
			return fmt.Errorf("sequence %d after conversion", seq)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Segments of segmentMax, seqs 1..N in the old key (time) order.
	sizes := segmentSizes(t, l)
	if len(sizes) != (len(recs)+segmentMax-1)/segmentMax || sizes[0] != segmentMax {
		t.Fatalf("segments %v", sizes)
	}
	if n := checkIndex(t, l); n < 2 {
		t.Fatalf("%d index blocks for 40,000 records", n)
	}
	// The model: records in the old key order get seqs 1..N.
	model := make([]modelRec, len(recs))
	for i, r := range recs {
		model[i] = modelRec{r: r, ts: nanos(r.Time), seq: uint64(i + 1)}
	}
	slices.SortStableFunc(model, func(a, b modelRec) int { return cmp.Compare(a.ts, b.ts) })
	for i := range model {
		model[i].seq = uint64(i + 1)
	}
	for _, q := range []Query{
		{Number: recs[0].Called, Limit: 50},
		{Number: recs[1].Called, Limit: 5000, Action: policy.ActionBlock},
		{Number: recs[2].Called, From: t0.Add(10 * time.Second), To: t0.Add(20 * time.Second), Limit: 5000},
		{Limit: 300},
		{From: t0.Add(30 * time.Second), To: t0.Add(31 * time.Second), Limit: 5000},
	} {
		got, want := mustSearch(t, l, q), modelSearch(model, q)
		if len(got) != len(want) {
			t.Fatalf("%+v: %d records, want %d", q, len(got), len(want))
		}
		for i := range got {
			if got[i].Peer != want[i].Peer {
				t.Fatalf("%+v: record %d is %s, want %s", q, i, got[i].Peer, want[i].Peer)
			}
		}
	}
	// New records go on top of the converted ones.
	l.Record(Record{Time: t0.Add(time.Hour), Calling: recs[0].Called, Called: nA, Action: policy.ActionBlock})
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := mustSearch(t, l, Query{Number: recs[0].Called, Limit: 1}); len(got) != 1 || !got[0].Time.Equal(t0.Add(time.Hour)) {
		t.Fatalf("newest after conversion: %+v", got)
	}
	// The converted file opens read-only.
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	ro, err := OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if s := ro.Stats(); s.Stored != uint64(len(recs)+1) {
		t.Fatalf("read-only Stored = %d", s.Stored)
	}
}
