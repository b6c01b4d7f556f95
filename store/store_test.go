package store_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"callgate/store"
	"callgate/store/boltkv"
	"callgate/store/kv"
	"callgate/store/storetest"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/crypto/bcrypt"
)

var testOpts = store.Options{PINCost: bcrypt.MinCost}

func openAt(t *testing.T, path string) *store.Store {
	t.Helper()
	s, err := store.Open(path, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	// callgate's own writes always follow the key space's rules: none
	// makes the change feed complain.
	t.Cleanup(func() {
		if n, err := s.FeedErrors(); n != 0 {
			t.Errorf("%d change-feed error(s), the last: %v", n, err)
		}
	})
	return s
}

func exportAll(t *testing.T, s *store.Store) string {
	t.Helper()
	var buf bytes.Buffer
	if _, err := s.Export(&buf, store.ExportOptions{}); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestOpenCreatesAndReopens(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "dir", "callgate.db")
	s := openAt(t, path)
	if err := storetest.Populate(s); err != nil {
		t.Fatal(err)
	}
	want := exportAll(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := s.CreateProvider(store.Operator, store.ProviderSpec{Name: "late"}); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("write after Close: %v, want ErrClosed", err)
	}
	s = openAt(t, path)
	defer s.Close()
	if got := exportAll(t, s); got != want {
		t.Fatalf("reopened store differs:\n%s\nwant\n%s", got, want)
	}
	v, ok := s.Subscriber(mustNum(storetest.AliceNumber))
	if !ok || !v.HasPIN || !s.CheckPIN(v.ID, storetest.AlicePIN) {
		t.Fatalf("reopened Alice: %+v %v", v, ok)
	}
}

func TestOpenBusy(t *testing.T) {
	path := filepath.Join(t.TempDir(), "callgate.db")
	s := openAt(t, path)
	defer s.Close()
	start := time.Now()
	_, err := store.Open(path, store.Options{Timeout: 100 * time.Millisecond})
	if !errors.Is(err, store.ErrDatabaseBusy) {
		t.Fatalf("second Open: %v, want ErrDatabaseBusy", err)
	}
	for _, want := range []string{path, "in use by another process", "callgate serve"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("lock timeout not honoured")
	}
}

func TestReadOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "callgate.db")
	if _, err := store.Open(path, store.Options{ReadOnly: true}); err == nil {
		t.Fatal("read-only open of a missing file succeeded")
	}
	s := openAt(t, path)
	if err := storetest.Populate(s); err != nil {
		t.Fatal(err)
	}
	s.Close()
	ro, err := store.Open(path, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if _, err := ro.AddToList(store.Operator, storetest.Alice, store.ListBlocked, []string{"+12025550100"}, ""); !errors.Is(err, store.ErrReadOnly) {
		t.Fatalf("write to read-only store: %v", err)
	}
	if _, err := ro.Import(strings.NewReader("alice,blocked,2025550100\n"), store.ImportOptions{Actor: store.Operator}); !errors.Is(err, store.ErrReadOnly) {
		t.Fatalf("import into read-only store: %v", err)
	}
	v, ok := ro.Subscriber(mustNum(storetest.AliceNumber))
	if !ok || !ro.InBlocked(v.ID, mustNum(storetest.BlockedCaller)) {
		t.Fatal("read-only store does not serve reads")
	}
}

// setVersion rewrites the schema version of a closed store file.
func setVersion(t *testing.T, path string, v uint32) {
	t.Helper()
	db, err := boltkv.Open(path, boltkv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Txn(context.Background(), nil, []kv.Op{kv.Put([]byte("meta/schema"), binary.BigEndian.AppendUint32(nil, v))}); err != nil {
		t.Fatal(err)
	}
}

// readVersion reads the schema version of a closed store file, in the kv
// format or the older one.
func readVersion(t *testing.T, path string) uint32 {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v uint32
	db.View(func(tx *bolt.Tx) error {
		raw := tx.Bucket([]byte("meta")).Get([]byte("schema"))
		if tx.Bucket([]byte("_kv")) != nil {
			raw = raw[8:] // mod revision first
		}
		v = binary.BigEndian.Uint32(raw)
		return nil
	})
	return v
}

func TestSchemaNewerRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "callgate.db")
	openAt(t, path).Close()
	setVersion(t, path, store.SchemaVersion+5)
	_, err := store.Open(path, testOpts)
	if !errors.Is(err, store.ErrSchemaNewer) {
		t.Fatalf("Open of newer file: %v, want ErrSchemaNewer", err)
	}
	if !strings.Contains(err.Error(), fmt.Sprintf("schema version %d", store.SchemaVersion+5)) || !strings.Contains(err.Error(), "newer callgate") {
		t.Errorf("message %q does not say which version or what to do", err)
	}
	if v := readVersion(t, path); v != store.SchemaVersion+5 {
		t.Errorf("refused file was modified: version %d", v)
	}
}

func TestNotACallgateFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "other.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("someone-else")); return err })
	db.Close()
	_, err = store.Open(path, testOpts)
	if err == nil || !strings.Contains(err.Error(), "not a callgate store") {
		t.Fatalf("Open of foreign bbolt file: %v", err)
	}
}

// downgradeToV2 rewrites a closed version-3 file (kv format) into the
// version-2 layout callgate wrote before the kv seam: plain values, IDs in
// bucket sequences, list rows without generations, no lv/marks/gens/
// staging. Every list must be in generation 0.
func downgradeToV2(t *testing.T, path string) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		seqs := map[string]uint64{}
		if b := tx.Bucket([]byte("seq")); b != nil {
			b.ForEach(func(k, v []byte) error {
				seqs[string(k)] = binary.BigEndian.Uint64(v[8:])
				return nil
			})
		}
		for _, name := range []string{"_kv", "seq", "lv", "marks", "gens", "staging"} {
			if tx.Bucket([]byte(name)) != nil {
				if err := tx.DeleteBucket([]byte(name)); err != nil {
					return err
				}
			}
		}
		var names [][]byte
		tx.ForEach(func(name []byte, _ *bolt.Bucket) error { names = append(names, bytes.Clone(name)); return nil })
		for _, name := range names {
			old := tx.Bucket(name)
			type kvp struct{ k, v []byte }
			var rows []kvp
			old.ForEach(func(k, v []byte) error {
				k, v = bytes.Clone(k), bytes.Clone(v[8:])
				if string(name) == "entries" || string(name) == "notes" {
					if len(k) != 22 || binary.BigEndian.Uint64(k[6:14]) != 0 {
						t.Fatalf("downgrade: %s key %x is not in generation 0", name, k)
					}
					k = append(k[:6:6], k[14:]...)
				}
				if string(name) == "meta" && string(k) != "schema" && string(k) != "default_route" {
					return nil
				}
				rows = append(rows, kvp{k, v})
				return nil
			})
			if err := tx.DeleteBucket(name); err != nil {
				return err
			}
			b, err := tx.CreateBucket(name)
			if err != nil {
				return err
			}
			for _, r := range rows {
				if err := b.Put(r.k, r.v); err != nil {
					return err
				}
			}
			if s, ok := seqs[string(name)]; ok {
				b.SetSequence(s)
			}
		}
		for _, name := range []string{"providers", "subscribers", "enterprises", "names", "numbers", "allocations", "pins", "routes", "entries", "notes"} {
			if _, err := tx.CreateBucketIfNotExists([]byte(name)); err != nil {
				return err
			}
		}
		return tx.Bucket([]byte("meta")).Put([]byte("schema"), binary.BigEndian.AppendUint32(nil, 2))
	})
	if err != nil {
		t.Fatal(err)
	}
}

// downgradeToV1 rewrites a version-3 file into the version-1 layout: list
// rows one key each in "lists" (kind, owner id, list, ASCII digits -> note),
// no "entries" or "notes" buckets, schema 1.
func downgradeToV1(t *testing.T, path string, extra map[string]string) {
	t.Helper()
	downgradeToV2(t, path)
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		lists, err := tx.CreateBucket([]byte("lists"))
		if err != nil {
			return err
		}
		notes := tx.Bucket([]byte("notes"))
		err = tx.Bucket([]byte("entries")).ForEach(func(k, v []byte) error {
			for i := 0; i < len(v); i += 8 {
				row := append([]byte{}, k[:6]...)
				row = append(row, v[i:i+8]...)
				note := notes.Get(row)
				key := append(append([]byte{}, k[:6]...), []byte(strconvU(binary.BigEndian.Uint64(v[i:])))...)
				if err := lists.Put(key, append([]byte{}, note...)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		for k, v := range extra {
			if err := lists.Put([]byte(k), []byte(v)); err != nil {
				return err
			}
		}
		if err := tx.DeleteBucket([]byte("entries")); err != nil {
			return err
		}
		if err := tx.DeleteBucket([]byte("notes")); err != nil {
			return err
		}
		return tx.Bucket([]byte("meta")).Put([]byte("schema"), binary.BigEndian.AppendUint32(nil, 1))
	})
	if err != nil {
		t.Fatal(err)
	}
}

func strconvU(v uint64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			return string(b[i:])
		}
	}
}

