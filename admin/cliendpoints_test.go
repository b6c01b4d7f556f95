package admin

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"callgate/e164"
	"callgate/policy"
	"callgate/policy/decisionlog"
	"callgate/store"
)

// The endpoints the CLI needs (issue 12: the CLI goes through the API):
// ids in the views, a subscriber's treatment, a provider's STIR policy,
// an enterprise's signals and token, bulk removal, export, imports that
// report, the full decision record with its steps, decide's whole answer.

func TestViewsCarryIDs(t *testing.T) {
	f := newFixture(t)
	alice, _ := f.st.GetSubscriber(store.Operator, "alice")
	var s subscriberView
	f.want(t, 200, "acme", "GET", "/api/v1/subscribers/alice", nil, &s)
	var p providerView
	f.want(t, 200, "acme", "GET", "/api/v1/providers/acme", nil, &p)
	var e enterpriseView
	f.want(t, 200, "acme", "GET", "/api/v1/enterprises/initech", nil, &e)
	if s.ID != alice.ID || s.ID == 0 || p.ID == 0 || e.ID == 0 {
		t.Errorf("ids: subscriber %d (want %d), provider %d, enterprise %d", s.ID, alice.ID, p.ID, e.ID)
	}
}

func TestTreatment(t *testing.T) {
	f := newFixture(t)
	f.want(t, 200, "operator", "PATCH", "/api/v1/providers/acme", map[string]any{"defaults": map[string]any{"unknown": "block"}}, nil,
		"If-Match", f.want(t, 200, "operator", "GET", "/api/v1/providers/acme", nil, nil).Get("ETag"))
	f.want(t, 200, "acme", "PATCH", "/api/v1/subscribers/alice", map[string]any{"settings": map[string]any{"anonymous": "allow"}}, nil,
		"If-Match", f.want(t, 200, "acme", "GET", "/api/v1/subscribers/alice", nil, nil).Get("ETag"))
	var tv treatmentView
	h := f.want(t, 200, "alice", "GET", "/api/v1/subscribers/alice/treatment", nil, &tv)
	if tv.Subscriber != "alice" || tv.Own.Anonymous != store.TreatAllow || tv.Own.Unknown != store.TreatUnset ||
		tv.Effective.Unknown != store.TreatBlock || tv.Effective.Anonymous != store.TreatAllow || tv.Permissions != store.PermAll || h.Get("ETag") == "" {
		t.Errorf("treatment %+v", tv)
	}
}

func TestProviderStir(t *testing.T) {
	f := newFixture(t)
	var sv stirView
	f.want(t, 200, "operator", "PATCH", "/api/v1/providers/acme/stir", map[string]any{"on_c": "screen", "tag": true}, &sv)
	if sv.Provider != "acme" || sv.Stir.OnC != store.StirScreen || !sv.Stir.Tag {
		t.Fatalf("after patch: %+v", sv)
	}
	// A second patch keeps what it does not name.
	f.want(t, 200, "operator", "PATCH", "/api/v1/providers/acme/stir", map[string]any{"verified_tag": "[V]"}, &sv)
	if sv.Stir.OnC != store.StirScreen || !sv.Stir.Tag || sv.Stir.VerifiedTag != "[V]" {
		t.Fatalf("after the second patch: %+v", sv)
	}
	f.want(t, 200, "acme", "GET", "/api/v1/providers/acme/stir", nil, &sv)
	// The policy is the platform's to set; a stale If-Match is refused.
	f.want(t, 403, "acme", "PATCH", "/api/v1/providers/acme/stir", map[string]any{"tag": false}, nil)
	f.want(t, 412, "operator", "PATCH", "/api/v1/providers/acme/stir", map[string]any{"tag": false}, nil, "If-Match", `"1"`)
	f.want(t, 400, "operator", "PATCH", "/api/v1/providers/acme/stir", map[string]any{"on_c": "maybe"}, nil)
}

func TestEnterpriseSignalsAndToken(t *testing.T) {
	f := newFixture(t)
	var sv signalsView
	f.want(t, 200, "acme", "PATCH", "/api/v1/enterprises/initech/signals", map[string]any{"brand": map[string]any{"name": "Initech", "reason": "Your order"}}, &sv)
	if sv.Brand.Name != "Initech" || sv.Brand.Reason != "Your order" || sv.HasToken {
		t.Fatalf("brand %+v", sv)
	}
	f.want(t, 200, "acme", "PATCH", "/api/v1/enterprises/initech/signals", map[string]any{"trunk": "192.0.2.0/24", "onward": "sip:{called}@carrier.example"}, &sv)
	if sv.Brand.Name != "Initech" || sv.Trunk != "192.0.2.0/24" {
		t.Fatalf("enrolment kept the brand? %+v", sv)
	}
	f.want(t, 201, "operator", "POST", "/api/v1/enterprises/initech/token", nil, &sv)
	if !strings.HasPrefix(sv.Token, "initech.") || !sv.HasToken {
		t.Fatalf("token %+v", sv)
	}
	tok := sv.Token
	_, body, _ := f.do(t, "operator", "GET", "/api/v1/enterprises/initech/signals", nil)
	if strings.Contains(string(body), tok[len("initech."):]) || !strings.Contains(string(body), `"has_token": true`) {
		t.Errorf("signals show the token again, or not that there is one: %s", body)
	}
}

