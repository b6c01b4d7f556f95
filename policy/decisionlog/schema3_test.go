package decisionlog

import (
	"bytes"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"callgate/policy"
)

// wholeLayout stores every value in one piece, as schemas 3 and 4 did.
var wholeLayout = blobLayout{wholeMax: math.MaxInt}

// toOldSchema rewrites the (closed) log at path as a build of schema
// version (3 or 4) wrote it: every segment and index block in one piece,
// and for 3 every index block in format 2.
func toOldSchema(t *testing.T, path string, version byte) (blocks int) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketSeg, bucketIdx} {
			b := tx.Bucket(name)
			var keys [][]byte
			c := b.Cursor()
			for k, _ := c.First(); k != nil; k, _ = c.Next() {
				keys = append(keys, slices.Clone(k))
			}
			for _, k := range keys {
				v := bytes.Clone(getBlob(b, k))
				if name[0] == bucketIdx[0] {
					blocks++
					if version == 3 {
						bl, err := parseBlock(v)
						if err != nil {
							return err
						}
						v = appendBlock2(nil, bl.appendEntries(nil, 0))
					}
				}
				if err := putBlob(b, k, v, wholeLayout); err != nil {
					return err
				}
			}
		}
		return tx.Bucket(bucketMeta).Put(metaVersion, []byte{version})
	})
	if err != nil {
		t.Fatal(err)
	}
	return blocks
}

// valueShapes counts the log's segments and index blocks larger than a
// page by how they are stored: in one piece (schemas 3 and 4) or in chunks.
func valueShapes(t *testing.T, l *Log) (whole, chunked int) {
	t.Helper()
	err := l.db.View(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketSeg, bucketIdx} {
			b := tx.Bucket(name)
			c := b.Cursor()
			for k, _ := c.First(); k != nil; k, _ = c.Next() {
				v, ok := openBlob(b, k)
				switch {
				case !ok:
					t.Errorf("%s %x: no value", name, k)
				case v.ch != nil:
					chunked++
				case v.len() > l.lay.wholeMax:
					whole++
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return whole, chunked
}

// blockFormats counts the log's index blocks by format.
func blockFormats(t *testing.T, l *Log) map[byte]int {
	t.Helper()
	n := map[byte]int{}
	err := l.db.View(func(tx *bolt.Tx) error {
		idx := tx.Bucket(bucketIdx)
		c := idx.Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			n[getBlob(idx, k)[0]]++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestSchema3File: a file a schema 3 build wrote (index blocks of format
// 2, every value in one piece) is searched as it is by the read-only CLI,
// is marked schema 5 by Open without being rewritten, and takes new
// records on top: the new blocks are format 3, values larger than a page
// are in chunks, small old blocks are merged into them, old ones are
// pruned with their records, and every search matches the model
// throughout. The same for a file of schema 4 (blocks of format 3, in one
// piece).
func TestSchema3File(t *testing.T) {
	for _, version := range []byte{3, 4} {
		t.Run(fmt.Sprintf("schema%d", version), func(t *testing.T) { testOldSchemaFile(t, version) })
	}
}

func testOldSchemaFile(t *testing.T, version byte) {
	path := filepath.Join(t.TempDir(), FileName)
	rng := rand.New(rand.NewPCG(21, 22))
	recs := randomRecords(rng, 12_000)
	opts := testOptions()
	opts.MaxAge = -1
	opts.MaxRecords = 10_000
	opts.BatchSize = 700 // small commits: a tail of small blocks to merge
	l, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	var model []modelRec
	add := func(l *Log, recs []Record) {
		for i, r := range recs {
			l.Record(r)
			model = append(model, modelRec{r: r, ts: nanos(r.Time), seq: uint64(len(model) + 1)})
			if i%opts.BatchSize == opts.BatchSize-1 {
				if err := l.Flush(); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := l.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	add(l, recs[:6000])
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if n := toOldSchema(t, path, version); n < 2 {
		t.Fatalf("%d index blocks", n)
	}
	queries := func() []Query {
		qs := []Query{{Limit: 300}, {From: t0.Add(2 * time.Second), To: t0.Add(4 * time.Second), Limit: 5000}}
		for _, r := range recs[:12] {
			qs = append(qs, Query{Number: r.Called, Limit: 5000}, Query{Number: r.Called, Limit: 7, Action: policy.ActionBlock})
		}
		return qs
	}
	check := func(l *Log, what string) {
		t.Helper()
		kept := model[max(0, len(model)-int(l.Stats().Stored)):]
		for _, q := range queries() {
			got, want := mustSearch(t, l, q), modelSearch(kept, q)
			if len(got) != len(want) {
				t.Fatalf("%s: %+v: %d records, want %d", what, q, len(got), len(want))
			}
			for i := range got {
				if got[i].Peer != want[i].Peer {
					t.Fatalf("%s: %+v: record %d is %s, want %s", what, q, i, got[i].Peer, want[i].Peer)
				}
			}
		}
	}

	ro, err := OpenReadOnly(path)
	if err != nil {
		t.Fatalf("read-only open of a schema %d file: %v", version, err)
	}
	check(ro, "old schema, read-only")
	if err := ro.Close(); err != nil {
		t.Fatal(err)
	}

	var logs bytes.Buffer
	opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	l, err = Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if want := fmt.Sprintf("from_version=%d to_version=%d", version, schemaVersion); !strings.Contains(logs.String(), want) {
		t.Fatalf("no log line for the schema change: %s", logs.String())
	}
	err = l.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketMeta).Get(metaVersion); !bytes.Equal(v, []byte{schemaVersion}) {
			t.Errorf("version %v after Open", v)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	old := blockFormats(t, l)
	oldFormat, newFormat := byte(blockFormat2), byte(blockFormat)
	if version == 4 {
		oldFormat, newFormat = blockFormat, 0
	}
	if old[newFormat] != 0 || old[oldFormat] < 2 {
		t.Fatalf("blocks by format after Open: %v (rewritten?)", old)
	}
	if whole, chunked := valueShapes(t, l); whole < 2 || chunked != 0 {
		t.Fatalf("%d values larger than a page in one piece, %d in chunks after Open (rewritten?)", whole, chunked)
	}
	check(l, "schema 5, old values")
	checkIndex(t, l)

	// Small commits merge the newest old blocks; the bound prunes the
	// oldest ones.
	add(l, recs[6000:7000])
	merged := blockFormats(t, l)
	if version == 3 && (merged[blockFormat] == 0 || merged[blockFormat2] >= old[blockFormat2]) {
		t.Fatalf("blocks by format after new commits: %v, before %v", merged, old)
	}
	if _, chunked := valueShapes(t, l); chunked == 0 {
		t.Fatal("no value in chunks after new commits")
	}
	check(l, "after merging")
	checkIndex(t, l)
	add(l, recs[7000:])
	if s := l.Stats(); s.Pruned == 0 {
		t.Fatalf("nothing pruned: %+v", s)
	}
	check(l, "after pruning")
	checkIndex(t, l)
}
