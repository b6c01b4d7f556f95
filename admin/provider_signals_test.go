package admin

import (
	"testing"

	"callgate/e164"
	"callgate/store"
)

// TestProviderSignalsAPI: a provider reads and replaces its own signal
// policy (with If-Match when it sends one), the engine's view follows, the
// change is audited; another provider and a subscriber are refused, and a
// bad action is a 422 naming the signals.
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
	if p.Field != "signals" {
		t.Errorf("422 names %q", p.Field)
	}
	f.want(t, 400, "acme", "PUT", "/api/v1/providers/acme/signals", map[string]any{"reputation": map[string]string{"medium": "drop"}}, nil)
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
