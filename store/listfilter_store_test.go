package store_test

import (
	"bytes"
	"fmt"
	"testing"

	"callgate/e164"
	"callgate/store"
	"callgate/store/storetest"
)

// TestListFiltersFollowTheirLists drives long lists (with filters) through
// every way a list is replaced: single adds and removes, a CSV import
// merged and replacing, a provider list, and a reopen (the index built from
// the file). After each, every published filter is the one its rows build
// and the look-ups answer for every row and for numbers on no list.
func TestListFiltersFollowTheirLists(t *testing.T) {
	s := storetest.Fixture(t)
	alice, ok := s.Subscriber(mustNum(storetest.AliceNumber))
	if !ok {
		t.Fatal("alice missing")
	}
	num := func(k int) e164.Number { return e164.Number(13125000000 + 7*k) }
	strs := func(from, to int) []string {
		var out []string
		for k := from; k < to; k++ {
			out = append(out, num(k).String())
		}
		return out
	}
	// want: the rows expected on alice's Blocked list and the provider's
	// VIP list, among num(0..400).
	check := func(s *store.Store, step string, blocked, provVIP func(k int) bool) {
		t.Helper()
		if n := store.StaleFilters(s); n != 0 {
			t.Fatalf("%s: %d lists with a stale filter", step, n)
		}
		for k := range 400 {
			if got := s.InBlocked(alice.ID, num(k)); got != blocked(k) {
				t.Fatalf("%s: InBlocked(%s) = %v, want %v", step, num(k), got, blocked(k))
			}
			if got := s.ProviderVIP(alice.Provider, num(k)); got != provVIP(k) {
				t.Fatalf("%s: ProviderVIP(%s) = %v, want %v", step, num(k), got, provVIP(k))
			}
		}
		if !s.InBlocked(alice.ID, mustNum(storetest.BlockedCaller)) {
			t.Fatalf("%s: fixture's blocked caller lost", step)
		}
	}
	none := func(int) bool { return false }
	check(s, "fixture", none, none)

	if _, err := s.AddToList(store.Operator, storetest.Alice, store.ListBlocked, strs(0, 200), ""); err != nil {
		t.Fatal(err)
	}
	check(s, "add 200", func(k int) bool { return k < 200 }, none)

	if _, err := s.RemoveFromList(store.Operator, storetest.Alice, store.ListBlocked, strs(50, 150)); err != nil {
		t.Fatal(err)
	}
	blocked := func(k int) bool { return k < 50 || (k >= 150 && k < 200) }
	check(s, "remove 100", blocked, none)

	if _, err := s.AddToList(store.Operator, "provider:"+storetest.Provider, store.ListVIP, strs(300, 400), ""); err != nil {
		t.Fatal(err)
	}
	provVIP := func(k int) bool { return k >= 300 }
	check(s, "provider VIP 100", blocked, provVIP)

	var csv bytes.Buffer
	for k := 200; k < 260; k++ {
		fmt.Fprintf(&csv, "%s,blocked,%s\n", storetest.Alice, num(k))
	}
	if _, err := s.Import(bytes.NewReader(csv.Bytes()), store.ImportOptions{Actor: store.Operator}); err != nil {
		t.Fatal(err)
	}
	blocked = func(k int) bool { return k < 50 || (k >= 150 && k < 260) }
	check(s, "import merged", blocked, provVIP)

	csv.Reset()
	fmt.Fprintf(&csv, "%s,blocked,%s\n", storetest.Alice, storetest.BlockedCaller)
	for k := 0; k < 30; k++ {
		fmt.Fprintf(&csv, "%s,blocked,%s\n", storetest.Alice, num(k))
	}
	if _, err := s.Import(bytes.NewReader(csv.Bytes()), store.ImportOptions{Actor: store.Operator, Replace: true}); err != nil {
		t.Fatal(err)
	}
	blocked = func(k int) bool { return k < 30 }
	check(s, "import replacing", blocked, provVIP)

	path := s.Path()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := store.Open(path, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	check(s2, "reopened", blocked, provVIP)
}
