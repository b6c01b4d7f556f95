// Package logtest damages decision logs for the tests of the packages that
// read them (admin, cmd/callgate), in the one way that knows the file's
// layout (policy/decisionlog/keys.go, blob.go), so that a change of the
// layout is mended here once.
package logtest

import (
	"testing"

	bolt "go.etcd.io/bbolt"
)

// DamageFirstSegment makes the oldest segment of the closed decision log
// at path unreadable, as a bad sector after start would: its value (the
// one key of its nested bucket) becomes bytes that are no segment. The
// file itself stays sound, so the log opens and searches meet the damage.
func DamageFirstSegment(t testing.TB, path string) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		seg := tx.Bucket([]byte("seg"))
		k, _ := seg.Cursor().First()
		return seg.Bucket(k).Put([]byte{0}, []byte("junk"))
	})
	if cerr := db.Close(); err != nil || cerr != nil {
		t.Fatal(err, cerr)
	}
}
