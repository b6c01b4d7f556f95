package keys

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"callgate/policy"
)

// TestPeekUsesNothing: Peek answers as Check would, but a single-use key
// it matched still matches the call it was registered for.
func TestPeekUsesNothing(t *testing.T) {
	st, ent := fixture(t)
	clk := newClock()
	r := openReg(t, st, Config{Now: clk.Now, SingleUse: true, Grace: -1})
	if m, _ := r.Peek(entNumber, called, clk.Now()); m != policy.KeyMissing {
		t.Fatalf("no key yet: %v", m)
	}
	if _, err := r.Register(ent, Key{Calling: entNumber, Called: called}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if m, id := r.Peek(entNumber, called, clk.Now()); m != policy.KeyMatched || id != ent {
			t.Fatalf("peek %d: %v (%d)", i+1, m, id)
		}
	}
	if m, _ := r.Check(entNumber, called, clk.Now()); m != policy.KeyMatched {
		t.Fatal("peeking used the single-use key up")
	}
	if m, _ := r.Peek(entNumber, called, clk.Now()); m != policy.KeyMissing {
		t.Errorf("after the call used it: %v, want KeyMissing", m)
	}
}

// TestOpenReadOnly: a read-only registry sees the keys a writing one
// saved (snapshot and log), and changes no file of the folder.
func TestOpenReadOnly(t *testing.T) {
	st, ent := fixture(t)
	dir := t.TempDir()
	clk := newClock()
	cfg := Config{Dir: dir, Now: clk.Now, FlushInterval: time.Hour, SnapshotInterval: time.Hour}
	w := openReg(t, st, cfg)
	if _, err := w.RegisterWait(context.Background(), ent, Key{Calling: entNumber, Called: called}); err != nil {
		t.Fatal(err)
	}
	list := func() []string {
		var out []string
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			info, _ := e.Info()
			out = append(out, e.Name()+":"+info.ModTime().String()+":"+string(rune(info.Size())))
		}
		return out
	}
	before := list()
	r, err := OpenReadOnly(cfg, st)
	if err != nil {
		t.Fatal(err)
	}
	if m, id := r.Peek(entNumber, called, clk.Now()); m != policy.KeyMatched || id != ent {
		t.Errorf("the saved key: %v (%d), want KeyMatched", m, id)
	}
	if m, _ := r.Peek(entNumber, called+1, clk.Now()); m != policy.KeyMissing {
		t.Errorf("no key: %v", m)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if after := list(); !slices.Equal(before, after) {
		t.Errorf("the folder changed: %v -> %v", before, after)
	}
	// A folder that was never written holds no keys, and is not created.
	missing := filepath.Join(dir, "never")
	r2, err := OpenReadOnly(Config{Dir: missing, Now: clk.Now}, st)
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := r2.Peek(entNumber, called, clk.Now()); m != policy.KeyMissing {
		t.Errorf("empty folder: %v", m)
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("the folder was created: %v", err)
	}
}
