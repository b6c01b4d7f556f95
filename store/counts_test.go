package store_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"callgate/e164"
	"callgate/store"
	"callgate/store/storetest"
)

// fullCount counts the store the slow way, through the read API: every
// tenant, every subscriber's numbers and every list's total. Counts must
// always agree with it.
func fullCount(t testing.TB, s *store.Store) store.Counts {
	t.Helper()
	var c store.Counts
	provs := s.ListProviders()
	c.Providers = len(provs)
	for _, p := range provs {
		page, err := s.ListEntries(store.Operator, store.ProviderPrefix+p.Name, store.ListBlocked, 0, 1)
		if err != nil {
			t.Fatal(err)
		}
		c.ProviderBlockedEntries += page.Total
	}
	var after uint32
	for {
		subs, err := s.ListSubscribers(store.Operator, "", after, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, sub := range subs {
			c.Subscribers++
			c.Numbers += len(sub.Numbers)
			for _, l := range []store.List{store.ListVIP, store.ListBlocked} {
				page, err := s.ListEntries(store.Operator, sub.Name, l, 0, 1)
				if err != nil {
					t.Fatal(err)
				}
				if l == store.ListVIP {
					c.VIPEntries += page.Total
				} else {
					c.BlockedEntries += page.Total
				}
			}
		}
		if len(subs) < 1000 {
			break
		}
		after = subs[len(subs)-1].ID
	}
	for _, e := range s.ListEnterprises() {
		c.Enterprises++
		c.EnterpriseNumbers += len(e.Numbers)
	}
	routes, _ := s.Routes()
	c.Routes = len(routes)
	return c
}

// TestCounts follows Counts through every kind of change — list adds and
// removals, imports (merge, replace, dry run, failed), bulk loads, number
// changes and deletions of subscribers, providers and enterprises — and
// checks it against a full count and against a reopened store's index
// after each step.
func TestCounts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "callgate.db")
	s, err := store.Open(path, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { s.Close() }()
	if got := s.Counts(); got != (store.Counts{}) {
		t.Fatalf("empty store: %+v", got)
	}
	if err := storetest.Populate(s); err != nil {
		t.Fatal(err)
	}
	step := 0
	check := func(what string, want *store.Counts) {
		t.Helper()
		step++
		got := s.Counts()
		if full := fullCount(t, s); got != full {
			t.Fatalf("step %d (%s): Counts %+v, full count %+v", step, what, got, full)
		}
		if want != nil && got != *want {
			t.Fatalf("step %d (%s): Counts %+v, want %+v", step, what, got, *want)
		}
		// The index rebuilt from the file counts the same.
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if s, err = store.Open(path, store.Options{NoSync: true}); err != nil {
			t.Fatal(err)
		}
		if re := s.Counts(); re != got {
			t.Fatalf("step %d (%s): Counts %+v, after reopening %+v", step, what, got, re)
		}
	}
	check("demo data", &store.Counts{Providers: 2, Subscribers: 3, Enterprises: 1, Numbers: 4, EnterpriseNumbers: 1,
		Routes: 2, VIPEntries: 1, BlockedEntries: 1, ProviderBlockedEntries: 1})

	if _, err := s.AddToList(store.Operator, storetest.Alice, store.ListBlocked,
		[]string{"+12025550100", "+12025550101", storetest.BlockedCaller}, ""); err != nil { // one already there
		t.Fatal(err)
	}
	if _, err := s.AddToList(store.Operator, storetest.Bob, store.ListVIP, []string{"+12025550102"}, ""); err != nil {
		t.Fatal(err)
	}
	check("list adds", nil)
	if got := s.Counts(); got.BlockedEntries != 3 || got.VIPEntries != 2 || got.ListEntries() != 6 {
		t.Fatalf("after adds: %+v", got)
	}

	if _, err := s.RemoveFromList(store.Operator, storetest.Alice, store.ListBlocked,
		[]string{"+12025550100", "+19995550100"}); err != nil { // one not on the list
		t.Fatal(err)
	}
	check("list removal", nil)

	csv := "alice,blocked,+12025550110\nalice,vip,+12025550111\nbob,blocked,+12025550112\n" +
		"provider:globex,blocked,+19005550100\nprovider:globex,blocked,+19005550101\nalice,blocked,+12025550110\n"
	if _, err := s.Import(strings.NewReader(csv), store.ImportOptions{Actor: store.Operator}); err != nil {
		t.Fatal(err)
	}
	check("import", nil)
	if _, err := s.Import(strings.NewReader("alice,blocked,+12025550120\n"), store.ImportOptions{Actor: store.Operator, DryRun: true}); err != nil {
		t.Fatal(err)
	}
	check("dry-run import", nil)
	// Replace shrinks Alice's Blocked list to one row.
	if _, err := s.Import(strings.NewReader("alice,blocked,+12025550130\n"), store.ImportOptions{Actor: store.Operator, Replace: true}); err != nil {
		t.Fatal(err)
	}
	check("replacing import", nil)
	if got := s.Counts(); got.BlockedEntries != 2 {
		t.Fatalf("after replace: Blocked %d, want 2 (alice 1, bob 1)", got.BlockedEntries)
	}

	err = s.BulkLoad(func(l *store.BulkLoader) error {
		for i := range 50 {
			name := fmt.Sprintf("bulk%d", i)
			if _, err := l.CreateSubscriber(store.SubscriberSpec{Name: name, Provider: storetest.Provider,
				Numbers: []string{fmt.Sprintf("+130355501%02d", 20+i)}}); err != nil {
				return err
			}
			nums := make([]e164.Number, 10)
			for j := range nums {
				nums[j] = e164.Number(12125560000 + uint64(i*10+j))
			}
			if err := l.AddEntries(name, store.ListBlocked, nums, ""); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	check("bulk load", nil)
	// A bulk load that fails part way keeps what it committed and rebuilds
	// the index from the file.
	err = s.BulkLoad(func(l *store.BulkLoader) error {
		if err := l.AddEntries("bulk0", store.ListVIP, []e164.Number{12125570000}, ""); err != nil {
			return err
		}
		return l.AddEntries("nobody", store.ListVIP, []e164.Number{12125570001}, "")
	})
	if err == nil {
		t.Fatal("bulk load into an unknown owner succeeded")
	}
	check("failed bulk load", nil)

	if _, err := s.AssignNumbers(store.Operator, storetest.Bob, "+13035550190", "+13035550191"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UnassignNumbers(store.Operator, storetest.Alice, storetest.AliceNumber2); err != nil {
		t.Fatal(err)
	}
	check("numbers assigned and unassigned", nil)

	if err := s.DeleteSubscriber(store.Operator, storetest.Alice); err != nil { // with VIP and Blocked rows
		t.Fatal(err)
	}
	check("subscriber with lists deleted", nil)
	if err := s.DeleteEnterprise(store.Operator, storetest.Enterprise); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSubscriber(store.Operator, storetest.Carol); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteProvider(store.Operator, storetest.OtherProvider); err != nil { // with 2 provider Blocked rows
		t.Fatal(err)
	}
	if err := s.DeleteRoute(store.Operator, storetest.OtherRoute); err != nil {
		t.Fatal(err)
	}
	check("enterprise, provider and route deleted", nil)
	if got := s.Counts(); got.Providers != 1 || got.Enterprises != 0 || got.ProviderBlockedEntries != 1 || got.Routes != 1 {
		t.Fatalf("after deletions: %+v", got)
	}
}

// BenchmarkCounts is the metrics scrape's cost on a store of 100,000
// subscribers with 100 Blocked rows each (10,000,000 rows; built once and
// cached, see storetest.Large): "index" is Counts, "walk" is what the
// daemon did before, listing every subscriber and asking each list's total.
func BenchmarkCounts(b *testing.B) {
	s := storetest.Large(b, 100_000, 100)
	b.Run("index", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = s.Counts()
		}
	})
	b.Run("walk", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = fullCount(b, s)
		}
	})
	if got, full := s.Counts(), fullCount(b, s); got != full {
		b.Fatalf("Counts %+v, full count %+v", got, full)
	}
}
