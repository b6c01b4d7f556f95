package policy

import (
	"context"
	"testing"

	"callgate/store"
)

// TestReputation: each band, exempt and unknown take their configured
// action after the subscriber's lists, and the trace names the band.
func TestReputation(t *testing.T) {
	looked := ReputationLookup{Cache: CacheMiss, Latency: 1000}
	pre := "subscriber=yes " + lists
	tests := []struct {
		name string
		pol  ReputationPolicy
		call Call
		want want
	}{
		{"no provider: no step", DefaultReputationPolicy, Call{Calling: nStranger, Called: nDave},
			want{action: ActionAllow, subscriber: 4, trace: pre + "anonymous=no unknown=apply"}},
		{"low: allowed untouched", DefaultReputationPolicy, Call{Calling: nStranger, Called: nAlice, Reputation: ReputationLow, ReputationLookup: looked},
			want{action: ActionAllow, subscriber: 1, trace: pre + "reputation=low"}},
		{"medium: challenged", DefaultReputationPolicy, Call{Calling: nStranger, Called: nAlice, Origin: OriginAIN, Reputation: ReputationMedium, ReputationLookup: looked},
			want{action: ActionChallenge, subscriber: 1, route: routeEast, pin: true, trace: pre + "reputation=medium route=yes pin=yes"}},
		{"high: challenged", DefaultReputationPolicy, Call{Calling: nStranger, Called: nAlice, Origin: OriginAIN, Reputation: ReputationHigh, ReputationLookup: looked},
			want{action: ActionChallenge, subscriber: 1, route: routeEast, pin: true, trace: pre + "reputation=high route=yes pin=yes"}},
		{"high: blocked when configured", ReputationPolicy{High: RepBlock}, Call{Calling: nStranger, Called: nBob, Reputation: ReputationHigh, ReputationLookup: looked},
			want{action: ActionBlockWithAnnouncement, subscriber: 2, announcement: 77, trace: pre + "reputation=high"}},
		{"exempt: the subscriber's treatment", DefaultReputationPolicy, Call{Called: nAlice, Origin: OriginAIN, Reputation: ReputationExempt, ReputationLookup: ReputationLookup{Why: WhyAnonymous}},
			want{action: ActionBlock, subscriber: 1, trace: "subscriber=yes reputation=exempt anonymous=apply"}},
		{"unknown: the configured branch (continue)", DefaultReputationPolicy, Call{Calling: nStranger, Called: nDave, ReputationLookup: ReputationLookup{Why: WhyTimeout, Cache: CacheMiss}},
			want{action: ActionAllow, subscriber: 4, trace: pre + "reputation=unknown anonymous=no unknown=apply"}},
		{"unknown: the configured branch (challenge)", ReputationPolicy{Unknown: RepChallenge}, Call{Calling: nStranger, Called: nAlice, Origin: OriginAIN, ReputationLookup: ReputationLookup{Why: WhyCircuitOpen}},
			want{action: ActionChallenge, subscriber: 1, route: routeEast, pin: true, trace: pre + "reputation=unknown route=yes pin=yes"}},
		{"VIP wins over high risk", DefaultReputationPolicy, Call{Calling: nFriend, Called: nAlice, Reputation: ReputationHigh, ReputationLookup: looked},
			want{action: ActionAllow, subscriber: 1, trace: "subscriber=yes provider-vip=no vip=yes"}},
		{"screen when configured", ReputationPolicy{Medium: RepScreen}, Call{Calling: nStranger, Called: nAlice, Origin: OriginAIN, Reputation: ReputationMedium, ReputationLookup: looked},
			want{action: ActionScreen, subscriber: 1, route: routeEast, pin: true, voicemail: "sip:vm-alice@vm.example", trace: pre + "reputation=medium route=yes pin=yes"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := New(fixture(), WithReputationPolicy(tc.pol))
			check(t, e.Decide(context.Background(), tc.call), tc.want)
		})
	}
}

func TestBrand(t *testing.T) {
	e := New(fixture())
	b := store.Brand{Name: "Initech", Reason: "Your order"}
	d := e.Decide(context.Background(), Call{Calling: nFriend, Called: nAlice, KeyMatch: KeyMatched, Brand: b})
	if d.Brand != b || d.Trace.String() != "subscriber=yes key=yes provider-vip=no vip=yes brand=yes" {
		t.Errorf("delivered keyed call: brand %+v, trace %s", d.Brand, &d.Trace)
	}
	// Not delivered: no brand.
	d = e.Decide(context.Background(), Call{Calling: nPest, Called: nAlice, KeyMatch: KeyMatched, Brand: b})
	if !d.Brand.IsZero() {
		t.Errorf("blocked keyed call carries the brand %+v", d.Brand)
	}
	// A keyed call is delivered rather than screened as unknown.
	d = e.Decide(context.Background(), Call{Calling: nStranger, Called: nAlice, KeyMatch: KeyMatched, Brand: b})
	if d.Action != ActionAllow || d.Brand != b || d.Trace.String() != "subscriber=yes key=yes "+lists+"key=apply brand=yes" {
		t.Errorf("keyed call from a stranger: %v, trace %s", d.Action, &d.Trace)
	}
	// A brand on a call without a matched key is ignored.
	d = e.Decide(context.Background(), Call{Calling: nFriend, Called: nAlice, Brand: b})
	if !d.Brand.IsZero() {
		t.Errorf("unkeyed call carries the brand %+v", d.Brand)
	}
}

func TestParseReputationAction(t *testing.T) {
	for _, s := range []string{"continue", "allow", "challenge", "block", "screen"} {
		a, err := ParseReputationAction(s)
		if err != nil || a.String() != s {
			t.Errorf("%s: %v %v", s, a, err)
		}
	}
	if _, err := ParseReputationAction("maybe"); err == nil {
		t.Error("maybe accepted")
	}
}

func TestKeyMissingAction(t *testing.T) {
	spoof := Call{Calling: nStranger, Called: nAlice, Origin: OriginAIN, KeyMatch: KeyMissing}
	for _, tc := range []struct {
		a    ReputationAction
		want want
	}{
		{RepBlock, want{action: ActionBlock, subscriber: 1, trace: "subscriber=yes key=missing"}},
		{RepScreen, want{action: ActionScreen, subscriber: 1, route: routeEast, pin: true, voicemail: "sip:vm-alice@vm.example", trace: "subscriber=yes key=missing route=yes pin=yes"}},
		{RepContinue, want{action: ActionScreen, subscriber: 1, route: routeEast, pin: true, voicemail: "sip:vm-alice@vm.example", trace: "subscriber=yes key=missing " + lists + "anonymous=no unknown=apply route=yes pin=yes"}},
	} {
		t.Run(tc.a.String(), func(t *testing.T) {
			check(t, New(fixture(), WithKeyMissing(tc.a)).Decide(context.Background(), spoof), tc.want)
		})
	}
	// Screening a spoofed call to a non-subscriber is not possible: blocked.
	d := New(fixture(), WithKeyMissing(RepScreen)).Decide(context.Background(), Call{Calling: nStranger, Called: nNobody, KeyMatch: KeyMissing})
	if d.Action != ActionBlock {
		t.Errorf("spoofed call to a non-subscriber with on_missing screen: %v", d.Action)
	}
}
