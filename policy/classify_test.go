package policy

import (
	"context"
	"testing"

	"callgate/e164"
)

// classifierMap is a Classifier over a map (the rate table's view).
type classifierMap map[e164.Number]Destination

func (c classifierMap) Destination(n e164.Number) Destination { return c[n] }

// A classifier can bar a NANP number the engine reads as domestic, but
// cannot unbar a foreign or premium one, nor bar a number the engine
// cannot read.
func TestClassifierStricterWins(t *testing.T) {
	pumped := e164.MustParse("+17125550100") // a traffic-pumping range a rate table rates premium
	jamaica := e164.MustParse("+18765550100")
	premium := e164.MustParse("+19005550100")
	c := classifierMap{pumped: DestinationPremium, jamaica: DestinationDomestic, premium: DestinationDomestic, nBob: DestinationDomestic}
	e := New(fixture(), WithClassifier(c))
	locked := func(called e164.Number) Call {
		return Call{Calling: nAlice, Called: called, FraudLocked: true, Direction: DirectionOriginating, Origin: OriginAIN}
	}
	tests := []struct {
		name   string
		called e164.Number
		want   want
	}{
		{"classifier bars a domestic-looking premium range", pumped,
			want{action: ActionBlock, subscriber: 1, trace: "line=yes fraud=yes destination=yes"}},
		{"classifier cannot make Jamaica domestic", jamaica,
			want{action: ActionBlock, subscriber: 1, trace: "line=yes fraud=yes destination=yes"}},
		{"classifier cannot make 900 domestic", premium,
			want{action: ActionBlock, subscriber: 1, trace: "line=yes fraud=yes destination=yes"}},
		{"domestic stays domestic", nBob,
			want{action: ActionAllow, subscriber: 1, trace: "line=yes fraud=yes destination=no"}},
		{"unreadable stays unknown", 0,
			want{action: ActionAllow, subscriber: 1, trace: "line=yes fraud=yes destination=missing"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			check(t, e.Decide(context.Background(), locked(tc.called)), tc.want)
		})
	}
	// Without the classifier, the pumped range is domestic.
	check(t, New(fixture()).Decide(context.Background(), locked(pumped)),
		want{action: ActionAllow, subscriber: 1, trace: "line=yes fraud=yes destination=no"})
	if n := testing.AllocsPerRun(100, func() { e.Decide(context.Background(), locked(pumped)) }); n != 0 {
		t.Errorf("Decide with a classifier: %v allocations, want 0", n)
	}
}
