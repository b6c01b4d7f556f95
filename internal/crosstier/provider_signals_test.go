package crosstier

import (
	"context"
	"strings"
	"testing"
	"time"

	"callgate/e164"
	"callgate/policy"
	"callgate/reputation"
	"callgate/store"
	"callgate/store/storetest"
)

// TestProviderSignalsOnBothTiers: the reputation band -> action mapping
// and the missing-key action are per service provider. Two providers with
// different settings get different verdicts for the same caller, and both
// tiers agree on each; a setting a provider left at default takes the
// platform's, and the engine's trace names whose setting applied.
func TestProviderSignalsOnBothTiers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// The platform: issue 13's defaults (medium and high challenged), and
	// a missing key blocked.
	tt, _, sim, st, rec := signalTiersRecorded(t, ctx, policy.DefaultReputationPolicy, reputation.Config{Budget: time.Second})
	// acme blocks medium risk and screens spoofed calls; globex lets medium
	// risk ring and leaves the rest to the platform.
	if _, err := st.SetProviderSignals(store.ProviderActor(storetest.Provider), storetest.Provider, store.ProviderSignals{
		Reputation: store.ReputationActions{Medium: store.SignalBlock}, KeyMissing: store.SignalScreen}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.SetProviderSignals(store.Operator, storetest.OtherProvider, store.ProviderSignals{
		Reputation: store.ReputationActions{Medium: store.SignalAllow}}); err != nil {
		t.Fatal(err)
	}
	alice, carol := e164.MustParse(storetest.AliceNumber), e164.MustParse(storetest.CarolNumber)
	medium, high := e164.MustParse("+16175550102"), e164.MustParse("+16175550103")
	spoofed := e164.MustParse(storetest.EnterpriseNumber) // enrolled, and no key registered
	sim.SetBand(medium, "medium")
	sim.SetBand(high, "high")

	for _, c := range []struct {
		name            string
		calling, called e164.Number
		want            verdict
		trace           string // a part of the engine's trace on both tiers
	}{
		{"medium risk to acme: acme's block", medium, alice, verdict{Class: "block"}, "reputation=medium setting=provider"},
		{"medium risk to globex: globex's allow", medium, carol, verdict{Class: "ring"}, "reputation=medium setting=provider"},
		{"high risk to acme: left at default, the platform's challenge", high, alice,
			verdict{Class: "sip-tier", Action: policy.ActionChallenge}, "reputation=high setting=platform"},
		{"high risk to globex: the platform's challenge", high, carol,
			verdict{Class: "sip-tier", Action: policy.ActionChallenge}, "reputation=high setting=platform"},
		{"spoofed call to acme: acme's screen", spoofed, alice,
			verdict{Class: "sip-tier", Action: policy.ActionScreen}, "key=missing setting=provider"},
		{"spoofed call to globex: the platform's block", spoofed, carol, verdict{Class: "block"}, "key=missing setting=platform"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ainV := tt.askAIN(t, ctx, c.calling, c.called, policy.PresentationAllowed)
			sipV := tt.askSIP(t, c.calling, c.called, policy.PresentationAllowed)
			if ainV.Class != c.want.Class {
				t.Errorf("AIN %v, want %v", ainV, c.want)
			}
			if sipV.Class != c.want.Class || (c.want.Action != 0 && sipV.Action != c.want.Action) {
				t.Errorf("SIP %v, want %v", sipV, c.want)
			}
			for _, o := range []policy.Origin{policy.OriginAIN, policy.OriginSIP} {
				if tr := rec.trace(o, c.called); !strings.Contains(tr, c.trace) {
					t.Errorf("%s trace %q, want %q in it", o, tr, c.trace)
				}
			}
		})
	}
}
