package store_test

import (
	"errors"
	"testing"

	"callgate/store"
	"callgate/store/storetest"
)

// twoTenants is a store with providers p1 and p2, each with one subscriber
// (s1, s2) and one enterprise (e1, e2), and a route r.
func twoTenants(t *testing.T) *store.Store {
	t.Helper()
	s := storetest.Open(t)
	op := store.Operator
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := s.SetRoute(op, store.RouteSpec{Name: "r", SIPURI: "sip:b2bua.example"})
	must(err)
	for i, p := range []string{"p1", "p2"} {
		_, err := s.CreateProvider(op, store.ProviderSpec{Name: p})
		must(err)
		first := []string{"+12025550100", "+13035550100"}[i]
		must(s.AllocateNumbers(op, p, mustRange(t, first+".."+first[:len(first)-2]+"99")))
		_, err = s.CreateSubscriber(op, store.SubscriberSpec{Name: "s" + p[1:], Provider: p, Numbers: []string{first}})
		must(err)
		_, err = s.CreateEnterprise(op, store.EnterpriseSpec{Name: "e" + p[1:], Provider: p})
		must(err)
	}
	return s
}

// TestActorScope: every write and scoped read refuses an actor of another
// tenant (and a subscriber what only its manager may do), and lets the
// owner through.
func TestActorScope(t *testing.T) {
	s := twoTenants(t)
	p1, p2 := store.ProviderActor("p1"), store.ProviderActor("p2")
	s1, s2 := store.SubscriberActor("s1"), store.SubscriberActor("s2")
	perm := store.PermAll
	unknown := store.TreatBlock
	ops := []struct {
		name    string
		allowed []store.Actor // besides the operator
		run     func(a store.Actor) error
	}{
		{"get provider p1", []store.Actor{p1}, func(a store.Actor) error { _, err := s.GetProvider(a, "p1"); return err }},
		{"provider defaults", []store.Actor{p1}, func(a store.Actor) error {
			_, err := s.SetProviderDefaults(a, "p1", store.SettingsUpdate{Unknown: &unknown})
			return err
		}},
		{"provider default permissions", []store.Actor{p1}, func(a store.Actor) error {
			_, err := s.SetProviderDefaultPermissions(a, "p1", perm)
			return err
		}},
		{"provider route", nil, func(a store.Actor) error { _, err := s.SetProviderRoute(a, "p1", "r"); return err }},
		{"provider stir", nil, func(a store.Actor) error { _, err := s.SetProviderStir(a, "p1", store.StirPolicy{}); return err }},
		{"provider signals", []store.Actor{p1}, func(a store.Actor) error {
			_, err := s.SetProviderSignals(a, "p1", store.ProviderSignals{KeyMissing: store.SignalScreen})
			return err
		}},
		{"allocate", nil, func(a store.Actor) error {
			return s.AllocateNumbers(a, "p1", mustRange(t, "+14045550100"))
		}},
		{"create provider", nil, func(a store.Actor) error { _, err := s.CreateProvider(a, store.ProviderSpec{Name: "px"}); return err }},
		{"route", nil, func(a store.Actor) error {
			_, err := s.SetRoute(a, store.RouteSpec{Name: "r2", SIPURI: "sip:x.example"})
			return err
		}},
		{"default route", nil, func(a store.Actor) error { return s.SetDefaultRoute(a, "r") }},
		{"create subscriber of p1", []store.Actor{p1}, func(a store.Actor) error {
			_, err := s.CreateSubscriber(a, store.SubscriberSpec{Name: "n" + a.Name, Provider: "p1", Numbers: []string{"+12025550150"}})
			if err == nil {
				err = s.DeleteSubscriber(store.Operator, "n"+a.Name)
			}
			return err
		}},
		{"get subscriber s1", []store.Actor{p1, s1}, func(a store.Actor) error { _, err := s.GetSubscriber(a, "s1"); return err }},
		{"get subscriber s1 by number", []store.Actor{p1, s1}, func(a store.Actor) error { _, err := s.GetSubscriber(a, "+12025550100"); return err }},
		{"effective settings s1", []store.Actor{p1, s1}, func(a store.Actor) error { _, err := s.EffectiveSettings(a, "s1"); return err }},
		{"assign number to s1", []store.Actor{p1}, func(a store.Actor) error {
			_, err := s.AssignNumbers(a, "s1", "+12025550101")
			if err == nil {
				_, err = s.UnassignNumbers(store.Operator, "s1", "+12025550101")
			}
			return err
		}},
		{"permissions of s1", []store.Actor{p1}, func(a store.Actor) error { _, err := s.SetPermissions(a, "s1", perm); return err }},
		{"treatments of s1", []store.Actor{p1, s1}, func(a store.Actor) error {
			_, err := s.SetTreatments(a, "s1", store.SettingsUpdate{Unknown: &unknown})
			return err
		}},
		{"PIN of s1", []store.Actor{p1, s1}, func(a store.Actor) error { return s.SetPIN(a, "s1", "1234") }},
		{"blocked list of s1", []store.Actor{p1, s1}, func(a store.Actor) error {
			_, err := s.AddToList(a, "s1", store.ListBlocked, []string{"+19995550100"}, "")
			return err
		}},
		{"read blocked list of s1", []store.Actor{p1, s1}, func(a store.Actor) error {
			_, err := s.ListEntries(a, "s1", store.ListBlocked, 0, 10)
			return err
		}},
		{"read provider list of p1", []store.Actor{p1}, func(a store.Actor) error {
			_, err := s.ListEntries(a, "provider:p1", store.ListBlocked, 0, 10)
			return err
		}},
		{"get enterprise e1", []store.Actor{p1}, func(a store.Actor) error { _, err := s.GetEnterprise(a, "e1"); return err }},
		{"enterprise signals e1", []store.Actor{p1}, func(a store.Actor) error {
			_, err := s.UpdateEnterpriseSignals(a, "e1", func(*store.EnterpriseSignals) error { return nil })
			return err
		}},
		{"create enterprise under p1", []store.Actor{p1}, func(a store.Actor) error {
			_, err := s.CreateEnterprise(a, store.EnterpriseSpec{Name: "ne" + a.Name, Provider: "p1"})
			if err == nil {
				err = s.DeleteEnterprise(a, "ne"+a.Name)
			}
			return err
		}},
	}
	for _, op := range ops {
		for _, a := range []store.Actor{store.Operator, p1, p2, s1, s2, {}} {
			allowed := a.Role == store.RoleOperator
			for _, ok := range op.allowed {
				allowed = allowed || ok == a
			}
			err := op.run(a)
			switch {
			case allowed && err != nil:
				t.Errorf("%s as %s: %v", op.name, a, err)
			case !allowed && !errors.Is(err, store.ErrForbidden) && !errors.Is(err, store.ErrNotFound):
				t.Errorf("%s as %s: error %v, want forbidden or not found", op.name, a, err)
			}
		}
	}
}

