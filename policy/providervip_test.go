package policy

import (
	"context"
	"testing"
)

// TestProviderVIP: the provider-wide VIP list lets a caller through to
// every subscriber of the provider, ahead of the subscriber's own lists,
// the provider's Blocked list and the treatment signals, but never ahead
// of spoof protection.
func TestProviderVIP(t *testing.T) {
	v := fixture()
	// Provider 1 (alice, bob, dave, erin, frank): nPest is blocked by
	// alice, bob and carol; nSpammer2 is on provider 1's Blocked list.
	v.provVIP[listKey{1, nPest}] = struct{}{}
	v.provVIP[listKey{1, nSpammer2}] = struct{}{}
	e := New(v)
	looked := ReputationLookup{Cache: CacheMiss, Latency: 1000}
	tests := []struct {
		name string
		call Call
		want want
	}{
		{"beats the subscriber's Blocked list", Call{Calling: nPest, Called: nAlice, Origin: OriginAIN},
			want{action: ActionAllow, subscriber: 1, trace: "subscriber=yes provider-vip=yes"}},
		{"beats Reject with Media", Call{Calling: nPest, Called: nBob, Origin: OriginAIN},
			want{action: ActionAllow, subscriber: 2, trace: "subscriber=yes provider-vip=yes"}},
		{"beats the provider's own Blocked list", Call{Calling: nSpammer2, Called: nAlice},
			want{action: ActionAllow, subscriber: 1, trace: "subscriber=yes provider-vip=yes"}},
		{"beats an unknown-caller block", Call{Calling: nPest, Called: nErin},
			want{action: ActionAllow, subscriber: 5, trace: "subscriber=yes provider-vip=yes"}},
		{"beats a high-risk reputation", Call{Calling: nPest, Called: nFrank, Reputation: ReputationHigh, ReputationLookup: looked},
			want{action: ActionAllow, subscriber: 6, trace: "subscriber=yes provider-vip=yes"}},
		{"is per provider", Call{Calling: nPest, Called: nCarol},
			want{action: ActionBlock, subscriber: 3, trace: "subscriber=yes provider-vip=no vip=no blocked=yes announcement=missing"}},
		{"does not beat a missing call key", Call{Calling: nPest, Called: nAlice, KeyMatch: KeyMissing},
			want{action: ActionBlock, subscriber: 1, trace: "subscriber=yes key=missing setting=platform"}},
		{"a matched call key goes on to it", Call{Calling: nPest, Called: nAlice, KeyMatch: KeyMatched},
			want{action: ActionAllow, subscriber: 1, trace: "subscriber=yes key=yes provider-vip=yes brand=missing"}},
		{"not consulted without a calling number", Call{Called: nAlice, Origin: OriginAIN},
			want{action: ActionBlock, subscriber: 1, trace: "subscriber=yes anonymous=apply"}},
		{"not consulted for a non-subscriber", Call{Calling: nPest, Called: nNobody},
			want{action: ActionAllow, trace: "subscriber=no"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			check(t, e.Decide(context.Background(), tc.call), tc.want)
		})
	}
}

// TestProviderVIPRuleIsAppended: rules are persisted by value, so the new
// rule takes the next free value and leaves every older one alone.
func TestProviderVIPRuleIsAppended(t *testing.T) {
	if RuleProviderVIP != 19 || RuleBrand != 18 || RuleProviderBlocked != 4 {
		t.Fatalf("rule values moved: provider-vip %d brand %d provider-blocked %d", RuleProviderVIP, RuleBrand, RuleProviderBlocked)
	}
	var r Rule
	if err := r.UnmarshalText([]byte("provider-vip")); err != nil || r != RuleProviderVIP {
		t.Fatalf("provider-vip parses to %v, %v", r, err)
	}
	if RuleProviderVIP.Help() == "" {
		t.Error("provider-vip has no help text")
	}
}
