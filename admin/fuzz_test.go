package admin

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// fuzzEndpoints are the API's writes that take a body, with their path
// parameters filled in for the fixture's tenants.
var fuzzEndpoints = []struct{ method, path, ctype string }{
	{"POST", "/api/v1/tokens", "application/json"},
	{"POST", "/api/v1/providers", "application/json"},
	{"PATCH", "/api/v1/providers/acme", "application/json"},
	{"POST", "/api/v1/providers/acme/allocations", "application/json"},
	{"PUT", "/api/v1/providers/acme/signals", "application/json"},
	{"PATCH", "/api/v1/providers/acme/stir", "application/json"},
	{"POST", "/api/v1/subscribers", "application/json"},
	{"PATCH", "/api/v1/subscribers/alice", "application/json"},
	{"POST", "/api/v1/subscribers/alice/numbers", "application/json"},
	{"POST", "/api/v1/subscribers/alice/numbers/remove", "application/json"},
	{"PUT", "/api/v1/subscribers/alice/pin", "application/json"},
	{"POST", "/api/v1/lists/alice/blocked", "application/json"},
	{"POST", "/api/v1/lists/alice/blocked/remove", "application/json"},
	{"POST", "/api/v1/lists/provider:acme/vip", "application/json"},
	{"POST", "/api/v1/lists/import", "text/csv"},
	{"POST", "/api/v1/subscribers:import", "text/csv"},
	{"POST", "/api/v1/enterprises", "application/json"},
	{"PATCH", "/api/v1/enterprises/initech/signals", "application/json"},
	{"PUT", "/api/v1/routes/west", "application/json"},
	{"PUT", "/api/v1/default-route", "application/json"},
	{"POST", "/api/v1/decide", "application/json"},
	{"POST", "/api/v1/users", "application/json"},
	{"POST", "/api/v1/fraud/groups/s1/unlock", "application/json"},
	{"POST", "/api/v1/fraud/rates", "text/csv"},
	{"POST", "/api/v1/fraud/cdrs", "application/json"},
	{"POST", "/api/v1/fraud/cdrs", "text/csv"},
}

// FuzzAPI: whatever body reaches a write of the API, as any of the three
// roles, the answer is never a server error, and a refusal is
// problem+json whose status is the response's.
func FuzzAPI(f *testing.F) {
	for i := range fuzzEndpoints {
		for _, body := range []string{
			`{}`, `{"name":"x","provider":"acme","numbers":["+12025550111"]}`,
			`{"number":"+19005550199","note":"n"}`, `{"numbers":["+1900555019"]}`, `[]`, `null`, `{"name":`,
			"owner,list,number\nalice,blocked,+19005550177\n", "calling,called,start,duration\n+12025550100,+442079460000,2026-03-02T10:04:05Z,60\n",
		} {
			f.Add(byte(i), byte(i%3), []byte(body))
		}
	}
	fx := newFixture(f)
	roles := []string{"operator", "acme", "alice"}
	f.Fuzz(func(t *testing.T, ep, role byte, body []byte) {
		e := fuzzEndpoints[int(ep)%len(fuzzEndpoints)]
		req, err := http.NewRequest(e.method, fx.srv.URL+e.path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", e.ctype)
		req.Header.Set("Authorization", "Bearer "+fx.tokens[roles[int(role)%len(roles)]])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Fatalf("%s %s %q: %d %s", e.method, e.path, body, resp.StatusCode, out)
		}
		if resp.StatusCode < 400 {
			return
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
			t.Fatalf("%s %s %q: %d with Content-Type %q: %s", e.method, e.path, body, resp.StatusCode, ct, out)
		}
		var p struct {
			Status int    `json:"status"`
			Title  string `json:"title"`
		}
		if err := json.Unmarshal(out, &p); err != nil || p.Status != resp.StatusCode || p.Title == "" {
			t.Fatalf("%s %s %q: %d, problem %s (%v)", e.method, e.path, body, resp.StatusCode, out, err)
		}
	})
}
