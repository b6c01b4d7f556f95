package admin

import (
	"context"
	"net/http"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// TestResponsesMatchOpenAPI: what the API answers, to good requests and
// bad ones, is what openapi.json documents for that operation and status
// (kin-openapi's response validation), so a client generated from the
// document reads it.
func TestResponsesMatchOpenAPI(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData(openapiDoc)
	if err != nil {
		t.Fatal(err)
	}
	doc.Servers = openapi3.Servers{{URL: "/"}}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t)
	type req struct {
		who, method, path string
		body              any // JSON, or a string sent as CSV
	}
	for _, q := range []req{
		{"operator", "PUT", "/api/v1/routes/west", map[string]any{"sip_uri": "sip:w.example", "routing_number": "+13035559999"}},
		{"acme", "GET", "/api/v1/routes", nil},
		{"operator", "PUT", "/api/v1/default-route", map[string]any{"name": "west"}},
		{"operator", "DELETE", "/api/v1/routes/nosuch", nil},
		{"operator", "GET", "/api/v1/tokens", nil},
		{"acme", "POST", "/api/v1/tokens", map[string]any{"role": "subscriber", "name": "alice"}},
		{"operator", "POST", "/api/v1/users", map[string]any{"name": "mole", "role": "subscriber", "tenant": "bob", "password": "0123456789ab"}},
		{"globex", "GET", "/api/v1/users", nil},
		{"operator", "GET", "/api/v1/providers", nil},
		{"globex", "GET", "/api/v1/providers/globex", nil},
		{"operator", "POST", "/api/v1/providers/globex/allocations", map[string]any{"ranges": []string{"+14045550100..+14045550199"}}},
		{"operator", "GET", "/api/v1/providers/globex/stir", nil},
		{"operator", "GET", "/api/v1/providers/globex/signals", nil},
		{"globex", "GET", "/api/v1/subscribers?limit=1", nil},
		{"globex", "POST", "/api/v1/subscribers", map[string]any{"name": "x1", "provider": "globex", "numbers": []string{"+13035550163"}}},
		{"globex", "POST", "/api/v1/subscribers", map[string]any{"name": "x2", "provider": "globex", "bogus": 1}},
		{"bob", "GET", "/api/v1/subscribers/bob", nil},
		{"bob", "GET", "/api/v1/subscribers/alice", nil},
		{"", "GET", "/api/v1/subscribers/alice", nil},
		{"bob", "GET", "/api/v1/subscribers/bob/treatment", nil},
		{"globex", "POST", "/api/v1/subscribers/bob/numbers", map[string]any{"numbers": []string{"+13035550161"}}},
		{"globex", "POST", "/api/v1/subscribers/bob/numbers/remove", map[string]any{"numbers": []string{"+13035550161"}}},
		{"globex", "GET", "/api/v1/subscribers:count", nil},
		{"bob", "PUT", "/api/v1/subscribers/bob/pin", map[string]any{"pin": "1234"}},
		{"globex", "GET", "/api/v1/subscribers/bob/pin/lockout", nil},
		{"globex", "GET", "/api/v1/pin-lockouts", nil},
		{"bob", "GET", "/api/v1/lists/bob/blocked", nil},
		{"bob", "POST", "/api/v1/lists/bob/blocked", map[string]any{"numbers": []string{"(202) 555-0199"}}},
		{"bob", "POST", "/api/v1/lists/bob/blocked", map[string]any{"numbers": []string{"12"}}},
		{"bob", "GET", "/api/v1/lists/bob/blocked?cursor=zz", nil},
		{"bob", "DELETE", "/api/v1/lists/bob/blocked/+12025550199", nil},
		{"bob", "POST", "/api/v1/lists/bob/blocked/remove", map[string]any{"numbers": []string{"+19005550100"}}},
		{"globex", "POST", "/api/v1/lists/import", "owner,list,number\nbob,blocked,+19005550198\n"},
		{"globex", "POST", "/api/v1/lists/import", "owner,list,number\nbob,blocked,+1900555019x\n"},
		{"globex", "POST", "/api/v1/subscribers:import", "name,provider,numbers\nmole,globex,+13035550162\n"},
		{"globex", "POST", "/api/v1/subscribers:import", "name,provider,numbers\nmole2,globex,+1303555016x\n"},
		{"globex", "GET", "/api/v1/enterprises", nil},
		{"globex", "GET", "/api/v1/enterprises/umbrella", nil},
		{"globex", "GET", "/api/v1/enterprises/umbrella/signals", nil},
		{"globex", "POST", "/api/v1/enterprises/umbrella/token", nil},
		{"globex", "GET", "/api/v1/audit?limit=2", nil},
	} {
		status, out, h := f.do(t, q.who, q.method, q.path, q.body)
		vreq, err := http.NewRequest(q.method, q.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		route, params, err := router.FindRoute(vreq)
		if err != nil {
			t.Errorf("%s %s: not in openapi.json: %v", q.method, q.path, err)
			continue
		}
		in := &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route}
		rv := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: status, Header: h,
			Options: &openapi3filter.Options{IncludeResponseStatus: true}}
		rv.SetBodyBytes(out)
		if err := openapi3filter.ValidateResponse(context.Background(), rv); err != nil {
			t.Errorf("%s %s as %q -> %d, not as openapi.json documents: %.400v\nbody: %.300s", q.method, q.path, q.who, status, err, out)
		}
	}
}
