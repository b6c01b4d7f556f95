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
			want{action: ActionAllow, subscriber: 1, trace: pre + "reputation=low setting=platform"}},
		{"medium: challenged", DefaultReputationPolicy, Call{Calling: nStranger, Called: nAlice, Origin: OriginAIN, Reputation: ReputationMedium, ReputationLookup: looked},
			want{action: ActionChallenge, subscriber: 1, route: routeEast, pin: true, trace: pre + "reputation=medium setting=platform route=yes pin=yes"}},
		{"high: challenged", DefaultReputationPolicy, Call{Calling: nStranger, Called: nAlice, Origin: OriginAIN, Reputation: ReputationHigh, ReputationLookup: looked},
			want{action: ActionChallenge, subscriber: 1, route: routeEast, pin: true, trace: pre + "reputation=high setting=platform route=yes pin=yes"}},
		{"high: blocked when configured", ReputationPolicy{High: RepBlock}, Call{Calling: nStranger, Called: nBob, Reputation: ReputationHigh, ReputationLookup: looked},
			want{action: ActionBlockWithAnnouncement, subscriber: 2, announcement: 77, trace: pre + "reputation=high setting=platform"}},
		{"exempt: the subscriber's treatment", DefaultReputationPolicy, Call{Called: nAlice, Origin: OriginAIN, Reputation: ReputationExempt, ReputationLookup: ReputationLookup{Why: WhyAnonymous}},
			want{action: ActionBlock, subscriber: 1, trace: "subscriber=yes reputation=exempt setting=platform anonymous=apply"}},
		{"unknown: the configured branch (continue)", DefaultReputationPolicy, Call{Calling: nStranger, Called: nDave, ReputationLookup: ReputationLookup{Why: WhyTimeout, Cache: CacheMiss}},
			want{action: ActionAllow, subscriber: 4, trace: pre + "reputation=unknown setting=platform anonymous=no unknown=apply"}},
		{"unknown: the configured branch (challenge)", ReputationPolicy{Unknown: RepChallenge}, Call{Calling: nStranger, Called: nAlice, Origin: OriginAIN, ReputationLookup: ReputationLookup{Why: WhyCircuitOpen}},
			want{action: ActionChallenge, subscriber: 1, route: routeEast, pin: true, trace: pre + "reputation=unknown setting=platform route=yes pin=yes"}},
		{"VIP wins over high risk", DefaultReputationPolicy, Call{Calling: nFriend, Called: nAlice, Reputation: ReputationHigh, ReputationLookup: looked},
			want{action: ActionAllow, subscriber: 1, trace: "subscriber=yes provider-vip=no vip=yes"}},
		{"screen when configured", ReputationPolicy{Medium: RepScreen}, Call{Calling: nStranger, Called: nAlice, Origin: OriginAIN, Reputation: ReputationMedium, ReputationLookup: looked},
			want{action: ActionScreen, subscriber: 1, route: routeEast, pin: true, voicemail: "sip:vm-alice@vm.example", trace: pre + "reputation=medium setting=platform route=yes pin=yes"}},
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
		{RepBlock, want{action: ActionBlock, subscriber: 1, trace: "subscriber=yes key=missing setting=platform"}},
		{RepScreen, want{action: ActionScreen, subscriber: 1, route: routeEast, pin: true, voicemail: "sip:vm-alice@vm.example", trace: "subscriber=yes key=missing setting=platform route=yes pin=yes"}},
		{RepContinue, want{action: ActionScreen, subscriber: 1, route: routeEast, pin: true, voicemail: "sip:vm-alice@vm.example", trace: "subscriber=yes key=missing setting=platform " + lists + "anonymous=no unknown=apply route=yes pin=yes"}},
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

// TestProviderSettings: a provider's own reputation and missing-key
// settings decide its subscribers' calls (setting=provider); a setting it
// left at default, and a call to a number nobody subscribed, take the
// platform's (setting=platform).
func TestProviderSettings(t *testing.T) {
	v := fixture()
	alice := v.subs[nAlice] // provider 1: its own policy
	alice.Signals = store.ProviderSignals{Reputation: store.ReputationActions{Medium: store.SignalBlock, Unknown: store.SignalChallenge},
		KeyMissing: store.SignalScreen}
	v.subs[nAlice] = alice
	e := New(v, WithReputationPolicy(DefaultReputationPolicy), WithKeyMissing(RepBlock))
	looked := ReputationLookup{Cache: CacheMiss, Latency: 1000}
	pre := "subscriber=yes " + lists
	for _, tc := range []struct {
		name string
		call Call
		want want
	}{
		{"provider's medium: block", Call{Calling: nStranger, Called: nAlice, Reputation: ReputationMedium, ReputationLookup: looked},
			want{action: ActionBlock, subscriber: 1, trace: pre + "reputation=medium setting=provider"}},
		{"provider's unknown: challenge", Call{Calling: nStranger, Called: nAlice, Origin: OriginAIN, ReputationLookup: ReputationLookup{Why: WhyTimeout}},
			want{action: ActionChallenge, subscriber: 1, route: routeEast, pin: true, trace: pre + "reputation=unknown setting=provider route=yes pin=yes"}},
		{"high left at default: the platform's challenge", Call{Calling: nStranger, Called: nAlice, Origin: OriginAIN, Reputation: ReputationHigh, ReputationLookup: looked},
			want{action: ActionChallenge, subscriber: 1, route: routeEast, pin: true, trace: pre + "reputation=high setting=platform route=yes pin=yes"}},
		{"another provider's subscriber: the platform's challenge", Call{Calling: nStranger, Called: nGrace, Origin: OriginSIP, Reputation: ReputationMedium, ReputationLookup: looked},
			want{action: ActionChallenge, subscriber: 7, route: routeSIP, trace: "subscriber=yes " + lists + "reputation=medium setting=platform route=yes pin=no"}},
		{"provider's missing key: screen", Call{Calling: nStranger, Called: nAlice, Origin: OriginAIN, KeyMatch: KeyMissing},
			want{action: ActionScreen, subscriber: 1, route: routeEast, pin: true, voicemail: "sip:vm-alice@vm.example", trace: "subscriber=yes key=missing setting=provider route=yes pin=yes"}},
		{"missing key to a non-subscriber: the platform's block", Call{Calling: nStranger, Called: nNobody, KeyMatch: KeyMissing},
			want{action: ActionBlock, trace: "subscriber=no key=missing setting=platform"}},
	} {
		t.Run(tc.name, func(t *testing.T) { check(t, e.Decide(context.Background(), tc.call), tc.want) })
	}
}