// TestScopedListings: listings show only what the actor may see.
func TestScopedListings(t *testing.T) {
	s := twoTenants(t)
	if got := s.VisibleProviders(store.ProviderActor("p2")); len(got) != 1 || got[0].Name != "p2" {
		t.Errorf("providers visible to p2: %+v", got)
	}
	if got := s.VisibleProviders(store.SubscriberActor("s1")); len(got) != 0 {
		t.Errorf("providers visible to s1: %+v", got)
	}
	subs, err := s.ListSubscribers(store.ProviderActor("p1"), "", 0, 0)
	if err != nil || len(subs) != 1 || subs[0].Name != "s1" {
		t.Errorf("subscribers visible to p1: %+v %v", subs, err)
	}
	if _, err := s.ListSubscribers(store.ProviderActor("p1"), "p2", 0, 0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("p1 listing p2's subscribers: %v", err)
	}
	if got := s.VisibleEnterprises(store.ProviderActor("p1")); len(got) != 1 || got[0].Name != "e1" {
		t.Errorf("enterprises visible to p1: %+v", got)
	}
}

// TestIfRevision: a write at an old revision fails with ErrStale and
// changes nothing; at the current one it succeeds.
func TestIfRevision(t *testing.T) {
	s := twoTenants(t)
	sub, err := s.GetSubscriber(store.Operator, "s1")
	if err != nil || sub.Revision == 0 {
		t.Fatalf("subscriber revision %d: %v", sub.Revision, err)
	}
	block := store.TreatBlock
	if _, err := s.SetTreatments(store.Operator.At(sub.Revision), "s1", store.SettingsUpdate{Unknown: &block}); err != nil {
		t.Fatal(err)
	}
	allow := store.TreatAllow
	if _, err := s.SetTreatments(store.Operator.At(sub.Revision), "s1", store.SettingsUpdate{Unknown: &allow}); !errors.Is(err, store.ErrStale) {
		t.Fatalf("second editor at the old revision: %v, want ErrStale", err)
	}
	if now, _ := s.GetSubscriber(store.Operator, "s1"); now.Settings.Unknown != store.TreatBlock {
		t.Errorf("stale write changed the subscriber: %v", now.Settings.Unknown)
	}
	page, err := s.ListEntries(store.Operator, "s1", store.ListVIP, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddToList(store.Operator.At(page.Revision+1000), "s1", store.ListVIP, []string{"+19995550101"}, ""); !errors.Is(err, store.ErrStale) {
		t.Errorf("list write at a wrong revision: %v", err)
	}
	if _, err := s.AddToList(store.Operator, "s1", store.ListVIP, []string{"+19995550101"}, ""); err != nil {
		t.Fatal(err)
	}
	// Several revisions (If-Match with a list): any one of them will do.
	cur, _ := s.ListEntries(store.Operator, "s1", store.ListVIP, 0, 10)
	if _, err := s.AddToList(store.Operator.AtAny([]int64{page.Revision, page.Revision + 1000}), "s1", store.ListVIP, []string{"+19995550102"}, ""); !errors.Is(err, store.ErrStale) {
		t.Errorf("list write at none of the revisions: %v", err)
	}
	if _, err := s.AddToList(store.Operator.AtAny([]int64{page.Revision, cur.Revision}), "s1", store.ListVIP, []string{"+19995550102"}, ""); err != nil {
		t.Errorf("list write at one of the revisions: %v", err)
	}
	page2, _ := s.ListEntries(store.Operator, "s1", store.ListVIP, 0, 10)
	if page2.Revision <= page.Revision {
		t.Errorf("list revision did not move: %d -> %d", page.Revision, page2.Revision)
	}
}
