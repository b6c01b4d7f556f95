package admin

import (
	"net/http"
	"testing"
)

// TestIfMatchForms: If-Match is evaluated as RFC 9110 §13.1.1 says: strong
// comparison (a weak tag of the current revision does not match: 412), "*"
// matches the existing object, a list matches when any member does, and
// only a value that is not entity-tag syntax is a client error (400).
func TestIfMatchForms(t *testing.T) {
	f := newFixture(t)
	patch := func(v string) map[string]any { return map[string]any{"settings": map[string]any{"unknown": v}} }
	cur := func() string { return f.want(t, 200, "acme", "GET", "/api/v1/subscribers/alice", nil, nil).Get("ETag") }

	tag := cur()
	status, body, _ := f.do(t, "acme", "PATCH", "/api/v1/subscribers/alice", patch("block"), "If-Match", "W/"+tag)
	if status != http.StatusPreconditionFailed {
		t.Errorf("weak tag of the current revision: %d %s, want 412", status, body)
	}
	if cur() != tag {
		t.Fatal("the weak-tag write changed the subscriber")
	}

	var s subscriberView
	f.want(t, 200, "acme", "PATCH", "/api/v1/subscribers/alice", patch("block"), &s, "If-Match", "*")
	if s.Settings.Unknown.String() != "block" {
		t.Errorf("If-Match *: unknown %v", s.Settings.Unknown)
	}

	old, tag := tag, cur()
	f.want(t, 200, "acme", "PATCH", "/api/v1/subscribers/alice", patch("allow"), &s, "If-Match", old+", W/"+tag+" ,"+tag)
	if s.Settings.Unknown.String() != "allow" {
		t.Errorf("list holding the current tag: unknown %v", s.Settings.Unknown)
	}
	f.want(t, 412, "acme", "PATCH", "/api/v1/subscribers/alice", patch("block"), nil, "If-Match", old+", "+tag)
	f.want(t, 412, "acme", "PATCH", "/api/v1/subscribers/alice", patch("block"), nil, "If-Match", `"not-a-revision"`)
	for _, bad := range []string{"5", `"5`, `W/5`, `"5" "6"`} {
		f.want(t, 400, "acme", "PATCH", "/api/v1/subscribers/alice", patch("block"), nil, "If-Match", bad)
	}

	// Optional If-Match (lists) reads the same way.
	f.want(t, 200, "alice", "POST", "/api/v1/lists/alice/vip", map[string]any{"numbers": []string{"+13125550109"}}, nil)
	lt := f.want(t, 200, "alice", "GET", "/api/v1/lists/alice/vip", nil, nil).Get("ETag")
	f.want(t, 412, "alice", "POST", "/api/v1/lists/alice/vip", map[string]any{"numbers": []string{"+13125550110"}}, nil, "If-Match", "W/"+lt)
	f.want(t, 200, "alice", "POST", "/api/v1/lists/alice/vip", map[string]any{"numbers": []string{"+13125550110"}}, nil, "If-Match", `"1", `+lt)
	f.want(t, 200, "alice", "POST", "/api/v1/lists/alice/vip", map[string]any{"numbers": []string{"+13125550111"}}, nil, "If-Match", "*")
}
