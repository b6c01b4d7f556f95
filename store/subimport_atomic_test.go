package store_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"callgate/store"
	"callgate/store/boltkv"
	"callgate/store/kv"
)

// A bulk subscriber import is all or nothing even when it fails while
// writing: these tests break a batch, the commit, or the validation's
// assumptions (another store on the same backend writes meanwhile), and
// check that none of the import is visible, that what it staged is
// collected, and that the same file then imports.

// bulkBackend is a bbolt backend with small transactions, so an import of
// a thousand subscribers takes many batches.
func bulkBackend(t *testing.T) *boltkv.DB {
	t.Helper()
	db, err := boltkv.Open(filepath.Join(t.TempDir(), "bulk.db"), boltkv.Options{NoSync: true, Limits: kv.Limits{MaxOps: 300, MaxBytes: 1 << 20}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// bulkProvider creates provider "bulk" with the numbers subscriberCSV uses.
func bulkProvider(t *testing.T, s *store.Store) {
	t.Helper()
	if _, err := s.CreateProvider(store.Operator, store.ProviderSpec{Name: "bulk"}); err != nil {
		t.Fatal(err)
	}
	if err := s.AllocateNumbers(store.Operator, "bulk", mustRange(t, "+13122000000..+13122999999")); err != nil {
		t.Fatal(err)
	}
}

// keysMatchIndex fails unless the key space holds exactly the subscribers,
// names and numbers the index does: nothing staged is left over.
func keysMatchIndex(t *testing.T, s *store.Store) {
	t.Helper()
	recs, names, nums, err := store.SubscriberKeys(s)
	c := s.Counts()
	if err != nil || recs != c.Subscribers || names != c.Subscribers || nums != c.Numbers {
		t.Fatalf("key space: %d records, %d names, %d numbers (%v); index: %d subscribers, %d numbers",
			recs, names, nums, err, c.Subscribers, c.Numbers)
	}
	if n := store.SubImports(s); n != 0 {
		t.Fatalf("%d subimports records left", n)
	}
}

// stagesSubscribers: a staging batch (subscriber records, names or
// numbers; not the commit).
func stagesSubscribers(ops []kv.Op) bool {
	if len(ops) == 0 || !ops[0].IsPut() {
		return false
	}
	for _, p := range []string{"subscribers/", "names/", "numbers/"} {
		if bytes.HasPrefix(ops[0].Key, []byte(p)) {
			return true
		}
	}
	return false
}

// commitsImport: the commit of an import.
func commitsImport(ops []kv.Op) bool {
	for _, op := range ops {
		if op.IsPut() && bytes.HasPrefix(op.Key, []byte("subimports/")) && bytes.Contains(op.Value, []byte(`"committed"`)) {
			return true
		}
	}
	return false
}

func TestImportSubscribersFailedWrite(t *testing.T) {
	for _, tc := range []struct {
		name string
		fail func(n int, ops []kv.Op) bool
	}{
		{"fifth batch", func(n int, ops []kv.Op) bool { return stagesSubscribers(ops) && n == 5 }},
		{"tenth batch", func(n int, ops []kv.Op) bool { return stagesSubscribers(ops) && n == 10 }},
		{"commit", func(_ int, ops []kv.Op) bool { return commitsImport(ops) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var batches atomic.Int32
			var broken atomic.Bool
			broken.Store(true)
			b := failingKV{bulkBackend(t), func(ops []kv.Op) bool {
				n := 0
				if stagesSubscribers(ops) {
					n = int(batches.Add(1))
				}
				return broken.Load() && tc.fail(n, ops)
			}}
			s := newOn(t, b)
			bulkProvider(t, s)
			before := s.Counts()
			in := subscriberCSV(1000)
			_, err := s.ImportSubscribers(bytes.NewReader(in), store.SubscriberImportOptions{Actor: store.Operator})
			if err == nil || !strings.Contains(err.Error(), "injected failure") {
				t.Fatalf("import with a failing write: %v", err)
			}
			if want := map[string]int32{"fifth batch": 5, "tenth batch": 10}[tc.name]; want != 0 && batches.Load() != want {
				t.Fatalf("%d batches written, want the failure at batch %d", batches.Load(), want)
			}
			if after := s.Counts(); after != before {
				t.Fatalf("a failed import changed the counts: %+v -> %+v", before, after)
			}
			if _, err := s.GetSubscriber(store.Operator, "s0000000"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("a subscriber of the failed import: %v", err)
			}
			// The abandoned import collected what it staged at once.
			keysMatchIndex(t, s)
			broken.Store(false)
			rep, err := s.ImportSubscribers(bytes.NewReader(in), store.SubscriberImportOptions{Actor: store.Operator})
			if err != nil || rep.Written != 1000 || s.Counts().Subscribers != before.Subscribers+1000 {
				t.Fatalf("the same file again: %+v %v", rep, err)
			}
			if v, ok := s.Subscriber(mustNum("+13122000999")); !ok || v.Name != "s0000999" {
				t.Fatalf("last subscriber of the file: %+v %v", v, ok)
			}
			if _, err := s.CollectGarbage(); err != nil {
				t.Fatal(err)
			}
			keysMatchIndex(t, s)
		})
	}
}

// TestImportSubscribersSeenWhole: another store on the same backend sees
// none of an import while it is written, all of it once committed.
func TestImportSubscribersSeenWhole(t *testing.T) {
	b := bulkBackend(t)
	a, other := newOn(t, b), newOn(t, b)
	bulkProvider(t, a)
	before := other.Counts()
	staged := 0
	rep, err := a.ImportSubscribers(bytes.NewReader(subscriberCSV(1000)), store.SubscriberImportOptions{Actor: store.Operator,
		Progress: func(p store.ImportProgress) {
			if p.Phase != store.PhaseCommit {
				return
			}
			// Everything is staged, nothing committed.
			recs, _, _, err := store.SubscriberKeys(other)
			staged = recs
			if err != nil || other.Counts() != before {
				t.Errorf("before the commit the other store sees %+v (%v)", other.Counts(), err)
			}
			if _, ok := other.Subscriber(mustNum("+13122000000")); ok {
				t.Error("a staged subscriber reached the other store's view")
			}
		}})
	if err != nil || rep.Written != 1000 {
		t.Fatalf("%+v %v", rep, err)
	}
	if staged != before.Subscribers+1000 {
		t.Fatalf("%d records staged before the commit", staged)
	}
	if c := other.Counts(); c.Subscribers != before.Subscribers+1000 || c.Numbers != before.Numbers+1000 {
		t.Fatalf("after the commit the other store holds %+v", c)
	}
	v, ok := other.Subscriber(mustNum("+13122000500"))
	if !ok || v.Name != "s0000500" || v.Unknown != store.PlatformDefaults.Unknown {
		t.Fatalf("an imported subscriber on the other store: %+v %v", v, ok)
	}
	// They are ordinary subscribers: the other store changes one.
	if _, err := other.SetTreatments(store.Operator, "s0000500", store.SettingsUpdate{Unknown: ptr(store.TreatBlock)}); err != nil {
		t.Fatal(err)
	}
	if v, _ := a.Subscriber(mustNum("+13122000500")); v.Unknown != store.TreatBlock {
		t.Fatalf("the importing store misses the change: %+v", v)
	}
	if _, err := a.CollectGarbage(); err != nil {
		t.Fatal(err)
	}
	keysMatchIndex(t, a)
	keysMatchIndex(t, other)
}

// TestImportSubscribersConcurrentWrite: a subscriber created on another
// store while the import writes invalidates what the import validated, so
// the import fails whole; the other store's write stands.
func TestImportSubscribersConcurrentWrite(t *testing.T) {
	b := bulkBackend(t)
	a, other := newOn(t, b), newOn(t, b)
	bulkProvider(t, a)
	before := a.Counts()
	created := false
	_, err := a.ImportSubscribers(bytes.NewReader(subscriberCSV(1000)), store.SubscriberImportOptions{Actor: store.Operator,
		Progress: func(p store.ImportProgress) {
			if p.Phase == store.PhaseWrite && p.Done > 0 && !created {
				created = true
				if _, err := other.CreateSubscriber(store.Operator, store.SubscriberSpec{Name: "meanwhile", Provider: "bulk",
					Numbers: []string{"+13122050000"}}); err != nil {
					t.Errorf("create on the other store: %v", err)
				}
			}
		}})
	if err == nil || !strings.Contains(err.Error(), "import again") {
		t.Fatalf("import with a concurrent write: %v", err)
	}
	if c := a.Counts(); c.Subscribers != before.Subscribers+1 {
		t.Fatalf("after the refused import: %+v", c)
	}
	if _, err := a.GetSubscriber(store.Operator, "meanwhile"); err != nil {
		t.Fatal(err)
	}
	keysMatchIndex(t, a)
	keysMatchIndex(t, other)
}

// TestImportSubscribersLarge: an import past the size the index swaps in
// whole, on the importing store (its own rows) and on another (read back).
func TestImportSubscribersLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("20,000 subscribers")
	}
	b := sharedBackend(t)
	a, other := newOn(t, b), newOn(t, b)
	bulkProvider(t, a)
	const n = 20000
	rep, err := a.ImportSubscribers(bytes.NewReader(subscriberCSV(n)), store.SubscriberImportOptions{Actor: store.Operator})
	if err != nil || rep.Written != n {
		t.Fatalf("%+v %v", rep, err)
	}
	for _, s := range []*store.Store{a, other} {
		for _, i := range []int{0, n / 2, n - 1} {
			v, ok := s.Subscriber(mustNum(fmt.Sprintf("+1312%07d", 2000000+i)))
			if !ok || v.Name != fmt.Sprintf("s%07d", i) {
				t.Fatalf("subscriber %d: %+v %v", i, v, ok)
			}
		}
		if c := s.Counts(); c.Subscribers != n || c.Numbers != n {
			t.Fatalf("counts %+v", c)
		}
	}
}

// pausingReader hands out a file in two parts and runs between at the
// moment the first part is used up.
type pausingReader struct {
	first, rest io.Reader
	between     func()
	done        bool
}

func (p *pausingReader) Read(b []byte) (int, error) {
	n, err := p.first.Read(b)
	if err == io.EOF && !p.done {
		p.done = true
		p.between()
		err = nil
	}
	if n > 0 || err != nil {
		return n, err
	}
	return p.rest.Read(b)
}

// TestImportSubscribersWritesGoOnWhileReading: the file is read without
// the writer lock (a slow upload does not stop other writes); a number
// another write takes meanwhile makes its row bad when the import checks
// the rows again under the lock: refused, with that row's line, nothing
// written.
func TestImportSubscribersWritesGoOnWhileReading(t *testing.T) {
	s := newOn(t, bulkBackend(t))
	bulkProvider(t, s)
	in := subscriberCSV(1000) // line 1 is the header: s0000500 is on line 502
	cut := bytes.Index(in, []byte("s0000900"))
	before := s.Counts()
	r := &pausingReader{first: bytes.NewReader(in[:cut]), rest: bytes.NewReader(in[cut:]), between: func() {
		done := make(chan error, 1)
		go func() {
			_, err := s.CreateSubscriber(store.Operator, store.SubscriberSpec{Name: "meanwhile", Provider: "bulk", Numbers: []string{"+13122000500"}})
			done <- err
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("a write while the file is read: %v", err)
			}
		case <-time.After(30 * time.Second): // a deadlock guard, not a measurement
			t.Fatal("a write waited for the import's read: the writer lock is held while reading")
		}
	}}
	rep, err := s.ImportSubscribers(r, store.SubscriberImportOptions{Actor: store.Operator})
	if err != nil || !rep.Refused || rep.ErrorCount != 1 || len(rep.Errors) != 1 || rep.Errors[0].Line != 502 ||
		!strings.Contains(rep.Errors[0].Err, "meanwhile") || !strings.Contains(rep.Errors[0].Err, "while the file was read") {
		t.Fatalf("report %+v, %v", rep, err)
	}
	if c := s.Counts(); c.Subscribers != before.Subscribers+1 {
		t.Fatalf("counts %+v: the refused import wrote", c)
	}
	keysMatchIndex(t, s)
}
