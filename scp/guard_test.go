package scp

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"callgate/e164"
	"callgate/policy"
	"callgate/scp/ain"
	"callgate/simulators/ssp"
	"callgate/store"
	"callgate/store/storetest"
)

// startSCP runs the SCP on loopback TCP over d, with opts, with a switch
// attached.
func startSCP(t *testing.T, cfg Config, d policy.Decider, opts ...Option) (*Service, *ssp.Client, *harness) {
	t.Helper()
	reg := prometheus.NewRegistry()
	svc, err := New(cfg, d, append([]Option{WithRegisterer(reg)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Shutdown(context.Background()) })
	cl, err := ssp.Dial(ctx, ssp.Config{Network: "tcp", Connect: []string{svc.Addr()}, RoutingContexts: []uint32{10}, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	return svc, cl, &harness{s: svc, reg: reg}
}

// TestPanickingEngineOverM3UA: an engine (or a signal in front of it) that
// panics on every call does not take the SCP down: each query, terminating
// or originating, in pool and inline mode, gets the safe answer, and the
// association keeps serving.
func TestPanickingEngineOverM3UA(t *testing.T) {
	boom := decideFunc(func(context.Context, policy.Call) policy.Decision { panic("signal exploded") })
	dn, _ := ain.ParseDN("3035550100")
	ia := ain.InfoAnalyzedArg{UserID: ain.UserIDFromDN(dn), CalledPartyID: ain.Some(digits(t, "442079460000", ain.NOAInternational))}
	for _, inline := range []bool{false, true} {
		name := "workers"
		if inline {
			name = "inline"
		}
		t.Run(name, func(t *testing.T) {
			cfg := testConfig()
			cfg.Inline = inline
			_, cl, h := startSCP(t, cfg, boom)
			ctx := context.Background()
			for i := 0; i < 3; i++ {
				ans, err := cl.TerminationAttempt(ctx, ssp.TA{Calling: e164.MustParse("+17195551212"), Called: e164.MustParse("+13035550100")})
				if err != nil || ans.Operation != "authorizeTermination" {
					t.Fatalf("query %d: %s %v, want the safe authorizeTermination", i, ans.Operation, err)
				}
			}
			ans, err := cl.Invoke(ctx, ain.OpInfoAnalyzed, ia.Marshal(nil))
			if err != nil || ans.Operation != "continue" {
				t.Fatalf("infoAnalyzed: %s %v, want the safe continue", ans.Operation, err)
			}
			if n := h.counter(t, "callgate_scp_safe_answers_total", "reason", "panic"); n != 4 {
				t.Errorf("safe_answers_total{panic} = %v, want 4", n)
			}
		})
	}
}

// TestNoRouteFallback: Alice screens unknown callers, and her provider's
// route has a SIP URI but no routing number, so the SCP has no way to the
// B2BUA. The engine's configured fallback answers (authorize or
// disconnect), and the SCP counts it: before, the call was authorized and
// nothing said so.
func TestNoRouteFallback(t *testing.T) {
	st := storetest.Fixture(t)
	if _, err := st.SetRoute(store.Operator, store.RouteSpec{Name: storetest.Route, SIPURI: storetest.RouteURI}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		fallback policy.Fallback
		want     string
	}{
		{policy.FallbackAllow, "authorizeTermination"},
		{policy.FallbackBlock, "disconnect"},
	} {
		t.Run(tc.fallback.String(), func(t *testing.T) {
			_, cl, h := startSCP(t, testConfig(), policy.New(st, policy.WithNoRouteFallback(tc.fallback)))
			ans, err := cl.TerminationAttempt(context.Background(), ssp.TA{
				Calling: e164.MustParse(storetest.UnknownCaller), Called: e164.MustParse(storetest.AliceNumber)})
			if err != nil || ans.Operation != tc.want {
				t.Fatalf("answer %s %v, want %s", ans.Operation, err, tc.want)
			}
			if n := h.counter(t, "callgate_scp_no_route_fallback_total"); n != 1 {
				t.Errorf("no_route_fallback_total = %v, want 1", n)
			}
		})
	}
}
