package store_test

import (
	"testing"

	"callgate/e164"
	"callgate/store"
	"callgate/store/storetest"
)

// TestLookupCallEqualsViewMethods: LookupCall gives, for every pair of
// called and calling numbers of the fixture (subscribers, listed callers of
// every list, strangers, zero), what the View's one-at-a-time methods give
// (the CallViewer contract).
func TestLookupCallEqualsViewMethods(t *testing.T) {
	s := storetest.Fixture(t)
	if _, err := s.AddToList(store.Operator, "provider:"+storetest.Provider, store.ListVIP, []string{"+12025550911"}, ""); err != nil {
		t.Fatal(err)
	}
	nums := []e164.Number{0, mustNum("+13035550199"), mustNum("+12025550911")}
	for _, n := range []string{storetest.AliceNumber, storetest.AliceNumber2, storetest.BobNumber, storetest.CarolNumber,
		storetest.VIPCaller, storetest.BlockedCaller, storetest.ProviderBlocked, storetest.UnknownCaller, storetest.EnterpriseNumber} {
		nums = append(nums, mustNum(n))
	}
	var cv store.CallViewer = s
	for _, called := range nums {
		for _, caller := range nums {
			got := cv.LookupCall(called, caller)
			var want store.CallLookup
			want.Subscriber, want.Found = s.Subscriber(called)
			if want.Found {
				want.VIP = s.InVIP(want.Subscriber.ID, caller)
				want.Blocked = s.InBlocked(want.Subscriber.ID, caller)
			}
			want.ProviderVIP = s.ProviderVIP(want.Subscriber.Provider, caller)
			want.ProviderBlocked = s.ProviderBlocked(want.Subscriber.Provider, caller)
			want.Route, want.RouteOK = s.EgressRoute(want.Subscriber.Provider)
			if got != want {
				t.Errorf("LookupCall(%s, %s) = %+v, want %+v", called, caller, got, want)
			}
		}
	}
	// The fixture's listed callers are found through it too.
	alice := s.LookupCall(mustNum(storetest.AliceNumber), mustNum(storetest.BlockedCaller))
	if !alice.Found || !alice.Blocked || alice.VIP || !s.LookupCall(mustNum(storetest.AliceNumber), mustNum(storetest.ProviderBlocked)).ProviderBlocked {
		t.Errorf("fixture's lists not seen: %+v", alice)
	}
}
