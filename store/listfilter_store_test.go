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
// the file). After each, every published filter is the one its rows build,
// every subscriber number's hint points at its Blocked filter in the arena
// (filterarena.go: each replacement moves the filter), and the look-ups
// answer for every row and for numbers on no list.
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
		if stale, outside := store.StaleHints(s); stale != 0 || outside != 0 {
			t.Fatalf("%s: %d numbers with a stale hint, %d Blocked filters outside the arena", step, stale, outside)
		}
		for k := range 400 {
			if got := s.InBlocked(alice.ID, num(k)); got != blocked(k) {
				t.Fatalf("%s: InBlocked(%s) = %v, want %v", step, num(k), got, blocked(k))
			}
			if got := s.LookupCall(mustNum(storetest.AliceNumber), num(k)).Blocked; got != blocked(k) {
				t.Fatalf("%s: LookupCall(alice, %s).Blocked = %v, want %v", step, num(k), got, blocked(k))
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

// TestFilterArenaPacks replaces two subscribers' long Blocked lists one
// row at a time until the filter arena has been packed anew more than
// once (the old filters are garbage): after each change every hint points
// at its subscriber's filter and LookupCall answers as InBlocked does.
func TestFilterArenaPacks(t *testing.T) {
	s := storetest.Fixture(t)
	subs := []string{storetest.Alice, storetest.Bob}
	called := []e164.Number{mustNum(storetest.AliceNumber), mustNum(storetest.BobNumber)}
	num := func(sub, k int) e164.Number { return e164.Number(14155000000 + 100000*sub + 3*k) }
	const rows = 1500 // 30 blocks: the longest filter the arena takes is 32
	for i, sub := range subs {
		var strs []string
		for k := range rows {
			strs = append(strs, num(i, k).String())
		}
		if _, err := s.AddToList(store.Operator, sub, store.ListBlocked, strs, ""); err != nil {
			t.Fatal(err)
		}
	}
	arena, _ := store.FilterArena(s)
	packs := 0
	for step := range 100 {
		i := step % 2
		if _, err := s.AddToList(store.Operator, subs[i], store.ListBlocked, []string{num(i, rows+step).String()}, ""); err != nil {
			t.Fatal(err)
		}
		if a, _ := store.FilterArena(s); a != arena {
			arena = a
			packs++
		}
		if stale, outside := store.StaleHints(s); stale != 0 || outside != 0 {
			t.Fatalf("step %d: %d numbers with a stale hint, %d Blocked filters outside the arena", step, stale, outside)
		}
		for j := range called {
			v, _ := s.Subscriber(called[j])
			for _, c := range []e164.Number{num(j, 0), num(j, rows+step), num(j, rows+step+1), num(1-j, 7), num(j, 1) + 1} {
				if got, want := s.LookupCall(called[j], c).Blocked, s.InBlocked(v.ID, c); got != want {
					t.Fatalf("step %d: LookupCall(%s, %s).Blocked = %v, InBlocked %v", step, called[j], c, got, want)
				}
			}
		}
	}
	if packs < 2 {
		t.Fatalf("the arena was packed %d times in 100 list changes of 30 blocks, want 2 or more", packs)
	}
	if n := store.StaleFilters(s); n != 0 {
		t.Fatalf("%d lists with a stale filter", n)
	}
}

// TestLookupCallWrongHints: hints that point at another subscriber's
// filter (of the same size) change no answer of LookupCall: it checks a
// hint against the list before trusting it.
func TestLookupCallWrongHints(t *testing.T) {
	s := storetest.Fixture(t)
	subs := []string{storetest.Alice, storetest.Bob}
	called := []e164.Number{mustNum(storetest.AliceNumber), mustNum(storetest.BobNumber)}
	num := func(sub, k int) e164.Number { return e164.Number(14155000000 + 100000*sub + 3*k) }
	for i, sub := range subs {
		var strs []string
		for k := range 200 {
			strs = append(strs, num(i, k).String())
		}
		if _, err := s.AddToList(store.Operator, sub, store.ListBlocked, strs, ""); err != nil {
			t.Fatal(err)
		}
	}
	store.RotateHints(s)
	if stale, _ := store.StaleHints(s); stale == 0 {
		t.Fatal("RotateHints left every hint right")
	}
	for j := range called {
		for k := range 200 {
			if !s.LookupCall(called[j], num(j, k)).Blocked {
				t.Fatalf("LookupCall(%s, %s).Blocked = false with a wrong hint; the number is on the list", called[j], num(j, k))
			}
		}
	}
}
