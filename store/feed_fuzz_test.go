package store_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"callgate/store"
	"callgate/store/boltkv"
	"callgate/store/kv"
	"callgate/store/storetest"
)

// feedBuckets are the buckets the index is built from (keys.go's
// allBuckets); the fuzzer picks one by index and writes any key under it.
var feedBuckets = []string{"meta", "seq", "providers", "subscribers", "enterprises", "names", "numbers",
	"allocations", "pins", "routes", "lv", "marks", "gens", "staging", "entries", "notes", "subimports"}

// populated returns a backend holding the demo data.
func populated(tb testing.TB) *boltkv.DB {
	tb.Helper()
	b, err := boltkv.Open(filepath.Join(tb.TempDir(), "fuzz.db"), boltkv.Options{NoSync: true})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { b.Close() })
	s, err := store.New(b, seamOpts)
	if err != nil {
		tb.Fatal(err)
	}
	defer s.Close()
	if err := storetest.Populate(s); err != nil {
		tb.Fatal(err)
	}
	if n, err := s.FeedErrors(); n != 0 {
		tb.Fatalf("callgate's own writes made %d feed error(s): %v", n, err)
	}
	return b
}

// FuzzForeignWrite: a value written into the key space by something else
// (another version, a hand edit with etcdctl, a damaged value) reaches
// every node through the change feed. The index must not panic and must
// go on answering; it applies the change or counts a feed error; and what
// it applied without complaint, a store opened afresh on the same data
// must accept too, with the same counts, or a node that restarts would
// refuse the data its peers run on.
func FuzzForeignWrite(f *testing.F) {
	// Seeds: every key of the demo data with its value, a damaged copy and
	// its deletion.
	seed := populated(f)
	err := seed.View(func(r kv.Reader) error {
		for i, bucket := range feedBuckets {
			prefix := []byte(bucket + "/")
			err := r.Range(prefix, kv.PrefixEnd(prefix), func(k, v []byte, _ int64) error {
				rest := bytes.Clone(k[len(prefix):])
				f.Add(byte(i), rest, bytes.Clone(v), false)
				f.Add(byte(i), rest, append(bytes.Clone(v[:len(v)/2]), 0xff), false)
				f.Add(byte(i), rest, []byte(nil), true)
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, bucket byte, rest, value []byte, del bool) {
		b := populated(t)
		s, err := store.New(b, seamOpts)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		key := append([]byte(feedBuckets[int(bucket)%len(feedBuckets)]+"/"), rest...)
		op := kv.Put(key, value)
		if del {
			op = kv.Delete(key)
		}
		if _, err := b.Txn(context.Background(), nil, []kv.Op{op}); err != nil {
			return // the backend refused it (a limit): nothing reached the feed
		}
		feedErrs, _ := s.FeedErrors()
		// Still answering.
		counts := s.Counts()
		s.Subscriber(mustNum(storetest.AliceNumber))
		s.InBlocked(1, mustNum(storetest.BlockedCaller))
		if feedErrs != 0 {
			return // counted: the node says its index is not the backend's
		}
		fresh, err := store.New(b, seamOpts)
		if err != nil {
			t.Fatalf("%s: the feed applied %q without an error, but a store opened on the same data fails: %v", op, value, err)
		}
		defer fresh.Close()
		if fc := fresh.Counts(); fc != counts {
			t.Fatalf("%s: counts after the feed %+v, after a fresh open %+v", op, counts, fc)
		}
	})
}

// TestForeignRecordBeyondSequence: a record whose ID callgate never
// allocated (here the largest there is) is refused by the change feed and
// by Open, naming it, instead of having every node size its index for
// four billion records.
func TestForeignRecordBeyondSequence(t *testing.T) {
	b := populated(t)
	s, err := store.New(b, seamOpts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	before := s.Counts()
	v := []byte(`{"id":4294967295,"name":"mallory","provider_id":1,"numbers":["+13035550177"]}`)
	if _, err := b.Txn(context.Background(), nil, []kv.Op{kv.Put([]byte("subscribers/\xff\xff\xff\xff"), v)}); err != nil {
		t.Fatal(err)
	}
	n, last := s.FeedErrors()
	if n != 1 || last == nil || !strings.Contains(last.Error(), "id 4294967295 not allocated (seq/subscribers is 3)") {
		t.Fatalf("feed errors %d, last %v", n, last)
	}
	if got := s.Counts(); got != before {
		t.Fatalf("counts %+v, were %+v", got, before)
	}
	if _, ok := s.Subscriber(mustNum("+13035550177")); ok {
		t.Fatal("the foreign subscriber's number is served")
	}
	_, err = store.New(b, seamOpts)
	if err == nil || !strings.Contains(err.Error(), "subscriber ffffffff: id 4294967295 not allocated") {
		t.Fatalf("open: %v", err)
	}
}
