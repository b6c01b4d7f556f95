package store_test

import (
	"errors"
	"strings"
	"testing"

	"callgate/e164"
	"callgate/store"
	"callgate/store/storetest"
)

func mustNum(s string) e164.Number { return e164.MustParse(s) }

func mustRange(t *testing.T, s string) store.Range {
	t.Helper()
	r, err := store.ParseRange(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// wantErr checks err wraps target (nil: no error) and mentions every word.
func wantErr(t *testing.T, what string, err, target error, mentions ...string) {
	t.Helper()
	if target == nil {
		if err != nil {
			t.Errorf("%s: unexpected error %v", what, err)
		}
		return
	}
	if !errors.Is(err, target) {
		t.Errorf("%s: error %v, want %v", what, err, target)
		return
	}
	for _, m := range mentions {
		if !strings.Contains(err.Error(), m) {
			t.Errorf("%s: error %q does not mention %q", what, err, m)
		}
	}
}

func TestParseRange(t *testing.T) {
	tests := []struct {
		in          string
		first, last string
		err         bool
	}{
		{"+13035550100", "+13035550100", "+13035550100", false},
		{"303-555-0100..303-555-0199", "+13035550100", "+13035550199", false},
		{" +13035550100 .. +13035550101 ", "+13035550100", "+13035550101", false},
		{"+13035550199..+13035550100", "", "", true},
		{"+13035550100..", "", "", true},
		{"..+13035550100", "", "", true},
		{"+12000000000..+19999999999", "", "", true}, // too big
		{"abc", "", "", true},
	}
	for _, tc := range tests {
		r, err := store.ParseRange(tc.in)
		if tc.err {
			if err == nil {
				t.Errorf("ParseRange(%q) = %v, want error", tc.in, r)
			}
			continue
		}
		if err != nil || r.First != mustNum(tc.first) || r.Last != mustNum(tc.last) {
			t.Errorf("ParseRange(%q) = %v, %v", tc.in, r, err)
		}
		if back, err := store.ParseRange(r.String()); err != nil || back != r {
			t.Errorf("Range %v does not round-trip: %v %v", r, back, err)
		}
	}
}

func TestProviders(t *testing.T) {
	s := storetest.Fixture(t)
	tests := []struct {
		name string
		spec store.ProviderSpec
		err  error
		say  []string
	}{
		{"ok", store.ProviderSpec{Name: "initrode"}, nil, nil},
		{"duplicate", store.ProviderSpec{Name: storetest.Provider}, store.ErrExists, []string{storetest.Provider}},
		{"empty name", store.ProviderSpec{}, store.ErrInvalid, []string{"empty"}},
		{"name is a number", store.ProviderSpec{Name: "3035550100"}, store.ErrInvalid, []string{"letter"}},
		{"bad char", store.ProviderSpec{Name: "a b"}, store.ErrInvalid, []string{"' '"}},
		{"long", store.ProviderSpec{Name: strings.Repeat("a", 65)}, store.ErrInvalid, []string{"64"}},
		{"unknown route", store.ProviderSpec{Name: "x1", Route: "nowhere"}, store.ErrNotFound, []string{"nowhere"}},
		{"bad default", store.ProviderSpec{Name: "x2", Defaults: store.Settings{Unknown: 99}}, store.ErrInvalid, []string{"unknown-caller"}},
		{"bad voicemail", store.ProviderSpec{Name: "x3", Defaults: store.Settings{Voicemail: "mailto:x"}}, e164.ErrCharacter, []string{"voicemail"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := s.CreateProvider(store.Operator, tc.spec)
			wantErr(t, "CreateProvider", err, tc.err, tc.say...)
			if tc.err == nil {
				got, err := s.GetProvider(store.Operator, tc.spec.Name)
				if err != nil || got.ID != p.ID || got.DefaultPermissions != store.PermAll {
					t.Errorf("GetProvider = %+v, %v", got, err)
				}
			}
		})
	}
	if n := len(s.ListProviders()); n != 3 {
		t.Errorf("ListProviders: %d providers, want 3", n)
	}
	_, err := s.GetProvider(store.Operator, "nope")
	wantErr(t, "GetProvider", err, store.ErrNotFound, "nope")

	// Delete: refused while subscribers belong to it.
	wantErr(t, "DeleteProvider in use", s.DeleteProvider(store.Operator, storetest.Provider), store.ErrInUse, "subscribers")
	wantErr(t, "DeleteProvider", s.DeleteProvider(store.Operator, "initrode"), nil)
	wantErr(t, "DeleteProvider again", s.DeleteProvider(store.Operator, "initrode"), store.ErrNotFound)
	// The name is free again, with a fresh ID.
	if p, err := s.CreateProvider(store.Operator, store.ProviderSpec{Name: "initrode"}); err != nil || p.ID <= 3 {
		t.Errorf("recreate: %+v %v", p, err)
	}
}

func TestAllocations(t *testing.T) {
	s := storetest.Fixture(t)
	p, err := s.GetProvider(store.Operator, storetest.Provider)
	if err != nil || len(p.Allocations) != 1 || p.Allocations[0].String() != storetest.ProviderRange {
		t.Fatalf("fixture allocations: %+v %v", p.Allocations, err)
	}
	tests := []struct {
		name     string
		provider string
		ranges   []string
		err      error
		say      []string
	}{
		{"ok", storetest.Provider, []string{"+13035550300..+13035550399", "+13035550500"}, nil, nil},
		{"overlap own", storetest.Provider, []string{"+13035550150..+13035550250"}, store.ErrExists, []string{"overlaps", storetest.ProviderRange, storetest.Provider}},
		{"overlap other", storetest.Provider, []string{"+17205550199"}, store.ErrExists, []string{storetest.OtherProvider}},
		{"overlap within request", storetest.Provider, []string{"+13035550600..+13035550610", "+13035550605"}, store.ErrExists, nil},
		{"unknown provider", "nope", []string{"+13035550700"}, store.ErrNotFound, []string{"nope"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var rs []store.Range
			for _, r := range tc.ranges {
				rs = append(rs, mustRange(t, r))
			}
			wantErr(t, "AllocateNumbers", s.AllocateNumbers(store.Operator, tc.provider, rs...), tc.err, tc.say...)
		})
	}
	// All-or-nothing: the failed request left +13035550600.. unallocated.
	p, _ = s.GetProvider(store.Operator, storetest.Provider)
	if len(p.Allocations) != 3 {
		t.Fatalf("allocations after tests: %v", p.Allocations)
	}
	// Release: refused while assigned, exact ranges only.
	wantErr(t, "release in use", s.ReleaseNumbers(store.Operator, storetest.Provider, mustRange(t, storetest.ProviderRange)), store.ErrInUse, storetest.AliceNumber, storetest.Alice)
	wantErr(t, "release partial", s.ReleaseNumbers(store.Operator, storetest.Provider, mustRange(t, "+13035550300..+13035550350")), store.ErrNotFound)
	wantErr(t, "release other's", s.ReleaseNumbers(store.Operator, storetest.Provider, mustRange(t, storetest.OtherRange)), store.ErrNotFound)
	wantErr(t, "release", s.ReleaseNumbers(store.Operator, storetest.Provider, mustRange(t, "+13035550300..+13035550399")), nil)
	wantErr(t, "reallocate to other", s.AllocateNumbers(store.Operator, storetest.OtherProvider, mustRange(t, "+13035550300..+13035550399")), nil)
}

func TestSubscribers(t *testing.T) {
	s := storetest.Fixture(t)
	tests := []struct {
		name string
		spec store.SubscriberSpec
		err  error
		say  []string
	}{
		{"ok", store.SubscriberSpec{Name: "dave", Provider: storetest.Provider, Numbers: []string{"303 555 0120", "+1 (303) 555-0121"}}, nil, nil},
		{"duplicate name", store.SubscriberSpec{Name: storetest.Alice, Provider: storetest.Provider, Numbers: []string{"3035550122"}}, store.ErrExists, []string{storetest.Alice}},
		{"number taken", store.SubscriberSpec{Name: "erin", Provider: storetest.Provider, Numbers: []string{storetest.BobNumber}}, store.ErrExists, []string{storetest.BobNumber, storetest.Bob}},
		{"not allocated", store.SubscriberSpec{Name: "erin", Provider: storetest.Provider, Numbers: []string{"+12025550100"}}, store.ErrInvalid, []string{"+12025550100", "allocate"}},
		// The platform owner is told whose allocation the number is in; a
		// provider is not (TestNumberConflictWording).
		{"other provider's", store.SubscriberSpec{Name: "erin", Provider: storetest.Provider, Numbers: []string{"+17205550150"}}, store.ErrInvalid, []string{storetest.OtherProvider, storetest.OtherRange}},
		{"bad number", store.SubscriberSpec{Name: "erin", Provider: storetest.Provider, Numbers: []string{"3035550123", "call me"}}, store.ErrInvalid, []string{"#2", "call me"}},
		{"no number", store.SubscriberSpec{Name: "erin", Provider: storetest.Provider}, store.ErrInvalid, []string{"at least one"}},
		{"no provider", store.SubscriberSpec{Name: "erin", Provider: "nope", Numbers: []string{"3035550123"}}, store.ErrNotFound, []string{"nope"}},
		{"name is a number", store.SubscriberSpec{Name: "3035550123", Provider: storetest.Provider, Numbers: []string{"3035550123"}}, store.ErrInvalid, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.CreateSubscriber(store.Operator, tc.spec)
			wantErr(t, "CreateSubscriber", err, tc.err, tc.say...)
		})
	}
	// Lookup by name and by any form of any number.
	for _, ref := range []string{"dave", "+13035550120", "303-555-0121", "1 303 555 0121"} {
		sub, err := s.GetSubscriber(store.Operator, ref)
		if err != nil || sub.Name != "dave" || sub.Provider != storetest.Provider || len(sub.Numbers) != 2 {
			t.Errorf("GetSubscriber(%q) = %+v, %v", ref, sub, err)
		}
	}
	_, err := s.GetSubscriber(store.Operator, "+13035550199")
	wantErr(t, "GetSubscriber unassigned", err, store.ErrNotFound, "+13035550199")
	_, err = s.GetSubscriber(store.Operator, "zed")
	wantErr(t, "GetSubscriber unknown", err, store.ErrNotFound, "zed")

	// Numbers: assign, unassign, last number protected.
	if _, err := s.AssignNumbers(store.Operator, "dave", "3035550122"); err != nil {
		t.Fatal(err)
	}
	if v, ok := s.Subscriber(mustNum("+13035550122")); !ok || v.Name != "dave" {
		t.Fatalf("new number not in index: %+v", v)
	}
	_, err = s.AssignNumbers(store.Operator, "dave", storetest.AliceNumber)
	wantErr(t, "assign taken", err, store.ErrExists, storetest.Alice)
	if _, err := s.UnassignNumbers(store.Operator, "dave", "+13035550120", "+13035550121"); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Subscriber(mustNum("+13035550120")); ok {
		t.Fatal("unassigned number still routes to dave")
	}
	_, err = s.UnassignNumbers(store.Operator, "dave", "+13035550122")
	wantErr(t, "unassign last", err, store.ErrInvalid, "last number")
	_, err = s.UnassignNumbers(store.Operator, "dave", storetest.AliceNumber)
	wantErr(t, "unassign other's", err, store.ErrNotFound)

	// Pagination over subscribers.
	all, _ := s.ListSubscribers(store.Operator, "", 0, 0)
	if len(all) != 4 {
		t.Fatalf("ListSubscribers: %d", len(all))
	}
	page1, _ := s.ListSubscribers(store.Operator, storetest.Provider, 0, 2)
	page2, _ := s.ListSubscribers(store.Operator, storetest.Provider, page1[len(page1)-1].ID, 2)
	if len(page1) != 2 || len(page2) != 1 || page2[0].Name != "dave" {
		t.Fatalf("pages %v / %v", page1, page2)
	}

	// Delete removes numbers, lists and PIN.
	if err := s.DeleteSubscriber(store.Operator, storetest.AliceNumber); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Subscriber(mustNum(storetest.AliceNumber2)); ok {
		t.Fatal("deleted subscriber's number still resolves")
	}
	if _, err := s.ListEntries(store.Operator, storetest.Alice, store.ListVIP, 0, 10); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted subscriber's list: %v", err)
	}
	if n := strings.Count(exportAll(t, s), "\n"); n != 2 { // header + provider row
		t.Fatalf("export after delete has %d lines:\n%s", n, exportAll(t, s))
	}
	// Its numbers can be given to someone new.
	if _, err := s.CreateSubscriber(store.Operator, store.SubscriberSpec{Name: "alice2", Provider: storetest.Provider, Numbers: []string{storetest.AliceNumber}}); err != nil {
		t.Fatal(err)
	}
}

