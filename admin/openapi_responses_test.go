package admin

import (
	"context"
	"net/http"
	"path/filepath"
	"testing"

	"callgate/policy"
	"callgate/policy/decisionlog"

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
	dl, err := decisionlog.Open(filepath.Join(t.TempDir(), "decisions.db"), decisionlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dl.Close() })
	allow := func(context.Context, *policy.Call, Given) policy.Decision {
		return policy.Decision{Action: policy.ActionAllow}
	}
	f := newFixture(t, WithDecisionLog(dl), WithDecide(allow))
	type req struct {
		who, method, path string
		body              any // JSON, or a string sent as CSV
		want              int // the status, when the test names it
	}
	asDocumented := func(who, method, path string, body any) req { return req{who, method, path, body, 0} }
	for _, q := range []req{
		asDocumented("operator", "PUT", "/api/v1/routes/west", map[string]any{"sip_uri": "sip:w.example", "routing_number": "+13035559999"}),
		asDocumented("acme", "GET", "/api/v1/routes", nil),
		asDocumented("operator", "PUT", "/api/v1/default-route", map[string]any{"name": "west"}),
		asDocumented("operator", "DELETE", "/api/v1/routes/nosuch", nil),
		asDocumented("operator", "GET", "/api/v1/tokens", nil),
		asDocumented("acme", "POST", "/api/v1/tokens", map[string]any{"role": "subscriber", "name": "alice"}),
		asDocumented("operator", "POST", "/api/v1/users", map[string]any{"name": "mole", "role": "subscriber", "tenant": "bob", "password": "0123456789ab"}),
		asDocumented("globex", "GET", "/api/v1/users", nil),
		asDocumented("operator", "GET", "/api/v1/providers", nil),
		asDocumented("globex", "GET", "/api/v1/providers/globex", nil),
		asDocumented("operator", "POST", "/api/v1/providers/globex/allocations", map[string]any{"ranges": []string{"+14045550100..+14045550199"}}),
		asDocumented("operator", "GET", "/api/v1/providers/globex/stir", nil),
		asDocumented("operator", "GET", "/api/v1/providers/globex/signals", nil),
		asDocumented("globex", "GET", "/api/v1/subscribers?limit=1", nil),
		asDocumented("globex", "POST", "/api/v1/subscribers", map[string]any{"name": "x1", "provider": "globex", "numbers": []string{"+13035550163"}}),
		asDocumented("globex", "POST", "/api/v1/subscribers", map[string]any{"name": "x2", "provider": "globex", "bogus": 1}),
		asDocumented("bob", "GET", "/api/v1/subscribers/bob", nil),
		asDocumented("bob", "GET", "/api/v1/subscribers/alice", nil),
		asDocumented("", "GET", "/api/v1/subscribers/alice", nil),
		asDocumented("bob", "GET", "/api/v1/subscribers/bob/treatment", nil),
		asDocumented("globex", "POST", "/api/v1/subscribers/bob/numbers", map[string]any{"numbers": []string{"+13035550161"}}),
		asDocumented("globex", "POST", "/api/v1/subscribers/bob/numbers/remove", map[string]any{"numbers": []string{"+13035550161"}}),
		asDocumented("globex", "GET", "/api/v1/subscribers:count", nil),
		asDocumented("bob", "PUT", "/api/v1/subscribers/bob/pin", map[string]any{"pin": "1234"}),
		asDocumented("globex", "GET", "/api/v1/subscribers/bob/pin/lockout", nil),
		asDocumented("globex", "GET", "/api/v1/pin-lockouts", nil),
		asDocumented("bob", "GET", "/api/v1/lists/bob/blocked", nil),
		asDocumented("bob", "POST", "/api/v1/lists/bob/blocked", map[string]any{"numbers": []string{"(202) 555-0199"}}),
		asDocumented("bob", "POST", "/api/v1/lists/bob/blocked", map[string]any{"numbers": []string{"12"}}),
		asDocumented("bob", "GET", "/api/v1/lists/bob/blocked?cursor=zz", nil),
		asDocumented("bob", "DELETE", "/api/v1/lists/bob/blocked/+12025550199", nil),
		asDocumented("bob", "POST", "/api/v1/lists/bob/blocked/remove", map[string]any{"numbers": []string{"+19005550100"}}),
		asDocumented("globex", "POST", "/api/v1/lists/import", "owner,list,number\nbob,blocked,+19005550198\n"),
		asDocumented("globex", "POST", "/api/v1/lists/import", "owner,list,number\nbob,blocked,+1900555019x\n"),
		asDocumented("globex", "POST", "/api/v1/subscribers:import", "name,provider,numbers\nmole,globex,+13035550162\n"),
		asDocumented("globex", "POST", "/api/v1/subscribers:import", "name,provider,numbers\nmole2,globex,+1303555016x\n"),
		asDocumented("globex", "GET", "/api/v1/enterprises", nil),
		asDocumented("globex", "GET", "/api/v1/enterprises/umbrella", nil),
		asDocumented("globex", "GET", "/api/v1/enterprises/umbrella/signals", nil),
		asDocumented("globex", "POST", "/api/v1/enterprises/umbrella/token", nil),
		asDocumented("globex", "GET", "/api/v1/audit?limit=2", nil),
		asDocumented("globex", "POST", "/api/v1/decide", map[string]any{"called": "+13035550100", "calling": "(202) 555-0100"}),
		asDocumented("globex", "GET", "/api/v1/decisions?number=+13035550100", nil),
		// A telephone number e164 refuses, where the API parses it itself:
		// a bad value (422), not a server error.
		{"operator", "PUT", "/api/v1/routes/w2", map[string]any{"routing_number": "x"}, 422},
		{"operator", "POST", "/api/v1/providers/globex/allocations", map[string]any{"ranges": []string{"+1404555"}}, 422},
		{"operator", "DELETE", "/api/v1/providers/globex/allocations/garbage", nil, 422},
		{"globex", "GET", "/api/v1/subscribers/x!y", nil, 422},
		{"globex", "POST", "/api/v1/decide", map[string]any{"called": "x"}, 422},
		{"globex", "POST", "/api/v1/decide", map[string]any{"called": "+13035550100", "calling": "+1"}, 422},
		{"globex", "GET", "/api/v1/decisions?number=012", nil, 422},
		// The fixture runs no fraud monitor: every fraud operation is a
		// documented 404 naming the path.
		{"operator", "GET", "/api/v1/fraud/groups", nil, 404},
		{"operator", "GET", "/api/v1/fraud/groups/bob", nil, 404},
		{"operator", "GET", "/api/v1/fraud/groups/bob/history", nil, 404},
		{"operator", "POST", "/api/v1/fraud/groups/bob/unlock", map[string]any{"reason": "x"}, 404},
		{"operator", "GET", "/api/v1/fraud/rates", nil, 404},
		{"operator", "POST", "/api/v1/fraud/rates", "prefix,category,price_per_minute\n1,domestic,0.01\n", 404},
		{"operator", "POST", "/api/v1/fraud/cdrs", "calling,called,start,seconds\n", 404},
	} {
		status, out, h := f.do(t, q.who, q.method, q.path, q.body)
		if q.want != 0 && status != q.want {
			t.Errorf("%s %s as %q: %d, want %d: %s", q.method, q.path, q.who, status, q.want, out)
		}
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
