package admin

import (
	"testing"

	"callgate/e164"
	"callgate/policy"
	"callgate/store"
)

// TestProviderSignalsAPI: a provider reads and replaces its own signal
// policy (with If-Match when it sends one), the engine's view follows, the
// change is audited; another provider and a subscriber are refused, and a
// bad action names its member: 422 for an action the member does not
// take, 400 for a name that is no action.
func TestProviderSignalsAPI(t *testing.T) {
	f := newFixture(t)
	var v providerSignalsView
	h := f.want(t, 200, "acme", "GET", "/api/v1/providers/acme/signals", nil, &v)
	if v.Provider != "acme" || v.Signals != (store.ProviderSignals{}) || h.Get("ETag") == "" {
		t.Fatalf("GET: %+v %v", v, h)
	}
	body := map[string]any{"reputation": map[string]string{"medium": "block", "high": "block"}, "key_missing": "tag"}
	f.want(t, 200, "acme", "PUT", "/api/v1/providers/acme/signals", body, &v, "If-Match", h.Get("ETag"))
	want := store.ProviderSignals{Reputation: store.ReputationActions{Medium: store.SignalBlock, High: store.SignalBlock}, KeyMissing: store.SignalContinue}
	if v.Signals != want {
		t.Errorf("PUT answered %+v", v.Signals)
	}
	if sv, _ := f.st.Subscriber(e164.MustParse("+12025550100")); sv.Signals != want {
		t.Errorf("the engine's view of alice: %+v", sv.Signals)
	}
	// The old ETag is stale now.
	f.want(t, 412, "acme", "PUT", "/api/v1/providers/acme/signals", body, nil, "If-Match", h.Get("ETag"))
	var p problem
	f.want(t, 422, "operator", "PUT", "/api/v1/providers/acme/signals", map[string]any{"key_missing": "allow"}, &p)
	if p.Field != "key_missing" {
		t.Errorf("422 names %q, want key_missing", p.Field)
	}
	p = problem{}
	f.want(t, 400, "acme", "PUT", "/api/v1/providers/acme/signals", map[string]any{"reputation": map[string]string{"low": "allow", "medium": "drop"}}, &p)
	if p.Field != "reputation.medium" {
		t.Errorf("400 for an unknown action names %q, want reputation.medium", p.Field)
	}
	p = problem{}
	f.want(t, 400, "acme", "PUT", "/api/v1/providers/acme/signals", map[string]any{"key_missing": "drop"}, &p)
	if p.Field != "key_missing" {
		t.Errorf("400 for an unknown action names %q, want key_missing", p.Field)
	}
	f.want(t, 400, "acme", "PUT", "/api/v1/providers/acme/signals", map[string]any{"loud": true}, nil)
	f.want(t, 404, "globex", "GET", "/api/v1/providers/acme/signals", nil, nil)
	if st, _, _ := f.do(t, "globex", "PUT", "/api/v1/providers/acme/signals", body); st != 403 && st != 404 {
		t.Errorf("another provider's PUT: %d", st)
	}
	if st, _, _ := f.do(t, "alice", "PUT", "/api/v1/providers/acme/signals", body); st != 403 && st != 404 {
		t.Errorf("a subscriber's PUT: %d", st)
	}
	recs, err := f.st.SearchAudit(store.Operator, store.AuditQuery{Limit: 1})
	if err != nil || len(recs) != 1 || recs[0].Op != "provider.signals" || recs[0].Via != "api" {
		t.Errorf("audit: %+v %v", recs, err)
	}
}

// TestProviderSignalsShowTheDaemonsPlatformDefaults: the answer carries
// the platform defaults the tier was given (the daemon's engine's), so a
// client shows what "default" means in the running daemon, not in a
// configuration file of its own; a tier not told them says nothing.
func TestProviderSignalsShowTheDaemonsPlatformDefaults(t *testing.T) {
	plat := PlatformSignals{Reputation: policy.ReputationPolicy{Low: policy.RepAllow, Medium: policy.RepScreen,
		High: policy.RepBlock, Exempt: policy.RepContinue, Unknown: policy.RepChallenge}, KeyMissing: policy.RepScreen}
	f := newFixture(t, WithPlatformSignals(plat))
	want := platformSignalsView{Reputation: platformReputationView{Low: "allow", Medium: "screen", High: "block",
		Exempt: "continue", Unknown: "challenge"}, KeyMissing: "screen"}
	var v providerSignalsView
	f.want(t, 200, "acme", "GET", "/api/v1/providers/acme/signals", nil, &v)
	if v.Platform == nil || *v.Platform != want {
		t.Errorf("GET platform: %+v, want %+v", v.Platform, want)
	}
	v = providerSignalsView{}
	f.want(t, 200, "operator", "PUT", "/api/v1/providers/acme/signals", map[string]any{"key_missing": "block"}, &v)
	if v.Platform == nil || *v.Platform != want || v.Signals.KeyMissing != store.SignalBlock {
		t.Errorf("PUT answer: %+v %+v", v.Platform, v.Signals)
	}
	var raw map[string]any
	newFixture(t).want(t, 200, "acme", "GET", "/api/v1/providers/acme/signals", nil, &raw)
	if _, ok := raw["platform"]; ok {
		t.Errorf("a tier without platform defaults invents some: %v", raw)
	}
}
