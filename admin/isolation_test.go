package admin

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"callgate/e164"
	"callgate/fraud"
	"callgate/policy"
	"callgate/policy/decisionlog"
	"callgate/store"
)

// isolationRequest is how to aim one route at the other tenant's objects
// (provider globex, its subscriber bob, its enterprise umbrella).
type isolationRequest struct {
	path string
	body any
}

// isolationFixture is the API fixture of the isolation tests: a decision
// log of its own, an engine that blocks every call for the called number's
// subscriber, and the fraud monitor with bob's and umbrella's groups
// (globex's) locked down.
func isolationFixture(t *testing.T) (*fixture, *decisionlog.Log, *fraud.Monitor) {
	t.Helper()
	dl, err := decisionlog.Open(filepath.Join(t.TempDir(), "decisions.db"), decisionlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dl.Close() })
	var f *fixture
	decideFn := func(_ context.Context, c *policy.Call, _ Given) policy.Decision {
		v, _ := f.st.Subscriber(c.Called)
		return policy.Decision{Action: policy.ActionBlock, Subscriber: v.ID}
	}
	var mon *fraud.Monitor
	f = newFixture(t, WithDecisionLog(dl), WithDecide(decideFn), withTestFraud(t, &mon, lineBob, lineUmbrella))
	return f, dl, mon
}

