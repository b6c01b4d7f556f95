package admin

import (
	"callgate/store"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"callgate/e164"
	"callgate/fraud"
)

// fraudNow is the fraud monitor's clock in these tests: a Monday
// afternoon, UTC.
var fraudNow = time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)

const fraudRates = "prefix,category,price_per_minute,description\n1,domestic,0.01,NANP\n1900,premium,3.00,NANP premium\n"

// withTestFraud installs a fraud monitor over the fixture's store (the
// option runs inside New, where the store is known) with the rate table
// imported, and locks down the groups of the lines given: 4 minutes to a
// premium number each, 12.00 against the new group's lockdown threshold
// of 11.00. *out is the monitor.
func withTestFraud(t *testing.T, out **fraud.Monitor, lock ...string) Option {
	return func(tier *Tier) {
		m, err := fraud.New(fraud.DefaultConfig(), tier.st, fraud.StoreState(tier.st), fraud.WithClock(fraud.NewManualClock(fraudNow)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.ImportRates(strings.NewReader(fraudRates), "test.csv", store.Operator.By("tester", "test"), false); err != nil {
			t.Fatal(err)
		}
		for _, line := range lock {
			c := fraud.CDR{Calling: e164.MustParse(line), Called: e164.MustParse("+19005550100"), Start: fraudNow.Add(-4 * time.Minute), Seconds: 240}
			if err := m.Record(c); err != nil {
				t.Fatal(err)
			}
		}
		if err := m.Recompute(); err != nil {
			t.Fatal(err)
		}
		tier.fraud, *out = m, m
	}
}

// The fixture's lines: alice and initech are acme's, bob and umbrella
// globex's.
const (
	lineAlice    = "+12025550100"
	lineInitech  = "+12025550150"
	lineBob      = "+13035550100"
	lineUmbrella = "+13035550150"
)

// TestFraudStatusScopedByProvider: the platform owner sees every group,
// a provider its own subscribers' and enterprises' only, a subscriber
// none.
func TestFraudStatusScopedByProvider(t *testing.T) {
	var m *fraud.Monitor
	f := newFixture(t, withTestFraud(t, &m, lineAlice, lineInitech, lineBob, lineUmbrella))
	var all fraudOverview
	f.want(t, 200, "operator", "GET", "/api/v1/fraud/groups?top=0", nil, &all)
	if all.Groups != 4 || all.Locked != 4 || len(all.Status) != 4 || all.RatesVersion != 1 || all.RatesRows != 2 {
		t.Fatalf("operator's overview: %+v", all)
	}
	var acme fraudOverview
	f.want(t, 200, "acme", "GET", "/api/v1/fraud/groups", nil, &acme)
	names := []string{}
	for _, s := range acme.Status {
		names = append(names, s.Name+"/"+s.Provider)
	}
	if got := strings.Join(names, ","); acme.Groups != 2 || acme.Locked != 2 || got != "enterprise initech/acme,subscriber alice/acme" && got != "subscriber alice/acme,enterprise initech/acme" {
		t.Fatalf("acme's overview: %+v (%s)", acme, got)
	}
	var one fraudOverview
	f.want(t, 200, "operator", "GET", "/api/v1/fraud/groups?top=1", nil, &one)
	if one.Groups != 4 || len(one.Status) != 1 {
		t.Fatalf("top=1: %+v", one)
	}
	var st fraud.GroupStatus
	for _, ref := range []string{"bob", "subscriber:bob", lineBob} {
		f.want(t, 200, "globex", "GET", "/api/v1/fraud/groups/"+ref, nil, &st)
		if st.Name != "subscriber bob" || !st.Locked || st.Spend.String() != "12.00" || st.Thresholds.Lockdown.String() != "22.00" {
			t.Fatalf("bob's status as globex by %q: %+v", ref, st)
		}
	}
	// Another provider's group, a number of nobody's and a name of
	// nobody's read alike.
	var msgs []string
	for _, ref := range []string{"bob", lineBob, "+14045550100", "nobody", "e" + strings.TrimPrefix(st.Group, "s")} {
		status, body, _ := f.do(t, "acme", "GET", "/api/v1/fraud/groups/"+ref, nil)
		if status != http.StatusNotFound || strings.Contains(string(body), "globex") {
			t.Errorf("acme reading %s: %d %s", ref, status, body)
		}
		msgs = append(msgs, strings.ReplaceAll(string(body), ref, "REF"))
	}
	for _, m := range msgs[1:] {
		if m != msgs[0] {
			t.Errorf("answers differ, telling a number of another tenant's from one of nobody's:\n%s\n%s", msgs[0], m)
		}
	}
	f.want(t, 403, "alice", "GET", "/api/v1/fraud/groups", nil, nil)
	f.want(t, 403, "alice", "GET", "/api/v1/fraud/groups/alice", nil, nil)
}

// TestFraudUnlockByAPI: an unlock needs a reason, names the caller in the
// fraud audit log, and lifts the lock; a second one is a conflict.
func TestFraudUnlockByAPI(t *testing.T) {
	var m *fraud.Monitor
	f := newFixture(t, withTestFraud(t, &m, lineBob))
	bob, _ := m.GroupOf(e164.MustParse(lineBob))
	for _, body := range []any{map[string]any{}, map[string]any{"reason": "ok"}, map[string]any{"reason": "checked\nit"}} {
		status, out, _ := f.do(t, "globex", "POST", "/api/v1/fraud/groups/bob/unlock", body)
		if status != http.StatusUnprocessableEntity || !strings.Contains(string(out), `"field":"reason"`) {
			t.Errorf("unlock with %v: %d %s", body, status, out)
		}
	}
	if !m.IsLocked(bob) {
		t.Fatal("a refused unlock unlocked")
	}
	f.want(t, 404, "acme", "POST", "/api/v1/fraud/groups/bob/unlock", map[string]any{"reason": "not mine but let us try"}, nil)
	f.want(t, 403, "bob", "POST", "/api/v1/fraud/groups/bob/unlock", map[string]any{"reason": "I am the one who was locked"}, nil)
	if !m.IsLocked(bob) {
		t.Fatal("unlocked by someone else's provider or by the group itself")
	}
	reason := "PBX password changed; customer confirmed the calls (ticket 4411)"
	var ev fraud.Event
	f.want(t, 200, "globex", "POST", "/api/v1/fraud/groups/"+lineBob+"/unlock", map[string]any{"reason": reason}, &ev)
	if ev.Kind != fraud.EventUnlock || ev.Reason != reason || !strings.HasPrefix(ev.Actor, "token ") || !strings.HasSuffix(ev.Actor, " as provider globex via api") {
		t.Fatalf("unlock event %+v", ev)
	}
	if m.IsLocked(bob) {
		t.Fatal("still locked")
	}
	f.want(t, 409, "operator", "POST", "/api/v1/fraud/groups/bob/unlock", map[string]any{"reason": reason}, nil)
	var h fraud.History
	f.want(t, 200, "globex", "GET", "/api/v1/fraud/groups/bob/history?events=1", nil, &h)
	if len(h.Events) != 1 || h.Events[0].Seq != ev.Seq || h.Events[0].Actor != ev.Actor || h.Status.Locked || len(h.Days) != 30 {
		t.Fatalf("history %+v", h)
	}
	f.want(t, 400, "globex", "GET", "/api/v1/fraud/groups/bob/history?events=x", nil, nil)
}

// TestFraudRatesByAPI: a bad table changes nothing and names every bad
// row; a dry run writes nothing; a good one is the next version.
func TestFraudRatesByAPI(t *testing.T) {
	var m *fraud.Monitor
	f := newFixture(t, withTestFraud(t, &m))
	status, out, _ := f.do(t, "operator", "POST", "/api/v1/fraud/rates", "prefix,category,price_per_minute\n1,domestic,0.01\n44,intl,1.00\n1900,premium,abc\n")
	var p problem
	if err := json.Unmarshal(out, &p); err != nil || status != 422 || len(p.Errors) != 2 || p.Errors[0].Line != 3 || p.Errors[1].Line != 4 {
		t.Fatalf("bad table: %d %s", status, out)
	}
	var meta fraud.RateMeta
	f.want(t, 200, "operator", "POST", "/api/v1/fraud/rates?dry_run=true", "1,domestic,0.01\n44,international,1.00\n", &meta)
	if meta.Version != 0 || meta.Rows != 2 || m.Rates().Version != 1 {
		t.Fatalf("dry run: %+v, version in force %d", meta, m.Rates().Version)
	}
	f.want(t, 201, "operator", "POST", "/api/v1/fraud/rates?source=carrier.csv", "1,domestic,0.01\n44,international,1.00\n", &meta)
	if meta.Version != 2 || meta.Source != "carrier.csv" || !strings.HasSuffix(meta.By, "as operator via api") || m.Rates().Version != 2 {
		t.Fatalf("import: %+v", meta)
	}
	var vs page[fraud.RateMeta]
	f.want(t, 200, "operator", "GET", "/api/v1/fraud/rates", nil, &vs)
	if len(vs.Items) != 2 || vs.Items[1].Version != 2 {
		t.Fatalf("versions %+v", vs)
	}
	f.want(t, 403, "acme", "POST", "/api/v1/fraud/rates", "1,domestic,0.00\n", nil)
	f.want(t, 403, "acme", "GET", "/api/v1/fraud/rates", nil, nil)
	if m.Rates().Version != 2 {
		t.Fatal("a provider's import changed the table")
	}
}

// TestFraudCDRsByAPI: the CDR feed in both forms, all or nothing.
func TestFraudCDRsByAPI(t *testing.T) {
	var m *fraud.Monitor
	f := newFixture(t, withTestFraud(t, &m))
	alice, _ := m.GroupOf(e164.MustParse(lineAlice))
	start := fraudNow.Add(-time.Hour).Format(time.RFC3339)
	var ok cdrsApplied
	f.want(t, 200, "operator", "POST", "/api/v1/fraud/cdrs", []map[string]any{{"calling": lineAlice, "called": "+19005550100", "start": start, "duration": 60}}, &ok)
	if ok.Applied != 1 || m.GroupStatus(alice).Completed.String() != "3.00" {
		t.Fatalf("JSON batch: %+v, alice %+v", ok, m.GroupStatus(alice))
	}
	// Another call a minute later (the same CDR again would be a copy:
	// dropped).
	start = fraudNow.Add(-59 * time.Minute).Format(time.RFC3339)
	f.want(t, 200, "operator", "POST", "/api/v1/fraud/cdrs", lineAlice+",+19005550100,"+start+",60\n", &ok)
	status, out, _ := f.do(t, "operator", "POST", "/api/v1/fraud/cdrs", lineAlice+",+19005550100,"+fraudNow.Add(-58*time.Minute).Format(time.RFC3339)+",60\n"+lineAlice+",twelve,"+start+",60\n")
	var p problem
	if err := json.Unmarshal(out, &p); err != nil || status != 422 || len(p.Errors) != 1 || p.Errors[0].Line != 2 {
		t.Fatalf("bad batch: %d %s", status, out)
	}
	if got := m.GroupStatus(alice).Completed.String(); got != "6.00" {
		t.Fatalf("after a refused batch alice's spend is %s, want 6.00 (nothing of it applied)", got)
	}
	f.want(t, 403, "acme", "POST", "/api/v1/fraud/cdrs", lineAlice+",+19005550100,"+start+",60\n", nil)
}

// TestFraudOffAnswers404: without a monitor every fraud operation says
// so.
func TestFraudOffAnswers404(t *testing.T) {
	f := newFixture(t)
	for _, rt := range (&Tier{}).routeTable() {
		if !strings.HasPrefix(rt.pattern, "/api/v1/fraud/") {
			continue
		}
		path := strings.ReplaceAll(rt.pattern, "{group}", "alice")
		status, out, _ := f.do(t, "operator", rt.method, path, nil)
		if status != http.StatusNotFound || !strings.Contains(string(out), "fraud.enabled") {
			t.Errorf("%s %s without a monitor: %d %s", rt.method, path, status, out)
		}
	}
}
