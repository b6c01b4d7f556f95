package keys

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"callgate/policy"
	"callgate/store"
	"callgate/store/storetest"
)

// moveNumber moves the enterprise's number to a new enterprise (the old
// one is deleted: enrolments are not edited in place) and returns the new
// one's ID.
func moveNumber(t *testing.T, st *store.Store, to string) uint32 {
	t.Helper()
	if err := st.DeleteEnterprise(store.Operator, storetest.Enterprise); err != nil {
		t.Fatal(err)
	}
	e, err := st.CreateEnterprise(store.Operator, store.EnterpriseSpec{Name: to, Numbers: []string{storetest.EnterpriseNumber}})
	if err != nil {
		t.Fatal(err)
	}
	return e.ID
}

// TestKeyBoundToEnterprise: a key matches only while the enterprise that
// registered it enrols the calling number. Before, a number moved to
// another enterprise kept the old enterprise's keys matching for their
// window (up to keys.max_window) and the call showed the new enterprise's
// brand; the new enterprise's own registration of the same key is its own.
func TestKeyBoundToEnterprise(t *testing.T) {
	st, ent := fixture(t)
	clk := newClock()
	r := openReg(t, st, Config{Now: clk.Now})
	k, err := r.Register(ent, Key{Calling: entNumber, Called: called})
	if err != nil {
		t.Fatal(err)
	}
	if m, id := r.Check(entNumber, called, clk.Now()); m != policy.KeyMatched || id != ent {
		t.Fatalf("before the move: %v (enterprise %d)", m, id)
	}
	globex := moveNumber(t, st, "globex")
	if m, id := r.Check(entNumber, called, clk.Now()); m != policy.KeyMissing || id != globex {
		t.Errorf("after the move, the old enterprise's key: %v (enterprise %d), want KeyMissing for %d", m, id, globex)
	}
	if _, err := r.Register(globex, k); err != nil {
		t.Fatalf("the new enterprise registers the same key: %v", err)
	}
	if m, id := r.Check(entNumber, called, clk.Now()); m != policy.KeyMatched || id != globex {
		t.Errorf("the new enterprise's own key: %v (enterprise %d), want KeyMatched for %d", m, id, globex)
	}
	if _, err := r.Register(ent, Key{Calling: entNumber, Called: called + 1}); !errors.Is(err, ErrNotEnrolled) {
		t.Errorf("the old enterprise registers after the move: %v, want ErrNotEnrolled", err)
	}
}

// TestRevoke: an enterprise revokes one pair's keys or all of its keys;
// another enterprise's keys are untouched; a revoked key is not revived
// by registering it again; revocations survive a restart, from the log
// and from a snapshot.
func TestRevoke(t *testing.T) {
	st, ent := fixture(t)
	dir := t.TempDir()
	clk := newClock()
	cfg := Config{Dir: dir, Now: clk.Now, FlushInterval: time.Hour, SnapshotInterval: time.Hour}
	r, err := Open(cfg, st)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	other := called + 1
	k, err := r.RegisterWait(ctx, ent, Key{Calling: entNumber, Called: called})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.RegisterWait(ctx, ent, Key{Calling: entNumber, Called: other}); err != nil {
		t.Fatal(err)
	}
	if n, err := r.Revoke(ctx, ent+1, entNumber, called); n != 0 || err != nil {
		t.Fatalf("another enterprise revoking: %d %v, want nothing revoked", n, err)
	}
	if n, err := r.Revoke(ctx, ent, entNumber, called); n != 1 || err != nil {
		t.Fatalf("Revoke: %d %v, want 1", n, err)
	}
	if m, _ := r.Check(entNumber, called, clk.Now()); m != policy.KeyMissing {
		t.Errorf("the revoked key: %v, want KeyMissing", m)
	}
	if m, _ := r.Peek(entNumber, other, clk.Now()); m != policy.KeyMatched {
		t.Errorf("the other pair's key: %v, want KeyMatched", m)
	}
	_, err = r.Register(ent, k)
	if !errors.Is(err, ErrRevoked) || FieldOf(err) != "not_before" {
		t.Errorf("registering the revoked key again: %v (field %q), want ErrRevoked naming not_before", err, FieldOf(err))
	}
	r.Close()

	// From the log.
	r2, err := Open(cfg, st)
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := r2.Check(entNumber, called, clk.Now()); m != policy.KeyMissing {
		t.Errorf("after replaying the log, the revoked key: %v", m)
	}
	if n, err := r2.RevokeAll(ctx, ent); n != 1 || err != nil {
		t.Fatalf("RevokeAll: %d %v, want the one live key", n, err)
	}
	if m, _ := r2.Check(entNumber, other, clk.Now()); m != policy.KeyMissing {
		t.Errorf("after RevokeAll: %v", m)
	}
	fresh, err := r2.RegisterWait(ctx, ent, Key{Calling: entNumber, Called: called, NotBefore: clk.Now().Add(time.Second)})
	if err != nil {
		t.Fatalf("a new window after a revocation: %v", err)
	}
	if err := r2.w.snapshotNow(); err != nil {
		t.Fatal(err)
	}
	r2.Close()

	// From the snapshot.
	r3, err := Open(cfg, st)
	if err != nil {
		t.Fatal(err)
	}
	defer r3.Close()
	clk.add(2 * time.Second)
	if m, _ := r3.Peek(entNumber, other, clk.Now()); m != policy.KeyMissing {
		t.Errorf("after the snapshot, a key revoked before it: %v", m)
	}
	if m, _ := r3.Peek(entNumber, called, clk.Now()); m != policy.KeyMatched {
		t.Errorf("after the snapshot, the key registered after the revocation (%s): %v", fresh.NotBefore, m)
	}
	if _, err := r3.Register(ent, k); !errors.Is(err, ErrRevoked) {
		t.Errorf("after the snapshot, registering the revoked key again: %v, want ErrRevoked", err)
	}
}

