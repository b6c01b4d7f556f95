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

// TestKeysOnTheAPI: an enterprise registers a call key on the management
// API's listener (TLS in production) with its own API token, which the
// management authentication would refuse; a management token is no
// enterprise's and is refused by the key handler; with keys off the
// route says so.
func TestKeysOnTheAPI(t *testing.T) {
	var reg *keys.Registry
	var st *store.Store
	f := newFixture(t, func(tr *Tier) {
		st = tr.st
		var err error
		if reg, err = keys.Open(keys.Config{}, tr.st); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { reg.Close() })
		WithKeys(keys.Handler(reg, tr.st))(tr)
	})
	tok, hash, err := keys.IssueToken("initech")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.UpdateEnterpriseSignals(store.Operator, "initech", func(g *store.EnterpriseSignals) error { g.TokenHash = hash; return nil }); err != nil {
		t.Fatal(err)
	}
	f.tokens["initech"] = tok
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