func TestSchemaOlderMigrated(t *testing.T) {
	path := filepath.Join(t.TempDir(), "callgate.db")
	s := openAt(t, path)
	if err := storetest.Populate(s); err != nil {
		t.Fatal(err)
	}
	// Numbers whose ASCII order differs from numeric order (10 vs 11
	// digits), with and without notes, on both kinds of owner.
	if _, err := s.AddToList(store.Operator, storetest.Alice, store.ListVIP, []string{"+4420794600", "+13035550199"}, "order, test"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddToList(store.Operator, "provider:"+storetest.Provider, store.ListBlocked, []string{"+4420794601"}, ""); err != nil {
		t.Fatal(err)
	}
	want := exportAll(t, s)
	s.Close()

	downgradeToV1(t, path, nil)
	if v := readVersion(t, path); v != 1 {
		t.Fatalf("downgrade left version %d", v)
	}
	if _, err := store.Open(path, store.Options{ReadOnly: true}); err == nil || !strings.Contains(err.Error(), "needs migration") {
		t.Fatalf("read-only open of a v1 file: %v", err)
	}
	s = openAt(t, path)
	if got := exportAll(t, s); got != want {
		t.Fatalf("migrated lists differ:\n%s\nwant\n%s", got, want)
	}
	v, _ := s.Subscriber(mustNum(storetest.AliceNumber))
	if !s.InVIP(v.ID, mustNum("+4420794600")) || !s.ProviderBlocked(v.Provider, mustNum("+4420794601")) {
		t.Fatal("migrated rows not in the index")
	}
	page, err := s.ListEntries(store.Operator, storetest.Alice, store.ListVIP, 0, 10)
	if err != nil || len(page.Entries) != 3 || page.Entries[0].Number != mustNum("+4420794600") || page.Entries[0].Note != "order, test" {
		t.Fatalf("migrated VIP list: %+v %v", page, err)
	}
	s.Close()
	if v := readVersion(t, path); v != store.SchemaVersion {
		t.Fatalf("version after migration %d, want %d", v, store.SchemaVersion)
	}
}

func TestMigrationFailureLeavesOldVersion(t *testing.T) {
	path := filepath.Join(t.TempDir(), "callgate.db")
	s := openAt(t, path)
	if err := storetest.Populate(s); err != nil {
		t.Fatal(err)
	}
	s.Close()
	// A v1 row whose "number" is not digits.
	downgradeToV1(t, path, map[string]string{"S\x00\x00\x00\x01\x0212x4567890": ""})
	_, err := store.Open(path, testOpts)
	if err == nil || !strings.Contains(err.Error(), "migrate schema 1 -> 2") {
		t.Fatalf("Open with a bad v1 row: %v", err)
	}
	if v := readVersion(t, path); v != 1 {
		t.Fatalf("failed migration left version %d, want 1", v)
	}
}

// A version-2 file (callgate before the kv seam) opens: values gain mod
// revisions, bucket sequences become seq/ keys (so deleted IDs are still
// never reused) and list rows move into generation 0.
func TestSchemaV2Migrated(t *testing.T) {
	path := filepath.Join(t.TempDir(), "callgate.db")
	s := openAt(t, path)
	if err := storetest.Populate(s); err != nil {
		t.Fatal(err)
	}
	// The last subscriber is deleted: its ID must not come back.
	gone, err := s.CreateSubscriber(store.Operator, store.SubscriberSpec{Name: "gone", Provider: storetest.Provider, Numbers: []string{"+13035550150"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSubscriber(store.Operator, "gone"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddToList(store.Operator, storetest.Alice, store.ListVIP, []string{"+4420794600"}, "order, test"); err != nil {
		t.Fatal(err)
	}
	want := exportAll(t, s)
	s.Close()
	downgradeToV2(t, path)
	if v := readVersion(t, path); v != 2 {
		t.Fatalf("downgrade left version %d", v)
	}
	s = openAt(t, path)
	defer func() {
		s.Close()
		if v := readVersion(t, path); v != store.SchemaVersion {
			t.Fatalf("version after migration %d, want %d", v, store.SchemaVersion)
		}
	}()
	if got := exportAll(t, s); got != want {
		t.Fatalf("migrated lists differ:\n%s\nwant\n%s", got, want)
	}
	v, _ := s.Subscriber(mustNum(storetest.AliceNumber))
	if !s.InVIP(v.ID, mustNum("+4420794600")) || !s.InBlocked(v.ID, mustNum(storetest.BlockedCaller)) || !v.HasPIN {
		t.Fatalf("migrated subscriber not in the index: %+v", v)
	}
	next, err := s.CreateSubscriber(store.Operator, store.SubscriberSpec{Name: "next", Provider: storetest.Provider, Numbers: []string{"+13035550151"}})
	if err != nil {
		t.Fatal(err)
	}
	if next.ID <= gone.ID {
		t.Fatalf("new subscriber got ID %d; the deleted one had %d (IDs must never be reused)", next.ID, gone.ID)
	}
	// And the migrated lists take in-place edits.
	if _, err := s.AddToList(store.Operator, storetest.Alice, store.ListBlocked, []string{"+12025550100"}, ""); err != nil {
		t.Fatal(err)
	}
	if !s.InBlocked(v.ID, mustNum("+12025550100")) {
		t.Fatal("edit after migration not applied")
	}
}
