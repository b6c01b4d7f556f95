package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"callgate/store"
	"callgate/store/boltkv"
	"callgate/store/kv"
	"callgate/store/storetest"

	"golang.org/x/crypto/bcrypt"
)

// Tests of the kv seam: stores sharing one backend converge through the
// change feed; large changes are staged and committed atomically; garbage
// is collected.

var seamOpts = store.Options{PINCost: bcrypt.MinCost, GCInterval: -1}

func sharedBackend(t *testing.T) *boltkv.DB {
	t.Helper()
	db, err := boltkv.Open(filepath.Join(t.TempDir(), "shared.db"), boltkv.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func newOn(t *testing.T, b kv.Backend) *store.Store {
	t.Helper()
	s, err := store.New(b, seamOpts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Two stores over one backend: each sees the other's writes as soon as
// they commit, because the index follows the change feed, not the writer.
func TestStoresOnOneBackendConverge(t *testing.T) {
	b := sharedBackend(t)
	a, c := newOn(t, b), newOn(t, b)
	if err := storetest.Populate(a); err != nil {
		t.Fatal(err)
	}
	alice, ok := c.Subscriber(mustNum(storetest.AliceNumber))
	if !ok || !alice.HasPIN || !c.InVIP(alice.ID, mustNum(storetest.VIPCaller)) || !c.InBlocked(alice.ID, mustNum(storetest.BlockedCaller)) {
		t.Fatalf("store C does not see A's demo data: %+v", alice)
	}
	if r, ok := c.EgressRoute(alice.Provider); !ok || r.Name != storetest.Route {
		t.Fatalf("C's route: %+v %v", r, ok)
	}
	if _, err := c.SetTreatments(store.Operator, storetest.Alice, store.SettingsUpdate{Unknown: ptr(store.TreatBlock)}); err != nil {
		t.Fatal(err)
	}
	if v, _ := a.Subscriber(mustNum(storetest.AliceNumber)); v.Unknown != store.TreatBlock {
		t.Fatalf("A's view after C's change: %+v", v)
	}
	if _, err := a.SetProviderDefaults(store.Operator, storetest.Provider, store.SettingsUpdate{RejectWithMedia: ptr(store.ToggleOn)}); err != nil {
		t.Fatal(err)
	}
	if v, _ := c.Subscriber(mustNum(storetest.AliceNumber)); !v.RejectWithMedia {
		t.Fatal("C's view misses A's provider default")
	}
	if err := c.DeleteSubscriber(store.Operator, storetest.Bob); err != nil {
		t.Fatal(err)
	}
	if _, ok := a.Subscriber(mustNum(storetest.BobNumber)); ok {
		t.Fatal("A still sees the subscriber C deleted")
	}
	if ca, cc := a.Counts(), c.Counts(); ca != cc {
		t.Fatalf("counts differ: A %+v, C %+v", ca, cc)
	}
	if ea, ec := exportAll(t, a), exportAll(t, c); ea != ec {
		t.Fatalf("exports differ:\n%s\n%s", ea, ec)
	}
}

// A write by anything else on the backend (here a raw kv transaction)
// reaches the index: nothing but the feed moves it.
func TestIndexFollowsForeignWrites(t *testing.T) {
	b := sharedBackend(t)
	s := newOn(t, b)
	if err := storetest.Populate(s); err != nil {
		t.Fatal(err)
	}
	sub, err := s.GetSubscriber(store.Operator, storetest.Carol)
	if err != nil {
		t.Fatal(err)
	}
	sub.Permissions = store.PermAll
	data, _ := json.Marshal(&sub)
	key := append([]byte("subscribers/"), 0, 0, 0, byte(sub.ID))
	if _, err := b.Txn(context.Background(), nil, []kv.Op{kv.Put(key, data)}); err != nil {
		t.Fatal(err)
	}
	v, _ := s.Subscriber(mustNum(storetest.CarolNumber))
	if v.Unknown != store.TreatAllow {
		t.Fatalf("Carol's own unknown=allow should count once her permissions allow it: %+v", v)
	}
	if n, err := s.FeedErrors(); n != 0 {
		t.Fatalf("feed errors: %d %v", n, err)
	}
}

// Concurrent writers on two stores: conflicts are retried, nothing is
// lost, and uniqueness holds across stores.
func TestConcurrentWritersOnTwoStores(t *testing.T) {
	b := sharedBackend(t)
	a, c := newOn(t, b), newOn(t, b)
	if err := storetest.Populate(a); err != nil {
		t.Fatal(err)
	}
	const per = 40
	var wg sync.WaitGroup
	errs := make(chan error, 4*per)
	for w, s := range []*store.Store{a, c, a, c} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				num := fmt.Sprintf("+1202555%d%03d", w, i)
				if _, err := s.AddToList(store.Operator, storetest.Alice, store.ListBlocked, []string{num}, fmt.Sprint("w", w)); err != nil {
					errs <- err
				}
			}
		}()
	}
	// Both stores race to create the same subscriber name.
	created := make(chan error, 2)
	for i, s := range []*store.Store{a, c} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.CreateSubscriber(store.Operator, store.SubscriberSpec{Name: "dave", Provider: storetest.Provider, Numbers: []string{fmt.Sprintf("+1303555016%d", i)}})
			created <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	e1, e2 := <-created, <-created
	if (e1 == nil) == (e2 == nil) || !errors.Is(errors.Join(e1, e2), store.ErrExists) {
		t.Fatalf("creating one name twice at once: %v / %v, want one success and one ErrExists", e1, e2)
	}
	for _, s := range []*store.Store{a, c} {
		page, err := s.ListEntries(store.Operator, storetest.Alice, store.ListBlocked, 0, 1000)
		if err != nil || page.Total != 4*per+1 {
			t.Fatalf("blocked list: %d rows (%v), want %d", page.Total, err, 4*per+1)
		}
	}
}

// bigCSV is rows rows over the given owners' Blocked lists, numbers
// disjoint per call (base).
func bigCSV(owners []string, rows, base int, note string) string {
	var sb strings.Builder
	for i := range rows {
		fmt.Fprintf(&sb, "%s,blocked,+1646%07d,%s\n", owners[i%len(owners)], base+i, note)
	}
	return sb.String()
}

// An import larger than one transaction is staged and committed as one:
// the lists switch together, notes included, and later single edits go
// into the import's generation.
func TestLargeImportStagedAtomically(t *testing.T) {
	s := storetest.Fixture(t)
	lim := store.AtomicLimits(s)
	rows := lim.MaxOps * 300 // far more chunks than one transaction may carry
	owners := []string{storetest.Alice, storetest.Bob, "provider:" + storetest.Provider}
	var phases []store.ImportPhase
	rep, err := s.Import(strings.NewReader(bigCSV(owners, rows, 2000000, "bulk")), store.ImportOptions{Actor: store.Operator,
		Progress: func(p store.ImportProgress) {
			if len(phases) == 0 || phases[len(phases)-1] != p.Phase {
				phases = append(phases, p.Phase)
			}
		}})
	if err != nil || rep.Added != rows || rep.Lists != 3 {
		t.Fatalf("import: added %d lists %d errors %d %v (%v)", rep.Added, rep.Lists, rep.ErrorCount, rep.Errors[:min(1, len(rep.Errors))], err)
	}
	if fmt.Sprint(phases) != "[reading writing committing]" {
		t.Fatalf("phases %v", phases)
	}
	gens, live := store.CommittedGenerations(s)
	if len(gens) != 1 || live != gens[0] {
		t.Fatalf("committed generations %v, meta/gen %d; want one, live", gens, live)
	}
	alice, _ := s.Subscriber(mustNum(storetest.AliceNumber))
	if !s.InBlocked(alice.ID, mustNum("+16462000000")) || !s.InBlocked(alice.ID, mustNum(storetest.BlockedCaller)) {
		t.Fatal("imported rows or earlier rows missing from Alice's list")
	}
	page, err := s.ListEntries(store.Operator, storetest.Alice, store.ListBlocked, 0, 2)
	if err != nil || page.Entries[0].Note != "car warranty" || page.Entries[1].Note != "bulk" {
		t.Fatalf("notes after a staged import: %+v %v", page, err)
	}
	if n, err := store.GarbageRows(s); err != nil || n != 0 {
		t.Fatalf("garbage after a clean import: %d %v", n, err)
	}
	// A single edit lands in the import's generation and survives reopen.
	if _, err := s.AddToList(store.Operator, storetest.Alice, store.ListBlocked, []string{"+12025550177"}, "after"); err != nil {
		t.Fatal(err)
	}
	want := exportAll(t, s)
	path := s.Path()
	s.Close()
	s = openAt(t, path)
	defer s.Close()
	if got := exportAll(t, s); got != want {
		t.Fatal("export differs after reopen")
	}
	if !s.InBlocked(alice.ID, mustNum("+12025550177")) {
		t.Fatal("single edit after the import lost on reopen")
	}
	// A second large import shadows the first generation, whose rows and
	// commit record are then collected.
	if _, err := s.Import(strings.NewReader(bigCSV(owners, rows, 5000000, "")), store.ImportOptions{Actor: store.Operator, Replace: true}); err != nil {
		t.Fatal(err)
	}
	if gens, live := store.CommittedGenerations(s); len(gens) != 1 || gens[0] != live {
		t.Fatalf("after a second import: generations %v, live %d", gens, live)
	}
	if n, err := store.GarbageRows(s); err != nil || n != 0 {
		t.Fatalf("shadowed rows left: %d %v", n, err)
	}
	if s.InBlocked(alice.ID, mustNum("+12025550177")) || !s.InBlocked(alice.ID, mustNum("+16465000000")) {
		t.Fatal("replace import not in effect")
	}
}

// failingKV fails the transaction that commits a generation.
type failingKV struct {
	kv.Backend
	fail func(ops []kv.Op) bool
}

func (f failingKV) Txn(ctx context.Context, cmps []kv.Cmp, ops []kv.Op) (int64, error) {
	if f.fail(ops) {
		return 0, errors.New("injected failure")
	}
	return f.Backend.Txn(ctx, cmps, ops)
}

func commitsGeneration(ops []kv.Op) bool {
	for _, op := range ops {
		if op.IsPut() && string(op.Key) == "meta/gen" {
			return true
		}
	}
	return false
}

// An import that fails at its commit leaves the old lists in force and
// garbage that CollectGarbage removes.
func TestFailedImportLeavesGarbageThatIsCollected(t *testing.T) {
	b := sharedBackend(t)
	s, err := store.New(failingKV{b, commitsGeneration}, seamOpts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := storetest.Populate(s); err != nil {
		t.Fatal(err)
	}
	before := exportAll(t, s)
	rows := store.AtomicLimits(s).MaxOps * 300
	_, err = s.Import(strings.NewReader(bigCSV([]string{storetest.Alice}, rows, 2000000, "x")), store.ImportOptions{Actor: store.Operator})
	if err == nil || !strings.Contains(err.Error(), "injected failure") {
		t.Fatalf("import with a failing commit: %v", err)
	}
	if got := exportAll(t, s); got != before {
		t.Fatal("a failed import changed the lists")
	}
	n, err := store.GarbageRows(s)
	if err != nil || n < rows/256 {
		t.Fatalf("garbage rows after the failed import: %d %v, want the staged rows", n, err)
	}
	st, err := s.CollectGarbage()
	if err != nil || st.Lists == 0 {
		t.Fatalf("CollectGarbage: %+v %v", st, err)
	}
	if n, err := store.GarbageRows(s); err != nil || n != 0 {
		t.Fatalf("garbage rows after collection: %d %v", n, err)
	}
	if got := exportAll(t, s); got != before {
		t.Fatal("garbage collection changed the lists")
	}
}

// A list edited by another store while an import stages it: the import's
// commit notices, stages that list again, and both changes survive.
func TestImportRestagesListsChangedMeanwhile(t *testing.T) {
	b := sharedBackend(t)
	a, c := newOn(t, b), newOn(t, b)
	if err := storetest.Populate(a); err != nil {
		t.Fatal(err)
	}
	rows := store.AtomicLimits(a).MaxOps * 300
	edited := false
	rep, err := a.Import(strings.NewReader(bigCSV([]string{storetest.Alice, storetest.Bob}, rows, 2000000, "")), store.ImportOptions{Actor: store.Operator,
		Progress: func(p store.ImportProgress) {
			if p.Phase == store.PhaseCommit && !edited {
				edited = true
				if _, err := c.AddToList(store.Operator, storetest.Alice, store.ListBlocked, []string{"+12025550188"}, "meanwhile"); err != nil {
					t.Error(err)
				}
			}
		}})
	if err != nil || !edited || rep.ErrorCount > 0 {
		t.Fatalf("import: added %d, %d errors %v (%v, edited %v)", rep.Added, rep.ErrorCount, rep.Errors[:min(1, len(rep.Errors))], err, edited)
	}
	for _, s := range []*store.Store{a, c} {
		alice, _ := s.Subscriber(mustNum(storetest.AliceNumber))
		if !s.InBlocked(alice.ID, mustNum("+12025550188")) || !s.InBlocked(alice.ID, mustNum("+16462000000")) {
			t.Fatal("the concurrent edit or the import is missing")
		}
	}
	if n, err := store.GarbageRows(a); err != nil || n != 0 {
		t.Fatalf("garbage after the restaged import: %d %v", n, err)
	}
}

// A route with a SIP URI and no routing number used to be stored as
// "RoutingNumber":"", which made the store fail to open again.
func TestRouteWithoutRoutingNumberReopens(t *testing.T) {
	path := filepath.Join(t.TempDir(), "callgate.db")
	s := openAt(t, path)
	if _, err := s.SetRoute(store.Operator, store.RouteSpec{Name: "sip-only", SIPURI: "sip:b2bua@example.net"}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openAt(t, path)
	defer s.Close()
	if rs, _ := s.Routes(); len(rs) != 1 || rs[0].SIPURI != "sip:b2bua@example.net" || rs[0].RoutingNumber != 0 {
		t.Fatalf("routes after reopen: %+v", rs)
	}
}

// A full export carries every note, of in-place and staged lists alike.
func TestFullExportCarriesNotes(t *testing.T) {
	s := storetest.Fixture(t)
	rows := store.AtomicLimits(s).MaxOps * 300
	if _, err := s.Import(strings.NewReader(bigCSV([]string{storetest.Bob}, rows, 2000000, "staged note")), store.ImportOptions{Actor: store.Operator}); err != nil {
		t.Fatal(err)
	}
	exp := exportAll(t, s)
	for _, want := range []string{
		storetest.AliceNumber + ",vip," + storetest.VIPCaller + ",mum",
		"provider:" + storetest.Provider + ",blocked," + storetest.ProviderBlocked + ",premium-rate scam",
		storetest.BobNumber + ",blocked,+16462000000,staged note",
	} {
		if !strings.Contains(exp, want+"\n") {
			t.Errorf("export lacks %q", want)
		}
	}
	if got := strings.Count(exp, "\n"); got != rows+4 {
		t.Errorf("export has %d lines, want %d", got, rows+4)
	}
}