func TestBulkRemoval(t *testing.T) {
	f := newFixture(t)
	f.want(t, 200, "alice", "POST", "/api/v1/lists/alice/vip", map[string]any{"numbers": []string{"+13125550110", "+13125550111", "+13125550112"}}, nil)
	// One bad number: nothing removed, the number named.
	status, body, _ := f.do(t, "alice", "POST", "/api/v1/lists/alice/vip/remove", map[string]any{"numbers": []string{"+13125550110", "12"}})
	if status != 422 || !strings.Contains(string(body), `#2 \"12\"`) {
		t.Fatalf("remove with a bad number: %d %s", status, body)
	}
	var ch listChange
	f.want(t, 200, "alice", "POST", "/api/v1/lists/alice/vip/remove", map[string]any{"numbers": []string{"+13125550110", "+13125550111", "+13125550199"}}, &ch)
	var pg page[store.Entry]
	f.want(t, 200, "alice", "GET", "/api/v1/lists/alice/vip", nil, &pg)
	if ch.Changed != 2 || pg.Total != 1 || pg.Items[0].Number.String() != "+13125550112" {
		t.Fatalf("removed %d; list %+v", ch.Changed, pg)
	}
	// A subscriber's numbers, all or none.
	f.want(t, 200, "acme", "POST", "/api/v1/subscribers/alice/numbers", map[string]any{"numbers": []string{"+12025550101", "+12025550102"}}, nil)
	var s subscriberView
	f.want(t, 200, "acme", "POST", "/api/v1/subscribers/alice/numbers/remove", map[string]any{"numbers": []string{"+12025550101", "+12025550102"}}, &s)
	if len(s.Numbers) != 1 || s.Numbers[0].String() != "+12025550100" {
		t.Fatalf("after unassigning two: %v", s.Numbers)
	}
}

func TestListAfter(t *testing.T) {
	f := newFixture(t)
	f.want(t, 200, "alice", "POST", "/api/v1/lists/alice/vip", map[string]any{"numbers": []string{"+13125550110", "+13125550111", "+13125550112"}}, nil)
	var pg page[store.Entry]
	f.want(t, 200, "alice", "GET", "/api/v1/lists/alice/vip?after=312-555-0110&limit=1", nil, &pg)
	if len(pg.Items) != 1 || pg.Items[0].Number.String() != "+13125550111" || pg.NextCursor == "" || pg.Total != 3 {
		t.Fatalf("page after +13125550110: %+v", pg)
	}
	f.want(t, 400, "alice", "GET", "/api/v1/lists/alice/vip?after=12", nil, nil)
}

func TestExport(t *testing.T) {
	f := newFixture(t)
	get := func(who, path string) (int, [][]string, http.Header) {
		req, _ := http.NewRequest("GET", f.srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+f.tokens[who])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			return resp.StatusCode, nil, nil
		}
		rows, err := csv.NewReader(resp.Body).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		return 200, rows, resp.Trailer
	}
	status, rows, tr := get("operator", "/api/v1/lists/export")
	// Every list of both tenants: alice's and bob's Blocked, and each
	// provider's Blocked and VIP.
	if status != 200 || len(rows) != 7 || strings.Join(rows[0], ",") != "owner,list,number,note" || tr.Get(exportRowsTrailer) != "6" || tr.Get(exportErrorTrailer) != "" {
		t.Fatalf("operator export: %d %v trailer %v", status, rows, tr)
	}
	status, rows, tr = get("alice", "/api/v1/lists/export?owner=alice&list=blocked")
	if status != 200 || len(rows) != 2 || rows[1][2] != "+19005550100" || tr.Get(exportRowsTrailer) != "1" {
		t.Fatalf("alice's export: %d %v %v", status, rows, tr)
	}
	if status, _, _ := get("acme", "/api/v1/lists/export"); status != 403 {
		t.Errorf("a provider's export of everything: %d", status)
	}
	if status, _, _ := get("operator", "/api/v1/lists/export?owner=nobody"); status != 404 {
		t.Errorf("export of a missing owner: %d", status)
	}
}

