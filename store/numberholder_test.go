package store_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"callgate/store"
	"callgate/store/storetest"
)

// TestNumberConflictWording: a number acme may not give its subscribers
// is refused alike (ErrInvalid) to everyone, but only the platform owner,
// who can move it, is told whose allocation and subscriber hold it; acme
// reads the words it would for a number of no allocation (OWASP API
// Security Top 10 2023, API1). Creation, assignment and the subscriber
// import all word it so.
func TestNumberConflictWording(t *testing.T) {
	s := storetest.Fixture(t)
	acme := store.ProviderActor(storetest.Provider)
	blind := "not in any allocation of provider " + storetest.Provider + "; allocate it first"
	tests := []struct {
		name, number string
		operator     []string // what the owner's error says
	}{
		{"held by globex's carol", storetest.CarolNumber, []string{"allocated to provider " + storetest.OtherProvider + " in " + storetest.OtherRange + ", not to " + storetest.Provider,
			"held by subscriber " + storetest.Carol + " of provider " + storetest.OtherProvider, "unassign it from " + storetest.Carol + " and release " + storetest.OtherRange}},
		{"free in globex's", "+17205550150", []string{"allocated to provider " + storetest.OtherProvider + " in " + storetest.OtherRange + ", not to " + storetest.Provider,
			"release " + storetest.OtherRange + " from " + storetest.OtherProvider + " first"}},
		{"in no allocation", "+12025550100", []string{blind}},
	}
	ways := []struct {
		name string
		try  func(a store.Actor, number string) error
	}{
		{"create", func(a store.Actor, n string) error {
			_, err := s.CreateSubscriber(a, store.SubscriberSpec{Name: "erin", Provider: storetest.Provider, Numbers: []string{n}})
			return err
		}},
		{"assign", func(a store.Actor, n string) error {
			_, err := s.AssignNumbers(a, storetest.Alice, n)
			return err
		}},
		{"import", func(a store.Actor, n string) error {
			rep, err := s.ImportSubscribers(strings.NewReader("name,provider,numbers\nerin,"+storetest.Provider+","+n+"\n"),
				store.SubscriberImportOptions{Actor: a, DryRun: true})
			if err != nil || len(rep.Errors) != 1 {
				t.Fatalf("import %s as %s: %+v %v", n, a, rep, err)
			}
			// The row's reason, as the error it was made from.
			if row := rep.Errors[0].Err; strings.Contains(row, store.ErrInvalid.Error()) {
				return fmt.Errorf("%s (%w)", row, store.ErrInvalid)
			}
			return errors.New(rep.Errors[0].Err)
		}},
	}
	for _, tc := range tests {
		for _, w := range ways {
			t.Run(tc.name+"/"+w.name, func(t *testing.T) {
				wantErr(t, "operator", w.try(store.Operator, tc.number), store.ErrInvalid, tc.operator...)
				err := w.try(acme, tc.number)
				wantErr(t, "acme", err, store.ErrInvalid, tc.number, blind)
				for _, secret := range []string{storetest.OtherProvider, storetest.Carol, storetest.OtherRange} {
					if err != nil && strings.Contains(err.Error(), secret) {
						t.Errorf("acme is told %q: %v", secret, err)
					}
				}
			})
		}
	}
}
