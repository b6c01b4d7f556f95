package decisionlog

import (
	"bytes"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"callgate/policy"
)

// toSchema3 rewrites every index block of the (closed) log at path in
// format 2 and marks the file schema 3: the file a schema 3 build wrote.
func toSchema3(t *testing.T, path string) (blocks int) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		idx := tx.Bucket(bucketIdx)
		var keys [][]byte
		c := idx.Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			keys = append(keys, slices.Clone(k))
		}
		for _, k := range keys {
			bl, err := readBlock(idx, k)
			if err != nil {
				return err
			}
			if err := putBlob(idx, k, appendBlock2(nil, bl.appendEntries(nil, 0))); err != nil {
				return err
			}
			blocks++
		}
		return tx.Bucket(bucketMeta).Put(metaVersion, []byte{3})
	})
	if err != nil {
		t.Fatal(err)
	}
	return blocks
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
// 2) is searched as it is by the read-only CLI, is marked schema 4 by Open
// without being rewritten, and takes new records on top: the new blocks
// are format 3, small old blocks are merged into them, old ones are pruned
// with their records, and every search matches the model throughout.
func TestSchema3File(t *testing.T) {
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
	if n := toSchema3(t, path); n < 2 {
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
		t.Fatalf("read-only open of a schema 3 file: %v", err)
	}
	check(ro, "schema 3, read-only")
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
	if !strings.Contains(logs.String(), "from_version=3 to_version=4") {
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
	if old[blockFormat] != 0 || old[blockFormat2] < 2 {
		t.Fatalf("blocks by format after Open: %v (rewritten?)", old)
	}
	check(l, "schema 4, old blocks")
	checkIndex(t, l)

	// Small commits merge the newest old blocks; the bound prunes the
	// oldest ones.
	add(l, recs[6000:7000])
	merged := blockFormats(t, l)
	if merged[blockFormat] == 0 || merged[blockFormat2] >= old[blockFormat2] {
		t.Fatalf("blocks by format after new commits: %v, before %v", merged, old)
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
