package admin

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"callgate/e164"
	"callgate/keys"
	"callgate/policy"
	"callgate/store"
)

// keysFixture is the API fixture with call keys on (a registry of its
// own) and initech's enterprise token in f.tokens["initech"].
func keysFixture(t *testing.T) (*fixture, *keys.Registry) {
	t.Helper()
	var reg *keys.Registry
	var st *store.Store
	f := newFixture(t, func(tr *Tier) {
		st = tr.st
		var err error
		if reg, err = keys.Open(keys.Config{}, tr.st); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { reg.Close() })
		WithKeys(keys.Handler(reg, tr.st), reg)(tr)
	})
	tok, hash, err := keys.IssueToken("initech")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.UpdateEnterpriseSignals(store.Operator, "initech", func(g *store.EnterpriseSignals) error { g.TokenHash = hash; return nil }); err != nil {
		t.Fatal(err)
	}
	f.tokens["initech"] = tok
	return f, reg
}

// TestKeysOnTheAPI: an enterprise registers a call key on the management
// API's listener (TLS in production) with its own API token, which the
// management authentication would refuse; a management token is no
// enterprise's and is refused by the key handler; with keys off the
// route says so.
func TestKeysOnTheAPI(t *testing.T) {
	f, reg := keysFixture(t)
	key := map[string]string{"calling": "+12025550150", "called": "+13035550100"}
	var got keys.Response
	f.want(t, http.StatusCreated, "initech", "POST", "/api/v1/keys", key, &got)
	if got.Calling != "+12025550150" || !got.NotAfter.After(got.NotBefore) {
		t.Errorf("registered %+v", got)
	}
	if m, _ := reg.Check(e164.MustParse("+12025550150"), e164.MustParse("+13035550100"), time.Now()); m != policy.KeyMatched {
		t.Errorf("after the POST on the API: %v, want KeyMatched", m)
	}
	status, out, h := f.do(t, "operator", "POST", "/api/v1/keys", key)
	var p problem
	if status != http.StatusUnauthorized || h.Get("Content-Type") != "application/problem+json" || json.Unmarshal(out, &p) != nil || p.Field != "Authorization" {
		t.Errorf("a management token: %d %s %s, want 401 problem+json naming Authorization", status, h.Get("Content-Type"), out)
	}

	off := newFixture(t)
	status, out, _ = off.do(t, "", "POST", "/api/v1/keys", key)
	if status != http.StatusNotFound || !strings.Contains(string(out), "keys.enabled") {
		t.Errorf("keys off: %d %s", status, out)
	}
}

