package crosstier

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"callgate/e164"
	"callgate/policy"
	"callgate/policy/decisionlog"
	"callgate/scp/ain"
	"callgate/store/storetest"
)

// Outgoing calls at the AIN originating triggers (the SIP tier's outgoing
// calls, from originating trunks, are in fraud_test.go): what the switch gets at
// Info_Analyzed / Info_Collected must be what the engine's originating
// chain decides, and each decision must be in the decision log as an
// origination with its rules.

// fraudSignal stands in for the fraud signal in front of the engine: it
// locks the given lines down.
type fraudSignal struct {
	locked map[e164.Number]bool
	next   policy.Decider
}

func (f fraudSignal) Decide(ctx context.Context, c policy.Call) policy.Decision {
	if c.Direction == policy.DirectionOriginating {
		c.FraudLocked = f.locked[c.Calling]
	}
	return f.next.Decide(ctx, c)
}

func TestOriginationsAcrossTiers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st := storetest.Fixture(t)
	dl, err := decisionlog.Open(filepath.Join(t.TempDir(), decisionlog.FileName), decisionlog.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer dl.Close()
	alice, bob := e164.MustParse(storetest.AliceNumber), e164.MustParse(storetest.BobNumber)
	engine := fraudSignal{locked: map[e164.Number]bool{alice: true}, next: policy.New(st)}
	tt := startTiers(t, ctx, decisionlog.Wrap(engine, dl), screeningURI)

	cases := []struct {
		name    string
		op      ain.OpCode
		line    string // 10-digit DN of the calling line
		dialled string
		noa     ain.NatureOfAddress
		want    string // AIN answer
	}{
		{"locked line, international", ain.OpInfoAnalyzed, "3035550100", "442079460000", ain.NOAInternational, "disconnect"},
		{"locked line, Caribbean NANP", ain.OpInfoCollected, "3035550100", "8765550100", ain.NOANational, "disconnect"},
		{"locked line, premium", ain.OpInfoAnalyzed, "3035550100", "9005550100", ain.NOANational, "disconnect"},
		{"locked line, domestic", ain.OpInfoAnalyzed, "3035550100", "7205550123", ain.NOANational, "continue"},
		{"unlocked line, international", ain.OpInfoAnalyzed, "3035550101", "442079460000", ain.NOAInternational, "continue"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dn, err := ain.ParseDN(tc.line)
			if err != nil {
				t.Fatal(err)
			}
			dialled, err := ain.ParseDigits(tc.dialled, tc.noa)
			if err != nil {
				t.Fatal(err)
			}
			var params []byte
			if tc.op == ain.OpInfoAnalyzed {
				params = (&ain.InfoAnalyzedArg{UserID: ain.UserIDFromDN(dn), CalledPartyID: ain.Some(dialled)}).Marshal(nil)
			} else {
				params = (&ain.InfoCollectedArg{UserID: ain.UserIDFromDN(dn), CollectedAddressInfo: ain.Some(dialled)}).Marshal(nil)
			}
			ans, err := tt.sw.Invoke(ctx, tc.op, params)
			if err != nil {
				t.Fatal(err)
			}
			// The engine, asked directly as the SCP asks it.
			line, _ := dn.E164()
			to, _ := dialled.E164()
			d := engine.Decide(ctx, policy.Call{Calling: line, Called: to, Origin: policy.OriginAIN, Direction: policy.DirectionOriginating})
			want := map[policy.Action]string{policy.ActionAllow: "continue", policy.ActionBlock: "disconnect"}[d.Action]
			if ans.Operation != tc.want || want != tc.want {
				t.Errorf("AIN %s, engine %v [%s], want %s", ans.Operation, d.Action, d.Trace.String(), tc.want)
			}
		})
	}

	// Every origination is in the decision log, marked, with its rules.
	if err := dl.Flush(); err != nil {
		t.Fatal(err)
	}
	for _, n := range []e164.Number{alice, bob} {
		recs, err := dl.Search(decisionlog.Query{Number: n})
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) == 0 {
			t.Errorf("no decision logged for %v", n)
		}
		for _, r := range recs {
			d := r.Decision()
			if r.Direction != policy.DirectionOriginating || r.Origin != policy.OriginAIN || !d.Trace.Has(policy.RuleFraud, policy.OutcomeYes) && !d.Trace.Has(policy.RuleFraud, policy.OutcomeNo) {
				t.Errorf("logged %s", r.String())
			}
		}
	}
}
