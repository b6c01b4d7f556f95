package boltkv_test

import (
	"context"
	"encoding/binary"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"callgate/store/boltkv"
	"callgate/store/kv"
	"callgate/store/kv/kvtest"

	bolt "go.etcd.io/bbolt"
)

func open(t *testing.T, path string, opts boltkv.Options) *boltkv.DB {
	t.Helper()
	d, err := boltkv.Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestConformance(t *testing.T) {
	kvtest.Run(t, func(t *testing.T) kv.Backend {
		return open(t, filepath.Join(t.TempDir(), "kv.db"), boltkv.Options{NoSync: true})
	})
}

func TestEphemeralKeysDieWithTheProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kv.db")
	d := open(t, path, boltkv.Options{NoSync: true})
	ctx := context.Background()
	if _, err := d.Txn(ctx, nil, []kv.Op{kv.PutEphemeral([]byte("s/tmp"), []byte("x")), kv.Put([]byte("s/keep"), []byte("y")),
		kv.PutEphemeral([]byte("s/promoted"), []byte("z"))}); err != nil {
		t.Fatal(err)
	}
	// A later ordinary put makes the key durable.
	if _, err := d.Txn(ctx, nil, []kv.Op{kv.Put([]byte("s/promoted"), []byte("z2"))}); err != nil {
		t.Fatal(err)
	}
	// A transaction that fails its comparison promotes nothing; a deleted
	// ephemeral key put again plainly is durable.
	if _, err := d.Txn(ctx, []kv.Cmp{{Key: []byte("s/keep")}}, []kv.Op{kv.Put([]byte("s/tmp"), []byte("x2"))}); !errors.Is(err, kv.ErrConflict) {
		t.Fatalf("conflicting transaction: %v", err)
	}
	// A transaction that fails after its put keeps the key ephemeral, and
	// a later plain put still makes it durable.
	if _, err := d.Txn(ctx, nil, []kv.Op{kv.PutEphemeral([]byte("s/twice"), []byte("a"))}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Txn(ctx, nil, []kv.Op{kv.Put([]byte("s/twice"), []byte("b")), kv.Put([]byte("_bad"), nil)}); err == nil {
		t.Fatal("a transaction with a malformed key committed")
	}
	if _, err := d.Txn(ctx, nil, []kv.Op{kv.Put([]byte("s/twice"), []byte("c"))}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Txn(ctx, nil, []kv.Op{kv.PutEphemeral([]byte("s/again"), []byte("a"))}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Txn(ctx, nil, []kv.Op{kv.Delete([]byte("s/again"))}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Txn(ctx, nil, []kv.Op{kv.Put([]byte("s/again"), []byte("b"))}); err != nil {
		t.Fatal(err)
	}
	// Simulate a crash: close the bbolt file without boltkv's Close.
	crashClose(t, d)
	d = open(t, path, boltkv.Options{NoSync: true})
	defer d.Close()
	if _, _, ok := kvtest.Get(t, d, "s/tmp"); ok {
		t.Fatal("ephemeral key of a dead process survived Open")
	}
	for _, key := range []string{"s/keep", "s/promoted", "s/again", "s/twice"} {
		if _, _, ok := kvtest.Get(t, d, key); !ok {
			t.Fatalf("%s lost", key)
		}
	}
}

// crashClose closes the file the way a killed process leaves it: no
// ephemeral clean-up.
func crashClose(t *testing.T, d *boltkv.DB) {
	t.Helper()
	boltkv.CloseWithoutCleanup(d)
}

func TestLegacyFileUpgraded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		b, _ := tx.CreateBucket([]byte("things"))
		b.SetSequence(41)
		b.Put([]byte("a"), []byte("one"))
		b.Put([]byte("b"), []byte("two"))
		m, _ := tx.CreateBucket([]byte("meta"))
		return m.Put([]byte("schema"), []byte{0, 0, 0, 2})
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	var asked []string
	accept := func(l boltkv.Legacy) error {
		asked = l.Buckets()
		if l.Get("meta", "schema") == nil {
			return errors.New("no schema")
		}
		return nil
	}
	if _, err := boltkv.Open(path, boltkv.Options{ReadOnly: true, Legacy: accept}); !errors.Is(err, boltkv.ErrNeedsUpgrade) {
		t.Fatalf("read-only open of an old file: %v", err)
	}
	if _, err := boltkv.Open(path, boltkv.Options{Legacy: func(boltkv.Legacy) error { return errors.New("refused") }}); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("refused old file: %v", err)
	}
	d := open(t, path, boltkv.Options{Legacy: accept})
	defer d.Close()
	if strings.Join(asked, ",") != "meta,things" {
		t.Fatalf("Legacy saw buckets %v", asked)
	}
	if v, mod, _ := kvtest.Get(t, d, "things/b"); v != "two" || mod != 1 {
		t.Fatalf("things/b = %q at %d", v, mod)
	}
	v, _, _ := kvtest.Get(t, d, "seq/things")
	if len(v) != 8 || binary.BigEndian.Uint64([]byte(v)) != 41 {
		t.Fatalf("seq/things = %x, want the bucket sequence 41", v)
	}
	if d.Rev() != 1 {
		t.Fatalf("revision after upgrade %d, want 1", d.Rev())
	}
}

func TestForeignFileRefusedUnchanged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "other.db")
	db, _ := bolt.Open(path, 0o600, nil)
	db.Update(func(tx *bolt.Tx) error { b, _ := tx.CreateBucket([]byte("x")); return b.Put([]byte("k"), []byte("v")) })
	db.Close()
	if _, err := boltkv.Open(path, boltkv.Options{}); err == nil || !strings.Contains(err.Error(), "not a kv file") {
		t.Fatalf("foreign file: %v", err)
	}
	db, _ = bolt.Open(path, 0o600, nil)
	defer db.Close()
	db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket([]byte("x")).Get([]byte("k")); string(v) != "v" {
			t.Fatalf("foreign file modified: %q", v)
		}
		return nil
	})
}

func TestReplicaApplyAndReplace(t *testing.T) {
	d := open(t, filepath.Join(t.TempDir(), "replica.db"), boltkv.Options{NoSync: true})
	defer d.Close()
	f := kvtest.Collect(t, d)
	if err := d.Apply(kv.Event{Rev: 100, Changes: []kv.Change{{Key: []byte("r/a"), Value: []byte("1"), ModRev: 100}}}); err != nil {
		t.Fatal(err)
	}
	if err := d.Apply(kv.Event{Rev: 100}); err == nil {
		t.Fatal("replayed revision accepted")
	}
	if v, mod, _ := kvtest.Get(t, d, "r/a"); v != "1" || mod != 100 {
		t.Fatalf("r/a = %q at %d", v, mod)
	}
	err := d.Replace(250, func(put func(key, value []byte, modRev int64) error) error {
		return put([]byte("r/b"), []byte("2"), 240)
	})
	if err != nil {
		t.Fatal(err)
	}
	evs := f.Until(t, 250)
	if !evs[len(evs)-1].Reset {
		t.Fatal("Replace did not deliver a Reset")
	}
	if _, _, ok := kvtest.Get(t, d, "r/a"); ok {
		t.Fatal("Replace kept an old key")
	}
	if v, mod, _ := kvtest.Get(t, d, "r/b"); v != "2" || mod != 240 || d.Rev() != 250 {
		t.Fatalf("r/b = %q at %d, rev %d", v, mod, d.Rev())
	}
}