// TestIsolation: every endpoint x every tenant role x an object of another
// tenant -> 403 or 404 (422 for an import's rows, as for an owner that
// does not exist), and never a byte of that tenant's data: a name the
// request itself gave may be echoed. TestForeignAnswersAsNonexistent
// holds the answers to those for objects that do not exist. Platform
// operations are refused to every tenant. The table must cover every
// route the tier serves.
func TestIsolation(t *testing.T) {
	f, dl, mon := isolationFixture(t)
	bob, err := f.st.GetSubscriber(store.Operator, "bob")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().Truncate(time.Microsecond)
	c := policy.Call{Calling: e164.MustParse("+19005550100"), Called: bob.Numbers[0], Origin: policy.OriginSIP}
	d := policy.Decision{Action: policy.ActionBlock, Subscriber: bob.ID}
	dl.Record(decisionlog.NewRecord(at, &c, &d, time.Millisecond))
	if err := dl.Flush(); err != nil {
		t.Fatal(err)
	}
	globexTok, err := f.st.APITokens(store.ProviderActor("globex"))
	if err != nil || len(globexTok) == 0 {
		t.Fatal(err)
	}
	bobNum := bob.Numbers[0].String()
	story := "/api/v1/decisions/" + itoa(at.UnixNano())

	table := map[string]isolationRequest{
		"POST /api/v1/tokens":                                      {"/api/v1/tokens", map[string]any{"role": "subscriber", "name": "bob"}},
		"GET /api/v1/tokens":                                       {"/api/v1/tokens", nil},
		"POST /api/v1/users":                                       {"/api/v1/users", map[string]any{"name": "mole", "role": "subscriber", "tenant": "bob", "password": "0123456789ab"}},
		"GET /api/v1/users":                                        {"/api/v1/users", nil},
		"DELETE /api/v1/users/{name}":                              {"/api/v1/users/bobweb", nil},
		"DELETE /api/v1/tokens/{id}":                               {"/api/v1/tokens/" + globexTok[0].ID, nil},
		"GET /api/v1/providers":                                    {"/api/v1/providers", nil},
		"POST /api/v1/providers":                                   {"/api/v1/providers", map[string]any{"name": "evil"}},
		"GET /api/v1/providers/{provider}":                         {"/api/v1/providers/globex", nil},
		"PATCH /api/v1/providers/{provider}":                       {"/api/v1/providers/globex", map[string]any{"default_permissions": "none"}},
		"DELETE /api/v1/providers/{provider}":                      {"/api/v1/providers/globex", nil},
		"POST /api/v1/providers/{provider}/allocations":            {"/api/v1/providers/globex/allocations", map[string]any{"ranges": []string{"+14045550100"}}},
		"DELETE /api/v1/providers/{provider}/allocations/{range}":  {"/api/v1/providers/globex/allocations/+13035550100..+13035550199", nil},
		"GET /api/v1/providers/{provider}/signals":                 {"/api/v1/providers/globex/signals", nil},
		"PUT /api/v1/providers/{provider}/signals":                 {"/api/v1/providers/globex/signals", map[string]any{"key_missing": "screen"}},
		"GET /api/v1/subscribers":                                  {"/api/v1/subscribers?provider=globex", nil},
		"POST /api/v1/subscribers":                                 {"/api/v1/subscribers", map[string]any{"name": "mole", "provider": "globex", "numbers": []string{"+13035550160"}}},
		"GET /api/v1/subscribers/{subscriber}":                     {"/api/v1/subscribers/bob", nil},
		"PATCH /api/v1/subscribers/{subscriber}":                   {"/api/v1/subscribers/" + bobNum, map[string]any{"permissions": "none"}},
		"DELETE /api/v1/subscribers/{subscriber}":                  {"/api/v1/subscribers/bob", nil},
		"POST /api/v1/subscribers/{subscriber}/numbers":            {"/api/v1/subscribers/bob/numbers", map[string]any{"numbers": []string{"+13035550161"}}},
		"DELETE /api/v1/subscribers/{subscriber}/numbers/{number}": {"/api/v1/subscribers/bob/numbers/" + bobNum, nil},
		"PUT /api/v1/subscribers/{subscriber}/pin":                 {"/api/v1/subscribers/bob/pin", map[string]any{"pin": "1234"}},
		"DELETE /api/v1/subscribers/{subscriber}/pin":              {"/api/v1/subscribers/bob/pin", nil},
		"GET /api/v1/lists/{owner}/{list}":                         {"/api/v1/lists/bob/blocked", nil},
		"POST /api/v1/lists/{owner}/{list}":                        {"/api/v1/lists/" + bobNum + "/blocked", map[string]any{"numbers": []string{"+19005550199"}}},
		"DELETE /api/v1/lists/{owner}/{list}/{number}":             {"/api/v1/lists/provider:globex/blocked/+19005550101", nil},
		"POST /api/v1/lists/import":                                {"/api/v1/lists/import", "owner,list,number\nbob,blocked,+19005550198\n"},
		"POST /api/v1/subscribers:import":                          {"/api/v1/subscribers:import", "name,provider,numbers\nmole,globex,+13035550162\n"},
		"GET /api/v1/subscribers:count":                            {"/api/v1/subscribers:count?provider=globex", nil},
		"GET /api/v1/enterprises":                                  {"/api/v1/enterprises", nil},
		"POST /api/v1/enterprises":                                 {"/api/v1/enterprises", map[string]any{"name": "shell", "provider": "globex"}},
		"GET /api/v1/enterprises/{enterprise}":                     {"/api/v1/enterprises/umbrella", nil},
		"DELETE /api/v1/enterprises/{enterprise}":                  {"/api/v1/enterprises/umbrella", nil},
		"GET /api/v1/routes":                                       {"/api/v1/routes", nil},
		"PUT /api/v1/routes/{route}":                               {"/api/v1/routes/east", map[string]any{"sip_uri": "sip:evil.example"}},
		"DELETE /api/v1/routes/{route}":                            {"/api/v1/routes/east", nil},
		"PUT /api/v1/default-route":                                {"/api/v1/default-route", map[string]any{"name": "east"}},
		"GET /api/v1/decisions":                                    {"/api/v1/decisions?number=" + bobNum, nil},
		"GET /api/v1/decisions/{at}":                               {story, nil},
		"POST /api/v1/decide":                                      {"/api/v1/decide", map[string]any{"called": bobNum, "calling": "+19005550100"}},
		"GET /api/v1/audit":                                        {"/api/v1/audit?limit=1000", nil},
		"GET /api/v1/fraud/groups":                                 {"/api/v1/fraud/groups?top=0", nil},
		"GET /api/v1/fraud/groups/{group}":                         {"/api/v1/fraud/groups/" + bobNum, nil},
		"GET /api/v1/fraud/groups/{group}/history":                 {"/api/v1/fraud/groups/enterprise:umbrella/history", nil},
		"POST /api/v1/fraud/groups/{group}/unlock":                 {"/api/v1/fraud/groups/bob/unlock", map[string]any{"reason": "the other tenant's lock, lifted by a stranger"}},
		"POST /api/v1/fraud/rates":                                 {"/api/v1/fraud/rates", "1,domestic,0.00\n1900,premium,0.00\n"},
		"GET /api/v1/fraud/rates":                                  {"/api/v1/fraud/rates", nil},
		"POST /api/v1/fraud/cdrs":                                  {"/api/v1/fraud/cdrs", bobNum + ",+19005550100," + fraudNow.Add(-time.Hour).Format(time.RFC3339) + ",3600\n"},
		"GET /api/v1/providers/{provider}/stir":                    {"/api/v1/providers/globex/stir", nil},
		"PATCH /api/v1/providers/{provider}/stir":                  {"/api/v1/providers/globex/stir", map[string]any{"tag": true}},
		"GET /api/v1/subscribers/{subscriber}/treatment":           {"/api/v1/subscribers/bob/treatment", nil},
		"POST /api/v1/subscribers/{subscriber}/numbers/remove":     {"/api/v1/subscribers/bob/numbers/remove", map[string]any{"numbers": []string{bobNum}}},
		"POST /api/v1/lists/{owner}/{list}/remove":                 {"/api/v1/lists/bob/blocked/remove", map[string]any{"numbers": []string{"+19005550100"}}},
		"GET /api/v1/lists/export":                                 {"/api/v1/lists/export?owner=bob", nil},
		"GET /api/v1/enterprises/{enterprise}/signals":             {"/api/v1/enterprises/umbrella/signals", nil},
		"PATCH /api/v1/enterprises/{enterprise}/signals":           {"/api/v1/enterprises/umbrella/signals", map[string]any{"brand": map[string]any{"name": "Evil"}}},
		"POST /api/v1/enterprises/{enterprise}/token":              {"/api/v1/enterprises/umbrella/token", nil},
		"DELETE /api/v1/enterprises/{enterprise}/keys":             {"/api/v1/enterprises/umbrella/keys", nil},
		"GET /api/v1/subscribers/{subscriber}/pin/lockout":         {"/api/v1/subscribers/bob/pin/lockout", nil},
		"DELETE /api/v1/subscribers/{subscriber}/pin/lockout":      {"/api/v1/subscribers/" + bobNum + "/pin/lockout", nil},
		"GET /api/v1/pin-lockouts":                                 {"/api/v1/pin-lockouts", nil},
	}
	// Bob's PIN is locked, so the lockout routes have his data to leak.
	if _, _, err := f.st.PINFailed(bob.ID, store.PINFailure{Prompt: store.PINPromptIVR, Actor: store.Operator.By("ivr "+bobNum, "ivr"),
		Policy: store.PINLockPolicy{MaxFailures: 1, Window: time.Hour, Period: time.Hour}}); err != nil {
		t.Fatal(err)
	}
	// Listings answer 200 with only the caller's own items: refused here
	// means none of the other tenant's.
	if _, err := f.st.CreateWebUser(store.Operator, store.SubscriberActor("bob"), "bobweb", "0123456789ab"); err != nil {
		t.Fatal(err)
	}
	listings := map[string]bool{"GET /api/v1/tokens": true, "GET /api/v1/users": true, "GET /api/v1/providers": true, "GET /api/v1/enterprises": true,
		"GET /api/v1/decisions": true, "GET /api/v1/audit": true, "GET /api/v1/fraud/groups": true, "GET /api/v1/pin-lockouts": true}
	// What would show the other tenant's data.
	leaks := []string{"globex", "umbrella", "\"bob\"", "secret of", "+19005550101", "sip:b2bua.example"}
	// Imports answer with their rows: one about another tenant's list is
	// bad (422), or reported (200), as one naming nobody.
	rowAnswers := map[string]int{"POST /api/v1/lists/import": http.StatusUnprocessableEntity}
	tier := &Tier{}
	refused, total := 0, 0
	for _, rt := range tier.routeTable() {
		key := rt.method + " " + rt.pattern
		req, ok := table[key]
		if !ok {
			t.Errorf("%s: not in the isolation table", key)
			continue
		}
		for _, who := range []string{"acme", "alice"} {
			total++
			status, body, _ := f.do(t, who, rt.method, req.path, req.body, "If-Match", `"1"`)
			text := string(body)
			sent, _ := json.Marshal(req.body)
			leaked := ""
			for _, l := range leaks {
				if key == "GET /api/v1/audit" && l == "+19005550101" {
					continue // acme's own provider list holds the same number; globex's records would name globex
				}
				echo := strings.Contains(req.path, strings.Trim(l, `"`)) || strings.Contains(string(sent), strings.Trim(l, `"`))
				if strings.Contains(text, l) && !(status >= 400 && echo) {
					leaked = l
				}
			}
			okStatus := status == http.StatusForbidden || status == http.StatusNotFound ||
				listings[key] && status == http.StatusOK || rowAnswers[key] != 0 && status == rowAnswers[key]
			if key == "GET /api/v1/routes" && who == "acme" && status == http.StatusOK {
				okStatus, leaked = true, "" // routes are platform settings every provider may read
			}
			if !okStatus || leaked != "" {
				t.Errorf("%s %s as %s: %d (leaks %q): %s", rt.method, req.path, who, status, leaked, body)
				continue
			}
			refused++
		}
	}
	// The provider-wide VIP list goes through the same list routes: aimed
	// at globex's, each is refused like the rows above.
	vipRows := []struct {
		method, path string
		body         any
	}{
		{"GET", "/api/v1/lists/provider:globex/vip", nil},
		{"POST", "/api/v1/lists/provider:globex/vip", map[string]any{"numbers": []string{"+19115550199"}}},
		{"DELETE", "/api/v1/lists/provider:globex/vip/+19115550102", nil},
		{"POST", "/api/v1/lists/import", "owner,list,number\nprovider:globex,vip,+19115550198\n"},
		{"POST", "/api/v1/lists/import?report=true", "owner,list,number\nprovider:globex,vip,+19115550198\n"},
		{"POST", "/api/v1/lists/provider:globex/vip/remove", map[string]any{"numbers": []string{"+19115550102"}}},
		{"GET", "/api/v1/lists/export?owner=provider:globex&list=vip", nil},
		{"GET", "/api/v1/lists/export", nil},
		// A search aimed at globex's subscribers.
		{"GET", "/api/v1/subscribers?provider=globex&q=b", nil},
	}
	for _, r := range vipRows {
		for _, who := range []string{"acme", "alice"} {
			total++
			status, body, _ := f.do(t, who, r.method, r.path, r.body, "If-Match", `"1"`)
			rows := r.path == "/api/v1/lists/import" && status == http.StatusUnprocessableEntity ||
				r.path == "/api/v1/lists/import?report=true" && status == http.StatusOK
			if status != http.StatusForbidden && status != http.StatusNotFound && !rows || strings.Contains(string(body), "+19115550102") ||
				strings.Contains(string(body), "secret of") {
				t.Errorf("%s %s as %s: %d: %s", r.method, r.path, who, status, body)
				continue
			}
			refused++
		}
	}
	if refused != total {
		t.Errorf("refused %d of %d requests", refused, total)
	}
	if p, err := f.st.ListEntries(store.Operator, "provider:globex", store.ListVIP, 0, 10); err != nil || p.Total != 1 {
		t.Errorf("globex's VIP list after the attack: %+v %v", p, err)
	}
	// Nothing of globex's changed.
	if p, err := f.st.ListEntries(store.Operator, "bob", store.ListBlocked, 0, 10); err != nil || p.Total != 1 {
		t.Errorf("bob's Blocked list after the attack: %+v %v", p, err)
	}
	if s, _ := f.st.GetSubscriber(store.Operator, "bob"); s.HasPIN || s.Permissions != store.PermAll {
		t.Errorf("bob after the attack: %+v", s)
	}
	// Nothing of the fraud monitor changed: globex's locks, the rate
	// table, bob's spend (a tenant's CDRs would have added to it).
	bobGroup, _ := mon.GroupOf(bob.Numbers[0])
	if len(mon.Locks()) != 2 || mon.Rates().Version != 1 || mon.GroupStatus(bobGroup).Spend.String() != "12.00" {
		t.Errorf("the fraud monitor after the attack: locks %+v, rates version %d", mon.Locks(), mon.Rates().Version)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
