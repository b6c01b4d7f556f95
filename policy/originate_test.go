package policy

import (
	"context"
	"testing"

	"callgate/e164"
)

func TestOriginate(t *testing.T) {
	out := func(c Call) Call { c.Direction = DirectionOriginating; c.Origin = OriginAIN; return c }
	tests := []struct {
		name string
		call Call
		want want
	}{
		{"not locked", out(Call{Calling: nAlice, Called: nStranger}),
			want{action: ActionAllow, subscriber: 1, trace: "line=yes fraud=no"}},
		{"line not a subscriber", out(Call{Calling: nNobody, Called: nStranger}),
			want{action: ActionAllow, trace: "line=no fraud=no"}},
		{"no calling line", out(Call{Called: nStranger}),
			want{action: ActionAllow, trace: "line=missing fraud=no"}},
		{"locked, international", out(Call{Calling: nAlice, Called: nStranger, FraudLocked: true}),
			want{action: ActionBlock, subscriber: 1, trace: "line=yes fraud=yes destination=yes"}},
		{"locked, NANP abroad (Jamaica)", out(Call{Calling: nAlice, Called: e164.MustParse("+18765550100"), FraudLocked: true}),
			want{action: ActionBlock, subscriber: 1, trace: "line=yes fraud=yes destination=yes"}},
		{"locked, premium 900", out(Call{Calling: nAlice, Called: e164.MustParse("+19005550100"), FraudLocked: true}),
			want{action: ActionBlock, subscriber: 1, trace: "line=yes fraud=yes destination=yes"}},
		{"locked, domestic", out(Call{Calling: nAlice, Called: nBob, FraudLocked: true}),
			want{action: ActionAllow, subscriber: 1, trace: "line=yes fraud=yes destination=no"}},
		{"locked, unreadable destination (911)", out(Call{Calling: nAlice, FraudLocked: true}),
			want{action: ActionAllow, subscriber: 1, trace: "line=yes fraud=yes destination=missing"}},
		// The terminating lists and treatments are not consulted: Alice's
		// Blocked list is about who may call her, not whom she calls.
		{"terminating rules do not apply", out(Call{Calling: nAlice, Called: nPest}),
			want{action: ActionAllow, subscriber: 1, trace: "line=yes fraud=no"}},
	}
	e := New(fixture(), WithNoRouteFallback(FallbackBlock))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			check(t, e.Decide(context.Background(), tc.call), tc.want)
		})
	}
}

func TestDestinationOf(t *testing.T) {
	tests := []struct {
		n    string
		want Destination
	}{
		{"+13035550100", DestinationDomestic},
		{"+14165550100", DestinationDomestic},      // Toronto
		{"+17875550100", DestinationDomestic},      // Puerto Rico, a US territory
		{"+18095550100", DestinationInternational}, // Dominican Republic
		{"+12425550100", DestinationInternational}, // Bahamas
		{"+442079460000", DestinationInternational},
		{"+19005550100", DestinationPremium},
		{"+12129765555", DestinationPremium},
	}
	for _, tc := range tests {
		if got := DestinationOf(e164.MustParse(tc.n)); got != tc.want {
			t.Errorf("DestinationOf(%s) = %v, want %v", tc.n, got, tc.want)
		}
	}
	if got := DestinationOf(0); got != DestinationUnknown {
		t.Errorf("DestinationOf(0) = %v", got)
	}
}

// Every named rule and outcome has words for `callgate decide`, and the
// persisted values have not moved (append-only).
func TestRuleHelpAndValues(t *testing.T) {
	for r := Rule(1); r.Valid(); r++ {
		if r.Help() == "" {
			t.Errorf("rule %v has no help", r)
		}
	}
	if Rule(0).Help() != "" || Rule(200).Help() != "" {
		t.Error("help for an unnamed rule")
	}
	fixed := map[Rule]uint8{RuleSubscriber: 1, RuleRoute: 7, RuleFraud: 14, RuleFallback: 15, RuleLine: 16, RuleDestination: 17}
	for r, v := range fixed {
		if uint8(r) != v {
			t.Errorf("rule %v = %d, persisted as %d", r, r, v)
		}
	}
	if OutcomeMissing != 4 || OutcomeDefault != 5 {
		t.Error("outcome values moved")
	}
	if DirectionTerminating != 0 || DirectionOriginating != 1 {
		t.Error("direction values moved")
	}
}
