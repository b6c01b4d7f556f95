package keys

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"callgate/e164"
	"callgate/policy"
	"callgate/store"
	"callgate/store/storetest"
)

func issue(t testing.TB, st *store.Store, name string) string {
	t.Helper()
	tok, hash, err := IssueToken(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.UpdateEnterpriseSignals(store.Operator, name, func(g *store.EnterpriseSignals) error { g.TokenHash = hash; return nil }); err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestHandler(t *testing.T) {
	st, _ := fixture(t)
	clk := newClock()
	r := openReg(t, st, Config{Now: clk.Now, Dir: t.TempDir()})
	h := Handler(r, st)
	tok := issue(t, st, storetest.Enterprise)

	post := func(auth, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/keys", strings.NewReader(body))
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w
	}
	good := `{"calling":"+15125550100","called":"+13035550100"}`
	for _, c := range []struct {
		name, auth, body string
		code             int
		says, field      string
	}{
		{"no token", "", good, 401, "missing Authorization", "Authorization"},
		{"another scheme", "Basic " + tok, good, 401, "missing Authorization", "Authorization"},
		{"malformed token", "Bearer nope", good, 401, "malformed", "Authorization"},
		{"wrong secret", "Bearer initech." + strings.Repeat("A", 43), good, 401, "not valid", "Authorization"},
		{"unknown enterprise", "Bearer nobody." + strings.Repeat("A", 43), good, 401, "not valid", "Authorization"},
		{"bad JSON", "Bearer " + tok, `{"calling":`, 400, "body", "body"},
		{"unknown field", "Bearer " + tok, `{"calling":"+15125550100","called":"+13035550100","ttl":5}`, 400, "ttl", "ttl"},
		{"number of the wrong type", "Bearer " + tok, `{"calling":15125550100,"called":"+13035550100"}`, 400, "calling", "calling"},
		{"time not RFC 3339", "Bearer " + tok, `{"calling":"+15125550100","called":"+13035550100","not_before":"2026-03-01T12:00:00Z","not_after":"in a minute"}`, 400, "in a minute", "not_after"},
		{"no calling number", "Bearer " + tok, `{"called":"+13035550100"}`, 400, "calling: missing", "calling"},
		{"bad number", "Bearer " + tok, `{"calling":"+15125550100","called":"12"}`, 400, "called", "called"},
		{"two objects", "Bearer " + tok, good + good, 400, "more", "body"},
		{"not its number", "Bearer " + tok, `{"calling":"+16175550142","called":"+13035550100"}`, 403, "not a number of enterprise initech", "calling"},
		{"too big", "Bearer " + tok, `{"calling":"` + strings.Repeat("1", 5000) + `"}`, 413, "4096", "body"},
		{"bad window", "Bearer " + tok, `{"calling":"+15125550100","called":"+13035550100","not_before":"2026-03-01T12:00:00Z","not_after":"2026-03-01T11:00:00Z"}`, 400, "not after", "not_after"},
		{"window passed", "Bearer " + tok, `{"calling":"+15125550100","called":"+13035550100","not_before":"2026-03-01T10:00:00Z","not_after":"2026-03-01T11:00:00Z"}`, 400, "has passed", "not_after"},
		{"registered", "Bearer " + tok, good, 201, `"not_after":"2026-03-01T12:01:00Z"`, ""},
		{"registered again (idempotent)", "Bearer " + tok, good, 201, `"single_use":false`, ""},
		{"scheme in lower case (RFC 9110 §11.1)", "bearer " + tok, good, 201, `"single_use":false`, ""},
	} {
		w := post(c.auth, c.body)
		if w.Code != c.code || !strings.Contains(w.Body.String(), c.says) {
			t.Errorf("%s: %d %s, want %d containing %q", c.name, w.Code, w.Body, c.code, c.says)
		}
		if w.Code == 401 && w.Header().Get("WWW-Authenticate") == "" {
			t.Errorf("%s: 401 without WWW-Authenticate", c.name)
		}
		if w.Code >= 400 {
			// RFC 9457, as the management API answers: the field at fault named.
			var p struct {
				Type, Title, Detail, Field string
				Status                     int
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("%s: Content-Type %q, want application/problem+json", c.name, ct)
			}
			if json.Unmarshal(w.Body.Bytes(), &p) != nil || p.Status != w.Code || p.Title == "" || p.Detail == "" || p.Field != c.field {
				t.Errorf("%s: problem %q: want status %d, a title, a detail and field %q", c.name, w.Body, w.Code, c.field)
			}
		}
	}
	if m, _ := r.Check(entNumber, called, clk.Now()); m != policy.KeyMatched {
		t.Errorf("after the POST: %v, want KeyMatched", m)
	}
	req := httptest.NewRequest(http.MethodGet, "/api/v1/keys", nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != 405 || w.Header().Get("Allow") != "POST, DELETE" {
		t.Errorf("GET: %d Allow=%q", w.Code, w.Header().Get("Allow"))
	}
	// A new token revokes the old one.
	issue(t, st, storetest.Enterprise)
	if w := post("Bearer "+tok, good); w.Code != 401 {
		t.Errorf("the revoked token: %d", w.Code)
	}
}

// TestHandlerRevoke: an enterprise revokes its keys of one pair, then all
// of them; another enterprise's token revokes none of them; a revoked key
// posted again is 409 naming not_before; errors are problem+json naming
// the path segment at fault.
func TestHandlerRevoke(t *testing.T) {
	st, _ := fixture(t)
	clk := newClock()
	r := openReg(t, st, Config{Now: clk.Now, Dir: t.TempDir()})
	h := Handler(r, st)
	tok := "Bearer " + issue(t, st, storetest.Enterprise)
	if _, err := st.CreateEnterprise(store.Operator, store.EnterpriseSpec{Name: "globex", Numbers: []string{"+16175550142"}}); err != nil {
		t.Fatal(err)
	}
	other := "Bearer " + issue(t, st, "globex")
	do := func(method, path, auth, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Authorization", auth)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w
	}
	key := `{"calling":"+15125550100","called":"+13035550100"}`
	for _, b := range []string{key, `{"calling":"+15125550100","called":"+13035550101"}`} {
		if w := do("POST", "/api/v1/keys", tok, b); w.Code != 201 {
			t.Fatalf("register: %d %s", w.Code, w.Body)
		}
	}
	for _, c := range []struct {
		name, method, path, auth string
		code                     int
		says, field              string
	}{
		{"another enterprise's token, the pair", "DELETE", "/api/v1/keys/+15125550100/+13035550100", other, 404, "globex has no key", "path"},
		{"another enterprise's token, all", "DELETE", "/api/v1/keys", other, 200, `{"revoked":0}`, ""},
		{"no token", "DELETE", "/api/v1/keys", "", 401, "missing Authorization", "Authorization"},
		{"bad calling number", "DELETE", "/api/v1/keys/12/+13035550100", tok, 400, "calling", "calling"},
		{"bad called number", "DELETE", "/api/v1/keys/+15125550100/x", tok, 400, "called", "called"},
		{"one number", "DELETE", "/api/v1/keys/+15125550100", tok, 404, "{calling}/{called}", "path"},
		{"POST on a pair", "POST", "/api/v1/keys/+15125550100/+13035550100", tok, 405, "DELETE", "method"},
		{"the pair", "DELETE", "/api/v1/keys/+15125550100/+13035550100", tok, 200, `{"revoked":1}`, ""},
		{"the pair again", "DELETE", "/api/v1/keys/15125550100/13035550100", tok, 404, "initech has no key", "path"},
		{"the revoked key posted again", "POST", "/api/v1/keys", tok, 409, "revoked", "not_before"},
		{"all", "DELETE", "/api/v1/keys", tok, 200, `{"revoked":1}`, ""},
	} {
		body := ""
		if c.method == "POST" {
			body = key
		}
		w := do(c.method, c.path, c.auth, body)
		if w.Code != c.code || !strings.Contains(w.Body.String(), c.says) {
			t.Errorf("%s: %d %s, want %d containing %q", c.name, w.Code, w.Body, c.code, c.says)
			continue
		}
		if w.Code >= 400 {
			var p struct{ Field string }
			if w.Header().Get("Content-Type") != "application/problem+json" || json.Unmarshal(w.Body.Bytes(), &p) != nil || p.Field != c.field {
				t.Errorf("%s: %s %s, want problem+json naming %q", c.name, w.Header().Get("Content-Type"), w.Body, c.field)
			}
		}
		if c.name == "another enterprise's token, all" {
			if m, _ := r.Peek(entNumber, called, clk.Now()); m != policy.KeyMatched {
				t.Fatalf("another enterprise's DELETE took initech's key: %v", m)
			}
		}
	}
	for _, n := range []string{"+13035550100", "+13035550101"} {
		if m, _ := r.Peek(entNumber, e164.MustParse(n), clk.Now()); m != policy.KeyMissing {
			t.Errorf("key to %s after the revocations: %v, want KeyMissing", n, m)
		}
	}
}

func TestTokenRoundTrip(t *testing.T) {
	tok, hash, err := IssueToken("initech.west")
	if err != nil {
		t.Fatal(err)
	}
	name, secret, err := ParseToken(tok)
	if err != nil || name != "initech.west" {
		t.Fatalf("%q %v", name, err)
	}
	g := store.EnterpriseSignals{TokenHash: hash}
	if !g.TokenMatches(secret) || g.TokenMatches(append(secret[:len(secret)-1], 'x')) {
		t.Error("token hash does not tell the secret from another")
	}
}

func FuzzRequest(f *testing.F) {
	f.Add(`{"calling":"+15125550100","called":"+13035550100","not_before":"2026-03-01T12:00:00Z"}`)
	f.Add(`{}`)
	f.Fuzz(func(t *testing.T, body string) {
		var req Request
		if json.Unmarshal([]byte(body), &req) != nil {
			return
		}
		k, err := req.key()
		if err == nil && (k.Calling == 0 || k.Called == 0) {
			t.Fatalf("a key without numbers passed: %+v", k)
		}
	})
}

func FuzzParseToken(f *testing.F) {
	f.Add("initech." + strings.Repeat("A", 43))
	f.Add("")
	f.Fuzz(func(t *testing.T, tok string) {
		name, secret, err := ParseToken(tok)
		if err == nil && (name == "" || len(secret) != 43) {
			t.Fatalf("accepted %q as %q/%q", tok, name, secret)
		}
	})
}