func TestImportReports(t *testing.T) {
	f := newFixture(t)
	// A merge writes the good rows and reports the bad, 200.
	var rep store.ImportReport
	f.want(t, 200, "acme", "POST", "/api/v1/lists/import?report=true", "owner,list,number\nalice,vip,+13125550120\nalice,vip,12\n", &rep)
	if rep.Added != 1 || rep.ErrorCount != 1 || rep.Errors[0].Line != 3 || rep.Refused {
		t.Fatalf("merge report %+v", rep)
	}
	// A replace with a bad row writes nothing; a dry run neither.
	f.want(t, 200, "acme", "POST", "/api/v1/lists/import?report=true&replace=true", "owner,list,number\nalice,vip,+13125550121\nalice,vip,12\n", &rep)
	if !rep.Refused || rep.Added != 0 {
		t.Fatalf("replace report %+v", rep)
	}
	f.want(t, 200, "acme", "POST", "/api/v1/lists/import?report=true&dry_run=true&max_errors=1", "owner,list,number\nalice,vip,+13125550122\nalice,vip,1\nalice,vip,2\n", &rep)
	if rep.ErrorCount != 2 || len(rep.Errors) != 1 {
		t.Fatalf("dry run report %+v", rep)
	}
	var pg page[store.Entry]
	f.want(t, 200, "alice", "GET", "/api/v1/lists/alice/vip", nil, &pg)
	if pg.Total != 1 || pg.Items[0].Number.String() != "+13125550120" {
		t.Fatalf("alice's VIP list: %+v", pg)
	}
	// A row about another tenant's list is a bad row naming an owner that
	// does not exist: the report says so, and the merge writes the good
	// rows, as it does beside a row naming nobody.
	f.want(t, 200, "acme", "POST", "/api/v1/lists/import?report=true", "owner,list,number\nalice,vip,+13125550123\nbob,vip,+13125550123\n", &rep)
	if rep.ErrorCount != 1 || !strings.Contains(rep.Errors[0].Err, `subscriber "bob": not found`) {
		t.Fatalf("report of a row about another tenant's list: %+v", rep)
	}
	f.want(t, 200, "alice", "GET", "/api/v1/lists/alice/vip", nil, &pg)
	if pg.Total != 2 {
		t.Fatalf("the merge beside a bad row: %+v", pg)
	}
	// Subscribers: the report of a refused file, 200, nothing written.
	var srep store.SubscriberImportReport
	f.want(t, 200, "acme", "POST", "/api/v1/subscribers:import?report=true", "name,provider,numbers\ndan,acme,+12025550120\neve,acme,12\n", &srep)
	if !srep.Refused || srep.ErrorCount != 1 || srep.Rows != 2 || srep.Written != 0 {
		t.Fatalf("subscriber import report %+v", srep)
	}
	f.want(t, 404, "acme", "GET", "/api/v1/subscribers/dan", nil, nil)
}

// A record read through the API is the record as logged: its signals, its
// exact latency and the B2BUA's steps; and the decisions of the last flush
// interval are found (the log is flushed first).
func TestDecisionRecordWhole(t *testing.T) {
	dl, err := decisionlog.Open(filepath.Join(t.TempDir(), "decisions.db"), decisionlog.Options{FlushInterval: time.Hour, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dl.Close() })
	f := newFixture(t, WithDecisionLog(dl))
	alice, _ := f.st.GetSubscriber(store.Operator, "alice")
	at := time.Now().Truncate(time.Microsecond)
	c := policy.Call{Calling: e164.MustParse("+19005550100"), Called: alice.Numbers[0], Origin: policy.OriginSIP,
		Attestation: policy.AttestationFailed, AttestationReason: "signature-invalid", Direction: policy.DirectionTerminating}
	d := policy.Decision{Action: policy.ActionScreen, Subscriber: alice.ID, Brand: store.Brand{Name: "Initech"}}
	rec := decisionlog.NewRecord(at, &c, &d, 1234*time.Nanosecond)
	dl.Record(rec)
	// No Flush here: the search must find it.
	var pg page[decisionView]
	f.want(t, 200, "alice", "GET", "/api/v1/decisions", nil, &pg)
	if len(pg.Items) != 1 {
		t.Fatalf("search found %d records", len(pg.Items))
	}
	if err := dl.AddSteps(decisionlog.RefOf(&rec), decisionlog.Step{Time: at.Add(time.Second), Name: "pin", Outcome: "skipped", Detail: "no digit"}); err != nil {
		t.Fatal(err)
	}
	f.want(t, 200, "alice", "GET", "/api/v1/decisions", nil, &pg)
	v := pg.Items[0]
	if v.StirReason != "signature-invalid" || v.Brand != "Initech" || v.LatencyNS != 1234 || len(v.Steps) != 1 || v.Steps[0].Detail != "no digit" {
		t.Fatalf("record %+v", v)
	}
	var one decisionView
	f.want(t, 200, "alice", "GET", "/api/v1/decisions/"+v.ID, nil, &one)
	if len(one.Steps) != 1 || one.LatencyNS != 1234 {
		t.Fatalf("story %+v", one)
	}
}