// TestLoadsVersion1Files: a snapshot and a log written before keys were
// bound to an enterprise (version 1: CGKEYS01, 33-byte records) still
// load; their keys are bound to the enterprise enrolling the calling
// number, their uses applied; keys of numbers nobody enrols are dropped;
// the next snapshot is version 2.
func TestLoadsVersion1Files(t *testing.T) {
	st, ent := fixture(t)
	dir := t.TempDir()
	clk := newClock()
	now := unixSec(clk.Now())
	other := called + 1
	stranger := entNumber + 7 // enrolled by nobody
	rec := func(kind byte, s slot) []byte { return appendRecord(nil, kind, &s) }
	var snap []byte
	snap = append(snap, snapMagicV1...)
	snap = binary.LittleEndian.AppendUint64(snap, 3) // the log generation it continues with
	snap = binary.LittleEndian.AppendUint64(snap, 2)
	snap = append(snap, rec(recAddV1, slot{calling: entNumber, called: called, notBefore: now - 10, notAfter: now + 50})...)
	snap = append(snap, rec(recAddV1, slot{calling: stranger, called: called, notBefore: now - 10, notAfter: now + 50})...)
	if err := os.WriteFile(filepath.Join(dir, snapName), snap, 0o600); err != nil {
		t.Fatal(err)
	}
	var log []byte
	log = append(log, rec(recAddV1, slot{calling: entNumber, called: other, notBefore: now - 5, notAfter: now + 55})...)
	log = append(log, rec(recUseV1, slot{calling: entNumber, called: called, notBefore: now - 10, notAfter: now + 50, usedEnd: now - 1})...)
	if err := os.WriteFile(filepath.Join(dir, logName(3)), log, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := Config{Dir: dir, Now: clk.Now, FlushInterval: time.Hour, SnapshotInterval: time.Hour}
	ro, err := OpenReadOnly(cfg, st)
	if err != nil {
		t.Fatal(err)
	}
	if m, id := ro.Peek(entNumber, other, clk.Now()); m != policy.KeyMatched || id != ent {
		t.Errorf("read-only, a version 1 key: %v (enterprise %d)", m, id)
	}
	r, err := Open(cfg, st)
	if err != nil {
		t.Fatal(err)
	}
	if m, id := r.Peek(entNumber, other, clk.Now()); m != policy.KeyMatched || id != ent {
		t.Errorf("a version 1 log's key: %v (enterprise %d), want KeyMatched for %d", m, id, ent)
	}
	if m, _ := r.Peek(entNumber, called, clk.Now()); m != policy.KeyMissing {
		t.Errorf("a version 1 snapshot's key used in a version 1 log: %v, want KeyMissing", m)
	}
	if s := r.Stats(); s.Live != 2 {
		t.Errorf("%d keys live, want 2 (the stranger's key dropped)", s.Live)
	}
	if err := r.w.snapshotNow(); err != nil {
		t.Fatal(err)
	}
	r.Close()
	b, err := os.ReadFile(filepath.Join(dir, snapName))
	if err != nil || string(b[:8]) != snapMagic || len(b) != snapHeader+2*recordSize {
		t.Fatalf("the new snapshot: %q..., %d bytes, %v; want %s with 2 records", b[:8], len(b), err, snapMagic)
	}
	// Bound: after the number moves, the loaded keys are the old
	// enterprise's and match nothing.
	moveNumber(t, st, "globex")
	r2, err := Open(cfg, st)
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	if m, _ := r2.Peek(entNumber, other, clk.Now()); m != policy.KeyMissing {
		t.Errorf("a version 1 key after the number moved: %v, want KeyMissing", m)
	}
}
