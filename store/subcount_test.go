package store_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"callgate/store"
	"callgate/store/storetest"
)

// TestCountSubscribers follows the per-provider count through every kind
// of change — creation, deletion, a small bulk import (added in place), a
// large one (swapped in) and a refused one — and checks it, for every
// role, against the length of the full listing and against a reopened
// store's index after each step.
func TestCountSubscribers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "callgate.db")
	s, err := store.Open(path, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { s.Close() }()
	if err := storetest.Populate(s); err != nil {
		t.Fatal(err)
	}
	actors := []store.Actor{store.Operator, store.ProviderActor(storetest.Provider), store.ProviderActor(storetest.OtherProvider),
		store.SubscriberActor(storetest.Alice), store.SubscriberActor(storetest.Carol)}
	counts := func() map[string]int {
		t.Helper()
		out := map[string]int{}
		for _, a := range actors {
			for _, prov := range []string{"", storetest.Provider, storetest.OtherProvider} {
				n, err := s.CountSubscribers(a, prov)
				all, lerr := s.ListSubscribers(a, prov, 0, 0)
				if (err == nil) != (lerr == nil) || n != len(all) {
					t.Fatalf("%s, provider %q: count %d (%v), listing %d (%v)", a, prov, n, err, len(all), lerr)
				}
				out[fmt.Sprintf("%s/%s", a, prov)] = n
			}
		}
		return out
	}
	step := func(what string, want map[string]int) {
		t.Helper()
		got := counts()
		for k, v := range want {
			if got[k] != v {
				t.Fatalf("%s: %s = %d, want %d (all: %v)", what, k, got[k], v, got)
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if s, err = store.Open(path, store.Options{NoSync: true}); err != nil {
			t.Fatal(err)
		}
		if re := counts(); fmt.Sprint(re) != fmt.Sprint(got) {
			t.Fatalf("%s: after reopening %v, before %v", what, re, got)
		}
	}
	op, acme := store.Operator.String(), store.ProviderActor(storetest.Provider).String()
	step("demo data", map[string]int{op + "/": 3, op + "/acme": 2, op + "/globex": 1, acme + "/": 2,
		store.SubscriberActor(storetest.Alice).String() + "/": 1})

	if _, err := s.CreateSubscriber(store.ProviderActor(storetest.Provider), store.SubscriberSpec{Name: "dave", Provider: storetest.Provider, Numbers: []string{"+13035550120"}}); err != nil {
		t.Fatal(err)
	}
	step("created", map[string]int{op + "/": 4, op + "/acme": 3, acme + "/": 3})
	if err := s.DeleteSubscriber(store.Operator, storetest.Bob); err != nil {
		t.Fatal(err)
	}
	step("deleted", map[string]int{op + "/": 3, op + "/acme": 2, acme + "/": 2})

	rep, err := s.ImportSubscribers(strings.NewReader("name,provider,numbers\neve,acme,+13035550121\nfay,globex,+17205550121\n"),
		store.SubscriberImportOptions{Actor: store.Operator})
	if err != nil || rep.Written != 2 {
		t.Fatalf("small import: %+v, %v", rep, err)
	}
	step("small import", map[string]int{op + "/": 5, op + "/acme": 3, op + "/globex": 2, acme + "/": 3})
	rep, err = s.ImportSubscribers(strings.NewReader("name,provider,numbers\ngus,acme,+13035550122\nhal,acme,+12125550100\n"),
		store.SubscriberImportOptions{Actor: store.Operator})
	if err != nil || !rep.Refused {
		t.Fatalf("refused import: %+v, %v", rep, err)
	}
	step("refused import", map[string]int{op + "/": 5, op + "/acme": 3})

	// More than the index adds in place: swapped in whole.
	const large = 1<<14 + 10
	r, err := store.ParseRange("+13125500000..+13125599999")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AllocateNumbers(store.Operator, storetest.OtherProvider, r); err != nil {
		t.Fatal(err)
	}
	var csv strings.Builder
	csv.WriteString("name,provider,numbers\n")
	for i := range large {
		fmt.Fprintf(&csv, "bulk%05d,globex,+131255%05d\n", i, i)
	}
	rep, err = s.ImportSubscribers(strings.NewReader(csv.String()), store.SubscriberImportOptions{Actor: store.ProviderActor(storetest.OtherProvider)})
	if err != nil || rep.Written != large {
		t.Fatalf("large import: %+v, %v", rep, err)
	}
	// The report counts what the importer may see: its own subscribers,
	// not the platform's.
	if rep.Subscribers != 2+large {
		t.Errorf("a provider's import report says %d subscribers, want its own %d", rep.Subscribers, 2+large)
	}
	step("large import", map[string]int{op + "/": 5 + large, op + "/acme": 3, op + "/globex": 2 + large,
		store.ProviderActor(storetest.OtherProvider).String() + "/": 2 + large, acme + "/": 3})

	// Another provider's count is not found, as its listing is.
	if _, err := s.CountSubscribers(store.ProviderActor(storetest.Provider), storetest.OtherProvider); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("acme counting globex's subscribers: %v, want not found", err)
	}
}

// TestSearchSubscribers: by part of a name (any case), by digits of a
// number, by a whole number; page by page; only what the actor may see.
func TestSearchSubscribers(t *testing.T) {
	s := storetest.Fixture(t)
	for i, name := range []string{"Dana", "dan", "jordan", "eve"} {
		if _, err := s.CreateSubscriber(store.Operator, store.SubscriberSpec{Name: name, Provider: storetest.Provider,
			Numbers: []string{fmt.Sprintf("+1303555014%d", i)}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.CreateSubscriber(store.Operator, store.SubscriberSpec{Name: "danny", Provider: storetest.OtherProvider,
		Numbers: []string{"+17205550140"}}); err != nil {
		t.Fatal(err)
	}
	acme := store.ProviderActor(storetest.Provider)
	names := func(subs []store.Subscriber) []string {
		var out []string
		for _, s := range subs {
			out = append(out, s.Name)
		}
		return out
	}
	tests := []struct {
		actor store.Actor
		q     store.SubscriberQuery
		want  []string
		more  bool
		err   error
	}{
		{acme, store.SubscriberQuery{Text: "DAN"}, []string{"Dana", "dan", "jordan"}, false, nil},
		{store.Operator, store.SubscriberQuery{Text: "dan"}, []string{"Dana", "dan", "jordan", "danny"}, false, nil},
		{store.Operator, store.SubscriberQuery{Text: "dan", Provider: storetest.OtherProvider}, []string{"danny"}, false, nil},
		{acme, store.SubscriberQuery{Text: "555-0142"}, []string{"jordan"}, false, nil},
		{acme, store.SubscriberQuery{Text: "5550"}, []string{storetest.Alice, storetest.Bob, "Dana", "dan", "jordan", "eve"}, false, nil},
		{acme, store.SubscriberQuery{Text: "(303) 555-0143"}, []string{"eve"}, false, nil},
		{acme, store.SubscriberQuery{Text: storetest.CarolNumber}, nil, false, nil}, // globex's
		{acme, store.SubscriberQuery{Text: "danny"}, nil, false, nil},
		{acme, store.SubscriberQuery{Text: "dan", Limit: 2}, []string{"Dana", "dan"}, true, nil},
		{acme, store.SubscriberQuery{}, []string{storetest.Alice, storetest.Bob, "Dana", "dan", "jordan", "eve"}, false, nil},
		{acme, store.SubscriberQuery{Provider: storetest.OtherProvider}, nil, false, store.ErrNotFound},
		{store.SubscriberActor(storetest.Alice), store.SubscriberQuery{Text: "a"}, []string{storetest.Alice}, false, nil},
	}
	for _, tc := range tests {
		got, more, err := s.SearchSubscribers(tc.actor, tc.q)
		if !errors.Is(err, tc.err) || !slices.Equal(names(got), tc.want) || more != tc.more {
			t.Errorf("%s %+v: %v more=%v err=%v, want %v more=%v err=%v", tc.actor, tc.q, names(got), more, err, tc.want, tc.more, tc.err)
		}
	}
	// The next page starts after the last ID returned.
	first, _, _ := s.SearchSubscribers(acme, store.SubscriberQuery{Text: "dan", Limit: 2})
	rest, more, err := s.SearchSubscribers(acme, store.SubscriberQuery{Text: "dan", Limit: 2, After: first[len(first)-1].ID})
	if err != nil || more || !slices.Equal(names(rest), []string{"jordan"}) {
		t.Errorf("second page: %v more=%v err=%v", names(rest), more, err)
	}
}
