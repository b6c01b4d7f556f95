package admin

import (
	"context"
	"encoding/json"
	"testing"

	"callgate/policy"
)

// The provider sets a treatment for a subscriber who may not change it
// himself: the API shows it in effect, set by the provider, the
// subscriber cannot change it, and the engine's decision uses it (before,
// the value was stored and shown but the default applied: a call from an
// unknown caller was screened, not blocked).
func TestProviderSetTreatmentDecides(t *testing.T) {
	var f *fixture
	decideFn := func(ctx context.Context, c *policy.Call, _ Given) policy.Decision {
		return policy.New(f.st).Decide(ctx, *c)
	}
	f = newFixture(t, WithDecide(decideFn))
	tag := f.want(t, 200, "acme", "GET", "/api/v1/subscribers/alice", nil, nil).Get("ETag")
	tag = f.want(t, 200, "acme", "PATCH", "/api/v1/subscribers/alice", map[string]any{"permissions": "vip,blocked,pin"}, nil, "If-Match", tag).Get("ETag")
	var sub subscriberView
	f.want(t, 200, "acme", "PATCH", "/api/v1/subscribers/alice", map[string]any{"settings": map[string]any{"unknown": "block"}}, &sub, "If-Match", tag)
	if sub.SetByProvider.String() != "unknown" {
		t.Fatalf("set_by_provider after the provider's PATCH = %q, want unknown", sub.SetByProvider)
	}

	var tv struct {
		Effective     map[string]any    `json:"effective"`
		Sources       map[string]string `json:"sources"`
		SetByProvider string            `json:"set_by_provider"`
	}
	f.want(t, 200, "alice", "GET", "/api/v1/subscribers/alice/treatment", nil, &tv)
	if tv.Effective["unknown"] != "block" || tv.Sources["unknown"] != "provider" || tv.Sources["anonymous"] != "platform-default" || tv.SetByProvider != "unknown" {
		t.Fatalf("alice's treatment: %+v", tv)
	}
	tag = f.want(t, 200, "alice", "GET", "/api/v1/subscribers/alice", nil, nil).Get("ETag")
	f.want(t, 403, "alice", "PATCH", "/api/v1/subscribers/alice", map[string]any{"settings": map[string]any{"unknown": "allow"}}, nil, "If-Match", tag)

	_, body, _ := f.do(t, "acme", "POST", "/api/v1/decide", map[string]any{"called": "+12025550100", "calling": "+17195550123"})
	var v struct {
		Decision json.RawMessage `json:"decision"`
	}
	json.Unmarshal(body, &v)
	var d policy.Decision
	if err := json.Unmarshal(v.Decision, &d); err != nil || d.Action != policy.ActionBlock {
		t.Fatalf("an unknown caller to alice: %s, want block (the provider's setting)", body)
	}
}
