package policy

import (
	"context"
	"reflect"
	"testing"

	"callgate/e164"
	"callgate/store"
	"callgate/store/storetest"
)

// oneByOne is the real store without its CallViewer: the engine asks it
// one look-up at a time.
type oneByOne struct{ store.View }

// TestLookupCallSameDecisions: the engine decides the same over the store
// whether it takes the call's look-ups at once (store.CallViewer) or one at
// a time, for every combination of called and calling number of the
// fixture, origin, presentation, attestation, reputation and key state.
func TestLookupCallSameDecisions(t *testing.T) {
	st := storetest.Fixture(t)
	if _, err := st.AddToList(store.Operator, "provider:"+storetest.Provider, store.ListVIP, []string{"+12025550911"}, ""); err != nil {
		t.Fatal(err)
	}
	batched, single := New(st), New(oneByOne{st})
	if batched.calls == nil || single.calls != nil {
		t.Fatal("the store must be a CallViewer and the wrapper not")
	}
	num := e164.MustParse
	nums := []e164.Number{0, num("+13035550199"), num("+12025550911")}
	for _, n := range []string{storetest.AliceNumber, storetest.AliceNumber2, storetest.BobNumber, storetest.CarolNumber,
		storetest.VIPCaller, storetest.BlockedCaller, storetest.ProviderBlocked, storetest.UnknownCaller, storetest.EnterpriseNumber} {
		nums = append(nums, num(n))
	}
	ctx := context.Background()
	n := 0
	for _, called := range nums {
		for _, calling := range nums {
			for _, origin := range []Origin{OriginAIN, OriginSIP} {
				for _, pres := range []Presentation{PresentationAllowed, PresentationRestricted} {
					for _, att := range []Attestation{AttestationNone, AttestationC, AttestationFailed} {
						for _, rep := range []Reputation{ReputationUnknown, ReputationHigh} {
							for _, key := range []KeyMatch{KeyNotChecked, KeyMatched, KeyMissing} {
								c := Call{Called: called, Calling: calling, Origin: origin, Presentation: pres,
									Attestation: att, Reputation: rep, KeyMatch: key, DefaultRoute: origin == OriginSIP && rep == ReputationHigh}
								got, want := batched.Decide(ctx, c), single.Decide(ctx, c)
								if !reflect.DeepEqual(got, want) {
									t.Fatalf("%+v:\n at once:    %s\n one by one: %s", c, got.String(), want.String())
								}
								n++
							}
						}
					}
				}
			}
		}
	}
	t.Logf("%d calls decided the same", n)
}
