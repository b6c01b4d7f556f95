package crosstier

import (
	"callgate/store"
	"context"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	"callgate/e164"
	"callgate/fraud"
	"callgate/policy"
	"callgate/policy/token"
	"callgate/redirect"
	"callgate/scp/ain"
	"callgate/store/storetest"
)

// Outgoing calls of a fraud-locked group, with the real fraud signal in
// front of the engine: the AIN tier (Info_Analyzed) and the SIP tier (an
// INVITE from an originating trunk) give the same verdict, the one the
// engine gives: international and premium refused, domestic through.
func TestFraudLockAcrossTiers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st := storetest.Fixture(t)
	m, err := fraud.New(fraud.DefaultConfig(), st, fraud.NewMemState())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.ImportRates(strings.NewReader("1,domestic,0.01\n44,international,1\n1900,premium,3\n"), "", store.Operator.By("test", "test"), false); err != nil {
		t.Fatal(err)
	}
	alice := e164.MustParse(storetest.AliceNumber)
	london := e164.MustParse("+442079460000")
	if err := m.Record(fraud.CDR{Calling: alice, Called: london, Start: time.Now().Add(-15 * time.Minute), Seconds: 900}); err != nil {
		t.Fatal(err)
	}
	if err := m.Recompute(); err != nil {
		t.Fatal(err)
	}
	engine := fraud.Wrap(policy.New(st, policy.WithClassifier(m)), m)
	tt := startTiers(t, ctx, engine, screeningURI)
	// The SIP tier with this host as an originating trunk.
	rs, err := redirect.New(redirect.Config{
		UDP: "127.0.0.1:0", ContinueRoute: "sip:{called}@gw.carrier.example", ScreeningURI: screeningURI,
		OriginatingSources: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
		TokenKeys:          []token.Key{tt.key}, TokenKeyID: tt.key.ID, TokenLifetime: time.Minute, Logger: slog.New(slog.DiscardHandler),
	}, engine)
	if err != nil {
		t.Fatal(err)
	}
	if err := rs.Listen(); err != nil {
		t.Fatal(err)
	}
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	go rs.Serve(sctx)
	tt.sipAddr = rs.Addr("udp").String()

	for _, tc := range []struct {
		name, line, dialled string
		want                string
	}{
		{"locked, international", storetest.AliceNumber, "+442079460000", "block"},
		{"locked, premium", storetest.AliceNumber, "+19005550100", "block"},
		{"locked, Caribbean", storetest.AliceNumber, "+18765550100", "block"},
		{"locked, domestic", storetest.AliceNumber, "+17205550123", "ring"},
		{"other group, international", storetest.BobNumber, "+442079460000", "ring"},
	} {
		line, dialled := e164.MustParse(tc.line), e164.MustParse(tc.dialled)
		d := engine.Decide(ctx, policy.Call{Calling: line, Called: dialled, Origin: policy.OriginAIN, Direction: policy.DirectionOriginating})
		if got := engineVerdict(d).Class; got != tc.want {
			t.Errorf("%s: engine %s [%s], want %s", tc.name, got, d.Trace.String(), tc.want)
		}
		dn, _ := ain.ParseDN(strings.TrimPrefix(tc.line, "+1"))
		noa, digits := ain.NOANational, strings.TrimPrefix(tc.dialled, "+1")
		if !dialled.IsNANP() {
			noa, digits = ain.NOAInternational, strings.TrimPrefix(tc.dialled, "+")
		}
		to, _ := ain.ParseDigits(digits, noa)
		ans, err := tt.sw.Invoke(ctx, ain.OpInfoAnalyzed, (&ain.InfoAnalyzedArg{UserID: ain.UserIDFromDN(dn), CalledPartyID: ain.Some(to)}).Marshal(nil))
		if err != nil {
			t.Fatal(err)
		}
		gotAIN := map[string]string{"continue": "ring", "disconnect": "block"}[ans.Operation]
		// askSIP sends From: the line, Request-URI: the dialled number.
		gotSIP := tt.askSIP(t, line, dialled, policy.PresentationAllowed).Class
		if gotAIN != tc.want || gotSIP != tc.want {
			t.Errorf("%s: AIN %s (%s), SIP %s; want %s", tc.name, gotAIN, ans.Operation, gotSIP, tc.want)
		}
	}
}
