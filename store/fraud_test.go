package store

import (
	"path/filepath"
	"testing"
)

// The fraud signal's keys: written in one transaction, read back in key
// order by prefix, deleted; a file without them reads as empty.
func TestFraudKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	s, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.FraudGet("lock/s1"); ok || err != nil {
		t.Fatalf("empty store: %v %v", ok, err)
	}
	if err := s.FraudScan("", func(string, []byte) error { t.Fatal("a key in an empty store"); return nil }); err != nil {
		t.Fatal(err)
	}
	err = s.FraudWrite([]FraudOp{{Key: "day/s1/2026-03-02", Value: []byte("2")}, {Key: "day/s1/2026-03-01", Value: []byte("1")},
		{Key: "lock/s1", Value: []byte("L")}, {Key: "dayz", Value: []byte("x")}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	_ = s.FraudScan("day/", func(k string, v []byte) error { got = append(got, k+"="+string(v)); return nil })
	if len(got) != 2 || got[0] != "day/s1/2026-03-01=1" || got[1] != "day/s1/2026-03-02=2" {
		t.Fatalf("scan: %v", got)
	}
	if err := s.FraudWrite([]FraudOp{{Key: "lock/s1", Delete: true}, {Key: ""}}); err == nil {
		t.Fatal("an empty key was accepted")
	}
	if _, ok, _ := s.FraudGet("lock/s1"); !ok {
		t.Fatal("a refused transaction was half applied")
	}
	if err := s.FraudWrite([]FraudOp{{Key: "lock/s1", Delete: true}}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, ok, _ := s.FraudGet("day/s1/2026-03-02"); !ok || string(v) != "2" {
		t.Fatalf("after reopen: %q %v", v, ok)
	}
	if _, ok, _ := s.FraudGet("lock/s1"); ok {
		t.Fatal("deleted key still there")
	}
}