func TestEnterprises(t *testing.T) {
	s := storetest.Fixture(t)
	e, err := s.GetEnterprise(store.Operator, storetest.Enterprise)
	if err != nil || e.Provider != storetest.Provider || len(e.Numbers) != 1 {
		t.Fatalf("GetEnterprise: %+v %v", e, err)
	}
	if id, ok := s.Enterprise(mustNum(storetest.EnterpriseNumber)); !ok || id != e.ID {
		t.Fatal("enterprise number not indexed")
	}
	_, err = s.CreateEnterprise(store.Operator, store.EnterpriseSpec{Name: "hooli", Numbers: []string{storetest.EnterpriseNumber}})
	wantErr(t, "enrolled twice", err, store.ErrExists, storetest.Enterprise)
	_, err = s.CreateEnterprise(store.Operator, store.EnterpriseSpec{Name: "hooli", Provider: "nope"})
	wantErr(t, "unknown provider", err, store.ErrNotFound)
	if _, err := s.CreateEnterprise(store.Operator, store.EnterpriseSpec{Name: "hooli", Numbers: []string{"+442079460000"}}); err != nil {
		t.Fatal(err)
	}
	if len(s.ListEnterprises()) != 2 {
		t.Fatal("ListEnterprises")
	}
	wantErr(t, "provider with enterprise", s.DeleteProvider(store.Operator, storetest.Provider), store.ErrInUse)
	if err := s.DeleteEnterprise(store.Operator, storetest.Enterprise); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Enterprise(mustNum(storetest.EnterpriseNumber)); ok {
		t.Fatal("deleted enterprise still indexed")
	}
}