// Defect: POST /api/v1/decide answered the decision as a log record keeps
// it, without the display tag and the reject_identity flag of the
// provider's STIR policy. It now answers the engine's decision whole.
func TestDecideAnswersTheWholeDecision(t *testing.T) {
	decideFn := func(_ context.Context, c *policy.Call, g Given) policy.Decision {
		if g.Reputation != nil {
			c.Reputation = *g.Reputation // as the signal stage does with a band given by hand
		}
		return policy.Decision{Action: policy.ActionAllow, Tag: "unknown", RejectIdentity: true}
	}
	f := newFixture(t, WithDecide(decideFn))
	_, body, _ := f.do(t, "operator", "POST", "/api/v1/decide", map[string]any{"called": "+12025550100", "attestation": "C", "reputation": "high"})
	var v struct {
		Decision   json.RawMessage `json:"decision"`
		Reputation string          `json:"reputation"`
	}
	json.Unmarshal(body, &v)
	var d policy.Decision
	if err := json.Unmarshal(v.Decision, &d); err != nil || d.Tag != "unknown" || !d.RejectIdentity {
		t.Fatalf("decide: %s", body)
	}
	// The signals the stage found (here: was given) are in the answer.
	if v.Reputation != "high" {
		t.Errorf("decide's call lost its reputation band: %s", body)
	}
}

// Defect: a voicemail target that is not a number nor a SIP URI was
// answered 500 (internal error) instead of 422 naming the field.
func TestBadVoicemailIsInvalid(t *testing.T) {
	f := newFixture(t)
	tag := f.want(t, 200, "acme", "GET", "/api/v1/subscribers/alice", nil, nil).Get("ETag")
	status, body, _ := f.do(t, "acme", "PATCH", "/api/v1/subscribers/alice", map[string]any{"settings": map[string]any{"voicemail": "ftp://x"}}, "If-Match", tag)
	var p problem
	if json.Unmarshal(body, &p); status != 422 || p.Field != "settings" || !strings.Contains(p.Detail, "voicemail target") {
		t.Errorf("bad voicemail: %d %s", status, body)
	}
}

func TestTokenTTLSeconds(t *testing.T) {
	f := newFixture(t)
	var tv tokenView
	f.want(t, 201, "operator", "POST", "/api/v1/tokens", map[string]any{"role": "operator", "ttl_seconds": 90}, &tv)
	if d := tv.Expires.Sub(tv.Created); d != 90*time.Second {
		t.Errorf("lifetime %s, want 90s", d)
	}
	f.want(t, 400, "operator", "POST", "/api/v1/tokens", map[string]any{"role": "operator", "ttl_seconds": -1}, nil)
}

// GET /api/v1/decisions?action=none lists the records without an action
// (the B2BUA's record of each call to the subscribers' IVR) and only those;
// "none" used to parse as no filter at all and return every record.
func TestDecisionsActionNone(t *testing.T) {
	dl, err := decisionlog.Open(filepath.Join(t.TempDir(), "decisions.db"), decisionlog.Options{FlushInterval: time.Hour, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dl.Close() })
	f := newFixture(t, WithDecisionLog(dl))
	alice, _ := f.st.GetSubscriber(store.Operator, "alice")
	at := time.Now().Truncate(time.Microsecond)
	ivr := policy.Call{Calling: alice.Numbers[0], Called: e164.MustParse("+13035550900"), Origin: policy.OriginSIP}
	dl.Record(decisionlog.NewRecord(at, &ivr, &policy.Decision{Subscriber: alice.ID}, 0))
	screened := policy.Call{Calling: e164.MustParse("+19005550100"), Called: alice.Numbers[0], Origin: policy.OriginSIP}
	dl.Record(decisionlog.NewRecord(at.Add(time.Second), &screened, &policy.Decision{Action: policy.ActionScreen, Subscriber: alice.ID}, 0))
	for _, tc := range []struct {
		action string
		want   string // the one record's called number
	}{{"none", "+13035550900"}, {"screen", alice.Numbers[0].String()}} {
		var pg page[decisionView]
		f.want(t, 200, "operator", "GET", "/api/v1/decisions?action="+tc.action, nil, &pg)
		if len(pg.Items) != 1 || pg.Items[0].Called.String() != tc.want || pg.Items[0].Decision.Action.String() != tc.action {
			t.Errorf("action=%s: %d records %+v, want the one to %s", tc.action, len(pg.Items), pg.Items, tc.want)
		}
	}
	f.want(t, 400, "operator", "GET", "/api/v1/decisions?action=ivr", nil, nil)
}
