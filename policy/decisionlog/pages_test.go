package decisionlog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// noPageSpans fails t if a node of db spans more than one page: bbolt
// writes such a node from a buffer it makes afresh at each commit, where
// one-page nodes take theirs from a pool (blob.go).
func noPageSpans(t *testing.T, db *bolt.DB, what string) {
	t.Helper()
	err := db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			if s := b.Stats(); s.LeafOverflowN != 0 || s.BranchOverflowN != 0 {
				t.Errorf("%s: bucket %s: %d leaf and %d branch overflow pages", what, name, s.LeafOverflowN, s.BranchOverflowN)
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestPutBlobLayout: values of every size that matters to the layout —
// around a page, a quarter page (bbolt's inline buckets), the chunk sizes
// and far beyond — put in runs under consecutive keys, as the writer does,
// make no node of several pages, and read back whole and in any range.
func TestPutBlobLayout(t *testing.T) {
	for _, ps := range []int{4096, 16384} {
		t.Run(fmt.Sprintf("page=%d", ps), func(t *testing.T) {
			db, err := bolt.Open(filepath.Join(t.TempDir(), "blob.db"), 0o600, &bolt.Options{PageSize: ps})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			lay := layoutFor(ps)
			var sizes []int
			for _, c := range []int{1, lay.plainMax, lay.inlineMax, lay.quarter, lay.small, 4 * lay.small, lay.big, lay.wholeMax, ps} {
				for d := -70; d <= 70; d += 7 {
					sizes = append(sizes, max(0, c+d))
				}
			}
			for n := 1; n <= 40; n++ {
				sizes = append(sizes, n*lay.big-1, n*lay.big+4*lay.small+1)
			}
			sizes = append(sizes, 256<<10, 400<<10)
			rng := rand.New(rand.NewPCG(1, uint64(ps)))
			values := map[uint64][]byte{}
			key := uint64(0)
			for _, n := range sizes {
				// Seven of each size in a bucket of their own, in one
				// transaction: bbolt splits them three and four.
				err := db.Update(func(tx *bolt.Tx) error {
					b, err := tx.CreateBucket(binary.BigEndian.AppendUint64(nil, key))
					if err != nil {
						return err
					}
					b.FillPercent = 0.9
					for range 7 {
						v := make([]byte, n)
						for i := range v {
							v[i] = byte(rng.Uint32())
						}
						key++
						values[key] = v
						if err := putBlob(b, binary.BigEndian.AppendUint64(nil, key), v, lay); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			noPageSpans(t, db, "after the puts")
			err = db.View(func(tx *bolt.Tx) error {
				for k, want := range values {
					kb := binary.BigEndian.AppendUint64(nil, k)
					b := tx.Bucket(binary.BigEndian.AppendUint64(nil, (k-1)/7*7))
					if got := getBlob(b, kb); !bytes.Equal(got, want) {
						t.Fatalf("value %d of %d bytes reads back as %d bytes, different", k, len(want), len(got))
					}
					v, _ := openBlob(b, kb)
					for range 20 {
						off := rng.IntN(len(want) + 1)
						n := rng.IntN(len(want) - off + 1)
						if got, ok := v.slice(off, n); !ok || !bytes.Equal(got, want[off:off+n]) {
							t.Fatalf("value %d of %d bytes: bytes %d..%d read wrong (%v)", k, len(want), off, off+n, ok)
						}
					}
					if _, ok := v.slice(len(want), 1); ok {
						t.Fatalf("value %d of %d bytes: read past its end", k, len(want))
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestLogPagesFit: a log, in a new file and in one of 4 KiB pages (the
// page size of files written before schema 5), after commits of every
// size, with merging and pruning, has no node of several pages.
func TestLogPagesFit(t *testing.T) {
	for _, ps := range []int{0, 4096} {
		t.Run(fmt.Sprintf("page=%d", ps), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), FileName)
			if ps != 0 {
				db, err := bolt.Open(path, 0o600, &bolt.Options{PageSize: ps})
				if err != nil {
					t.Fatal(err)
				}
				if err := db.Close(); err != nil {
					t.Fatal(err)
				}
			}
			opts := testOptions()
			opts.MaxAge = -1
			opts.MaxRecords = 30_000
			l, err := Open(path, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			want := ps
			if ps == 0 {
				want = filePageSize
			}
			if l.db.Info().PageSize != want {
				t.Fatalf("page size %d, want %d", l.db.Info().PageSize, want)
			}
			gen := newCallGen()
			base := time.Now()
			i := 0
			for _, batch := range []int{1, 7, 60, 700, 3000, 8192, 16384, 5, 40_000, 50} {
				for range 3 {
					for range batch {
						r := gen.next()
						r.Time = base.Add(time.Duration(i) * time.Microsecond)
						i++
						l.Record(*r)
					}
					if err := l.Flush(); err != nil {
						t.Fatal(err)
					}
				}
				noPageSpans(t, l.db, fmt.Sprintf("after batches of %d", batch))
			}
			if s := l.Stats(); s.Pruned == 0 || s.Dropped != 0 {
				t.Fatalf("stats %+v: want pruning and no drops", s)
			}
			checkIndex(t, l)
		})
	}
}

// TestCommitGarbage: the writer's heap allocation per record, bbolt's
// included, over many full-log commits of a default batch, stays far
// below what it was when bbolt made a fresh buffer for every segment and
// index block (some 117 bytes a record, BenchmarkCommit); it is some 14
// now (some 35 in a file of 4 KiB pages).
func TestCommitGarbage(t *testing.T) {
	const (
		bound   = 60_000
		batch   = DefaultBatchSize
		commits = 12
		maxB    = 50 // bytes a record
	)
	l, err := Open(filepath.Join(t.TempDir(), FileName), Options{NoSync: true, MaxRecords: bound, MaxAge: -1,
		BatchSize: batch, FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	gen := newCallGen()
	base := time.Now()
	i := 0
	recs := make([]Record, batch)
	commit := func() {
		for j := range recs {
			l.w.add(&recs[j])
		}
		l.commit()
	}
	gen1 := func() {
		for j := range recs {
			recs[j] = *gen.next()
			recs[j].Time = base.Add(time.Duration(i) * time.Microsecond)
			i++
		}
	}
	// Fill past the bound, so that every commit measured prunes too and
	// the writer's buffers have grown to their size.
	for i < bound+3*batch {
		gen1()
		commit()
	}
	var alloc uint64
	var ms0, ms1 runtime.MemStats
	for range commits {
		gen1()
		runtime.ReadMemStats(&ms0)
		commit()
		runtime.ReadMemStats(&ms1)
		alloc += ms1.TotalAlloc - ms0.TotalAlloc
	}
	if err := l.w.lastErr; err != nil {
		t.Fatal(err)
	}
	if s := l.Stats(); s.Pruned == 0 {
		t.Fatalf("nothing pruned: %+v", s)
	}
	perRec := float64(alloc) / float64(commits*batch)
	t.Logf("%.1f heap bytes a record", perRec)
	if perRec > maxB {
		t.Errorf("the writer allocates %.1f heap bytes a record, want at most %d (is bbolt making buffers for multi-page nodes again? see blob.go)", perRec, maxB)
	}
}

// TestSummaryInParts: a block summary larger than a quarter page is kept
// in parts (summary.go) that read back as the summary; with a part lost
// (damage), searches still find every record, reading the block, and the
// writer still commits, merges and prunes.
func TestSummaryInParts(t *testing.T) {
	opts := testOptions()
	opts.MaxAge = -1
	opts.MaxRecords = 20_000
	opts.BatchSize = 6000
	l, err := Open(filepath.Join(t.TempDir(), FileName), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	rng := rand.New(rand.NewPCG(31, 32))
	recs := randomRecords(rng, 30_000)
	var model []modelRec
	add := func(recs []Record) {
		for _, r := range recs {
			l.Record(r)
			model = append(model, modelRec{r: r, ts: nanos(r.Time), seq: uint64(len(model) + 1)})
		}
		if err := l.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	check := func(what string) {
		t.Helper()
		kept := model[max(0, len(model)-int(l.Stats().Stored)):]
		for _, r := range recs[:20] {
			for _, q := range []Query{{Number: r.Called, Limit: 5000}, {Number: r.Calling, Limit: 3}} {
				got, want := mustSearch(t, l, q), modelSearch(kept, q)
				if len(got) != len(want) {
					t.Fatalf("%s: %+v: %d records, want %d", what, q, len(got), len(want))
				}
			}
		}
	}
	add(recs[:6000])
	var blockKey []byte
	err = l.db.Update(func(tx *bolt.Tx) error {
		flt := tx.Bucket(bucketFlt)
		sw := newSummaryWalk(flt)
		k, s, err := sw.prev()
		if err != nil || len(s.parts) < 2 {
			t.Fatalf("summary of %d entries: %d parts, %v", s.n, len(s.parts), err)
		}
		blockKey = bytes.Clone(k)
		pk := summaryPartKey(k, 1)
		return flt.Delete(pk[:])
	})
	if err != nil {
		t.Fatal(err)
	}
	err = l.db.View(func(tx *bolt.Tx) error {
		sw := newSummaryWalk(tx.Bucket(bucketFlt))
		if k, _, err := sw.prev(); !bytes.Equal(k, blockKey) || err == nil {
			t.Errorf("summary %x with a part lost: %v", k, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	check("a part lost")
	add(recs[6000:])
	if s := l.Stats(); s.Pruned == 0 {
		t.Fatalf("nothing pruned: %+v", s)
	}
	check("after pruning")
	checkIndex(t, l)
	err = l.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketFlt).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			if bytes.HasPrefix(k, blockKey) {
				t.Errorf("flt key %x of the pruned block is left", k)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// fuzzLayout cuts any value over 12 bytes in chunks of a few bytes, so
// that fuzz inputs are read through the chunked path too.
var fuzzLayout = blobLayout{wholeMax: 12, big: 7, small: 3}

// errRollback ends a test transaction without writing it.
var errRollback = errors.New("rollback")

// inChunks calls fn with v as putBlob stores it in chunks of fuzzLayout,
// read back through openBlob, in a transaction it rolls back.
func inChunks(t *testing.T, db *bolt.DB, v []byte, fn func(blob)) {
	t.Helper()
	err := db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte("fuzz"))
		if err != nil {
			return err
		}
		if err := putBlob(b, []byte("k"), v, fuzzLayout); err != nil {
			return err
		}
		bl, ok := openBlob(b, []byte("k"))
		if !ok {
			t.Fatalf("value of %d bytes: no blob", len(v))
		}
		if len(v) > fuzzLayout.wholeMax && bl.ch == nil {
			t.Fatalf("value of %d bytes read whole", len(v))
		}
		fn(bl)
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatal(err)
	}
}

// fuzzDB opens a bbolt file for inChunks.
func fuzzDB(f *testing.F) *bolt.DB {
	db, err := bolt.Open(filepath.Join(f.TempDir(), "fuzz.db"), 0o600, &bolt.Options{NoSync: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = db.Close() })
	return db
}

// sameSegment fails t unless the segment parsed from v in chunks reads as
// s, parsed whole (err its parse error).
func sameSegment(t *testing.T, db *bolt.DB, v []byte, s segment, err error) {
	t.Helper()
	inChunks(t, db, v, func(bl blob) {
		cs, cerr := parseSegmentBlob(1, bl)
		if (cerr == nil) != (err == nil) {
			t.Fatalf("parse whole: %v, in chunks: %v", err, cerr)
		}
		if err != nil {
			return
		}
		if cs.n != s.n || cs.minTS != s.minTS || cs.maxTS != s.maxTS || cs.prefixMaxTS != s.prefixMaxTS || cs.areaLen != s.areaLen {
			t.Fatalf("header in chunks %+v, whole %+v", cs, s)
		}
		for i := range s.n {
			ts, body, err := s.record(i)
			cts, cbody, cerr := cs.record(i)
			if (cerr == nil) != (err == nil) || ts != cts || !bytes.Equal(body, cbody) {
				t.Fatalf("record %d whole %d %x %v, in chunks %d %x %v", i, ts, body, err, cts, cbody, cerr)
			}
		}
	})
}

// sameBlock fails t unless the block parsed from v in chunks reads as
// bl, parsed whole (err its parse error).
func sameBlock(t *testing.T, db *bolt.DB, v []byte, bl block, err error) {
	t.Helper()
	inChunks(t, db, v, func(b blob) {
		cb, cerr := parseBlockBlob(b)
		if (cerr == nil) != (err == nil) {
			t.Fatalf("parse whole: %v, in chunks: %v", err, cerr)
		}
		if err != nil {
			return
		}
		if cb.len() != bl.len() || cb.minTime != bl.minTime || cb.maxSeq != bl.maxSeq {
			t.Fatalf("block in chunks: %d entries, whole %d", cb.len(), bl.len())
		}
		for i := range bl.len() {
			e := bl.at(i)
			if cb.at(i) != e || cb.num(i) != bl.num(i) || cb.lowerBound(e) != bl.lowerBound(e) {
				t.Fatalf("entry %d: whole %+v, in chunks %+v", i, e, cb.at(i))
			}
		}
	})
}