func TestRoutes(t *testing.T) {
	s := storetest.Fixture(t)
	acme, _ := s.GetProvider(store.Operator, storetest.Provider)
	globex, _ := s.GetProvider(store.Operator, storetest.OtherProvider)
	if r, ok := s.EgressRoute(acme.ID); !ok || r.Name != storetest.Route || r.RoutingNumber != mustNum(storetest.RoutingNumber) || r.SIPURI != storetest.RouteURI {
		t.Fatalf("acme route = %+v %v", r, ok)
	}
	if r, ok := s.EgressRoute(globex.ID); !ok || r.Name != storetest.OtherRoute {
		t.Fatalf("globex route = %+v %v", r, ok)
	}
	bad := []struct {
		spec store.RouteSpec
		err  error
	}{
		{store.RouteSpec{Name: "x"}, store.ErrInvalid},
		{store.RouteSpec{Name: "x", SIPURI: "http://x"}, store.ErrInvalid},
		{store.RouteSpec{Name: "x", SIPURI: "sip:"}, store.ErrInvalid},
		{store.RouteSpec{Name: "x", SIPURI: "sip:a b@c"}, store.ErrInvalid},
		{store.RouteSpec{Name: "x", RoutingNumber: "12"}, e164.ErrLength},
		{store.RouteSpec{Name: "", SIPURI: "sip:a@b"}, store.ErrInvalid},
	}
	for _, b := range bad {
		_, err := s.SetRoute(store.Operator, b.spec)
		wantErr(t, "SetRoute "+b.spec.Name+b.spec.SIPURI+b.spec.RoutingNumber, err, b.err)
	}
	// Changing a route is seen at once.
	if _, err := s.SetRoute(store.Operator, store.RouteSpec{Name: storetest.Route, SIPURI: "sips:new@b2bua.example.net"}); err != nil {
		t.Fatal(err)
	}
	if r, _ := s.EgressRoute(acme.ID); r.SIPURI != "sips:new@b2bua.example.net" || r.RoutingNumber != 0 {
		t.Fatalf("updated route = %+v", r)
	}
	wantErr(t, "delete default", s.DeleteRoute(store.Operator, storetest.Route), store.ErrInUse, "default")
	wantErr(t, "delete used", s.DeleteRoute(store.Operator, storetest.OtherRoute), store.ErrInUse, storetest.OtherProvider)
	if _, err := s.SetProviderRoute(store.Operator, storetest.OtherProvider, ""); err != nil {
		t.Fatal(err)
	}
	if r, _ := s.EgressRoute(globex.ID); r.Name != storetest.Route {
		t.Fatalf("globex falls back to default: %+v", r)
	}
	wantErr(t, "delete unused", s.DeleteRoute(store.Operator, storetest.OtherRoute), nil)
	_, err := s.SetProviderRoute(store.Operator, storetest.OtherProvider, storetest.OtherRoute)
	wantErr(t, "provider route deleted", err, store.ErrNotFound)
	wantErr(t, "clear default", s.SetDefaultRoute(store.Operator, ""), nil)
	if _, ok := s.EgressRoute(acme.ID); ok {
		t.Fatal("route reported with no default")
	}
	if _, ok := s.EgressRoute(999); ok {
		t.Fatal("route for unknown provider without default")
	}
	routes, def := s.Routes()
	if len(routes) != 1 || def != "" {
		t.Fatalf("Routes = %v %q", routes, def)
	}
}