// TestKeysRevokedOnTheAPI: the enterprise revokes its keys on the
// management API's listener with its own token (one pair, all); the
// platform owner or the enterprise's provider revokes every key of an
// enterprise, another provider cannot; a token reissued with
// ?revoke_keys=true revokes them too (a leak), without it they hold (a
// routine reissue); with keys off revocation says so.
func TestKeysRevokedOnTheAPI(t *testing.T) {
	f, reg := keysFixture(t)
	calling := e164.MustParse("+12025550150")
	register := func(called string) {
		t.Helper()
		f.want(t, http.StatusCreated, "initech", "POST", "/api/v1/keys", map[string]string{"calling": "+12025550150", "called": called}, nil)
	}
	matches := func(called string) bool {
		m, _ := reg.Peek(calling, e164.MustParse(called), time.Now())
		return m == policy.KeyMatched
	}
	register("+13035550100")
	register("+13035550101")
	var rv keys.Revoked
	f.want(t, http.StatusOK, "initech", "DELETE", "/api/v1/keys/+12025550150/+13035550100", nil, &rv)
	if rv.Revoked != 1 || matches("+13035550100") || !matches("+13035550101") {
		t.Errorf("the enterprise revoked a pair: %+v; the pair's key matches %v, the other's %v", rv, matches("+13035550100"), matches("+13035550101"))
	}
	f.want(t, http.StatusOK, "initech", "DELETE", "/api/v1/keys", nil, &rv)
	if rv.Revoked != 1 || matches("+13035550101") {
		t.Errorf("the enterprise revoked all: %+v", rv)
	}

	register("+13035550102")
	var out revokedKeys
	status, body, _ := f.do(t, "globex", "DELETE", "/api/v1/enterprises/initech/keys", nil)
	if status != http.StatusNotFound || !matches("+13035550102") {
		t.Errorf("another provider revoking initech's keys: %d %s", status, body)
	}
	f.want(t, http.StatusOK, "acme", "DELETE", "/api/v1/enterprises/initech/keys", nil, &out)
	if out.Revoked != 1 || out.Enterprise != "initech" || matches("+13035550102") {
		t.Errorf("the enterprise's provider revoked its keys: %+v", out)
	}

	// A routine reissue leaves the keys; a reissue for a leak revokes them.
	register("+13035550103")
	var sv signalsView
	f.want(t, http.StatusCreated, "operator", "POST", "/api/v1/enterprises/initech/token", nil, &sv)
	if sv.RevokedKeys != nil || !matches("+13035550103") {
		t.Errorf("a reissue without revoke_keys: %+v, the key matches %v", sv, matches("+13035550103"))
	}
	f.tokens["initech"] = sv.Token
	register("+13035550104")
	status, body, _ = f.do(t, "operator", "POST", "/api/v1/enterprises/initech/token?revoke_keys=maybe", nil)
	var p problem
	if status != http.StatusBadRequest || json.Unmarshal(body, &p) != nil || p.Field != "revoke_keys" {
		t.Errorf("revoke_keys=maybe: %d %s, want 400 naming revoke_keys", status, body)
	}
	f.want(t, http.StatusCreated, "operator", "POST", "/api/v1/enterprises/initech/token?revoke_keys=true", nil, &sv)
	if sv.RevokedKeys == nil || *sv.RevokedKeys != 2 || sv.RevokeError != "" || sv.Token == "" || matches("+13035550103") || matches("+13035550104") {
		t.Errorf("a reissue with revoke_keys: %+v", sv)
	}

	// Every revocation is in the audit log (the keys are not in the
	// store, so it used to hold none): who, by which path, which keys,
	// how many, newest first; the enterprise's provider sees them, another
	// provider does not.
	var audit page[store.AuditRecord]
	f.want(t, http.StatusOK, "operator", "GET", "/api/v1/audit?object=enterprise/initech/keys", nil, &audit)
	type rec struct {
		principal, role, actor, via, object string
		after                               store.KeyRevocation
	}
	want := []rec{
		{"token ", "operator", "operator", "api", "enterprise/initech/keys", store.KeyRevocation{Revoked: 2, Reason: "token reissued"}},
		{"token ", "provider", "provider acme", "api", "enterprise/initech/keys", store.KeyRevocation{Revoked: 1}},
		{"initech's API token", "enterprise", "enterprise initech", "api", "enterprise/initech/keys", store.KeyRevocation{Revoked: 1}},
		{"initech's API token", "enterprise", "enterprise initech", "api", "enterprise/initech/keys/+12025550150/+13035550100",
			store.KeyRevocation{Calling: "+12025550150", Called: "+13035550100", Revoked: 1}},
	}
	if len(audit.Items) != len(want) {
		t.Fatalf("audit of initech's keys: %d records, want %d: %+v", len(audit.Items), len(want), audit.Items)
	}
	for i, w := range want {
		r := audit.Items[i]
		var after store.KeyRevocation
		if err := json.Unmarshal(r.After, &after); err != nil {
			t.Errorf("record %d after %s: %v", i, r.After, err)
		}
		if r.Op != "keys.revoke" || !strings.HasPrefix(r.Principal, w.principal) || r.Role != w.role || r.Actor != w.actor || r.Via != w.via ||
			r.Object != w.object || after != w.after || r.Provider != "acme" || r.At.IsZero() {
			t.Errorf("record %d: %+v after %s, want %+v", i, r, r.After, w)
		}
	}
	f.want(t, http.StatusOK, "acme", "GET", "/api/v1/audit?object=enterprise/initech/keys", nil, &audit)
	if len(audit.Items) != len(want) {
		t.Errorf("the enterprise's provider sees %d revocations, want %d", len(audit.Items), len(want))
	}
	f.want(t, http.StatusOK, "globex", "GET", "/api/v1/audit?object=enterprise/initech/keys", nil, &audit)
	if len(audit.Items) != 0 {
		t.Errorf("another provider sees initech's revocations: %+v", audit.Items)
	}

	off := newFixture(t)
	for _, path := range []string{"/api/v1/enterprises/initech/keys", "/api/v1/keys"} {
		status, body, _ = off.do(t, "operator", "DELETE", path, nil)
		if status != http.StatusNotFound || !strings.Contains(string(body), "keys.enabled") {
			t.Errorf("keys off, DELETE %s: %d %s", path, status, body)
		}
	}
	status, body, _ = off.do(t, "operator", "POST", "/api/v1/enterprises/initech/token?revoke_keys=true", nil)
	if status != http.StatusNotFound || json.Unmarshal(body, &p) != nil || p.Field != "revoke_keys" {
		t.Errorf("keys off, a reissue with revoke_keys: %d %s", status, body)
	}
}
