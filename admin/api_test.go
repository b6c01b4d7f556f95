package admin

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"callgate/store"
)

// TestSubscriberEditsItsLists: a subscriber's token adds a number to its
// Blocked list, sees it, and removes it.
func TestSubscriberEditsItsLists(t *testing.T) {
	f := newFixture(t)
	var ch listChange
	f.want(t, 200, "alice", "POST", "/api/v1/lists/alice/blocked", map[string]any{"numbers": []string{"(312) 555-0199"}, "note": "robocaller"}, &ch)
	if ch.Changed != 1 || ch.Revision == 0 {
		t.Fatalf("change %+v", ch)
	}
	var pg struct {
		Items []struct{ Number, Note string }
		Total int
	}
	f.want(t, 200, "alice", "GET", "/api/v1/lists/alice/blocked", nil, &pg)
	if pg.Total != 2 || pg.Items[0].Number != "+13125550199" || pg.Items[0].Note != "robocaller" {
		t.Fatalf("list %+v", pg)
	}
	f.want(t, 200, "alice", "DELETE", "/api/v1/lists/alice/blocked/+13125550199", nil, &ch)
	if ch.Changed != 1 {
		t.Fatalf("remove %+v", ch)
	}
}

// TestProblemNamesField: errors are problem+json naming the field.
func TestProblemNamesField(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		who, method, path string
		body              any
		status            int
		field             string
	}{
		{"alice", "POST", "/api/v1/lists/alice/blocked", map[string]any{"numbers": []string{"12"}}, 422, "numbers"},
		{"alice", "POST", "/api/v1/lists/alice/blocked", map[string]any{"numbers": []string{"+13125550199"}, "colour": 1}, 400, "colour"},
		{"alice", "GET", "/api/v1/lists/alice/grey", nil, 422, "list"},
		{"acme", "GET", "/api/v1/subscribers?limit=0", nil, 400, "limit"},
		{"acme", "PATCH", "/api/v1/subscribers/alice", map[string]any{"permissions": "none"}, 428, "If-Match"},
		{"", "GET", "/api/v1/providers", nil, 401, "Authorization"},
		{"operator", "POST", "/api/v1/tokens", map[string]any{"role": "king"}, 400, "role"},
		{"alice", "PUT", "/api/v1/subscribers/alice/pin", map[string]any{"pin": "12"}, 422, "pin"},
	}
	for _, c := range cases {
		status, body, h := f.do(t, c.who, c.method, c.path, c.body)
		var p problem
		if err := json.Unmarshal(body, &p); err != nil || status != c.status || p.Status != c.status || p.Field != c.field ||
			h.Get("Content-Type") != "application/problem+json" || p.Detail == "" {
			t.Errorf("%s %s: %d %s %s, want %d naming %q", c.method, c.path, status, h.Get("Content-Type"), body, c.status, c.field)
		}
	}
}

// TestIfMatch: two editors read the same revision; the second write is
// refused with 412 and changes nothing.
func TestIfMatch(t *testing.T) {
	f := newFixture(t)
	h := f.want(t, 200, "acme", "GET", "/api/v1/subscribers/alice", nil, nil)
	tag := h.Get("ETag")
	if tag == "" {
		t.Fatal("no ETag")
	}
	var s subscriberView
	h2 := f.want(t, 200, "acme", "PATCH", "/api/v1/subscribers/alice", map[string]any{"settings": map[string]any{"unknown": "block"}}, &s, "If-Match", tag)
	if s.Settings.Unknown.String() != "block" || h2.Get("ETag") == tag {
		t.Fatalf("first editor: %+v, etag %s", s, h2.Get("ETag"))
	}
	status, body, _ := f.do(t, "alice", "PATCH", "/api/v1/subscribers/alice", map[string]any{"settings": map[string]any{"unknown": "allow"}}, "If-Match", tag)
	if status != http.StatusPreconditionFailed {
		t.Fatalf("second editor on the old revision: %d %s", status, body)
	}
	f.want(t, 200, "alice", "GET", "/api/v1/subscribers/alice", nil, &s)
	if s.Settings.Unknown.String() != "block" {
		t.Fatalf("the refused write changed the subscriber: %v", s.Settings.Unknown)
	}
	// Lists: If-Match is optional; with a stale one the add is refused.
	f.want(t, 200, "alice", "POST", "/api/v1/lists/alice/vip", map[string]any{"numbers": []string{"+13125550110"}}, nil)
	lh := f.want(t, 200, "alice", "GET", "/api/v1/lists/alice/vip", nil, nil)
	f.want(t, 200, "alice", "POST", "/api/v1/lists/alice/vip", map[string]any{"numbers": []string{"+13125550111"}}, nil, "If-Match", lh.Get("ETag"))
	f.want(t, 412, "alice", "POST", "/api/v1/lists/alice/vip", map[string]any{"numbers": []string{"+13125550112"}}, nil, "If-Match", lh.Get("ETag"))
}

// TestImportAllOrNothing: a CSV with bad rows writes nothing and names
// every bad line; a clean one is imported.
func TestImportAllOrNothing(t *testing.T) {
	f := newFixture(t)
	bad := "owner,list,number,note\nalice,blocked,+13125550120,ok\nalice,blocked,12,short\nbob,blocked,+13125550121,not acme's\n"
	status, body, _ := f.do(t, "acme", "POST", "/api/v1/lists/import", bad)
	var p problem
	json.Unmarshal(body, &p)
	// A row about another tenant's list reads as one naming an owner that
	// does not exist (422), never a refusal that says it is there.
	if status != 422 || !strings.Contains(p.Errors[1].Error, `subscriber "bob": not found`) || len(p.Errors) != 2 || p.Errors[0].Line != 3 || p.Errors[1].Line != 4 || p.Field != "body" {
		t.Fatalf("bad import: %d %s", status, body)
	}
	status, body, _ = f.do(t, "acme", "POST", "/api/v1/lists/import", "owner,list,number\nalice,blocked,+13125550123\nalice,vip,12\n")
	if json.Unmarshal(body, &p); status != 422 || len(p.Errors) != 1 || p.Errors[0].Line != 3 {
		t.Fatalf("import with a bad number: %d %s", status, body)
	}
	var pg struct{ Total int }
	f.want(t, 200, "alice", "GET", "/api/v1/lists/alice/blocked", nil, &pg)
	if pg.Total != 1 {
		t.Fatalf("a refused import wrote rows: %d on the list", pg.Total)
	}
	good := "owner,list,number\nalice,blocked,+13125550120\nalice,vip,+13125550122\n"
	var rep struct{ Added, ErrorCount int }
	f.want(t, 200, "acme", "POST", "/api/v1/lists/import", good, &rep)
	if rep.Added != 2 || rep.ErrorCount != 0 {
		t.Fatalf("good import: %+v", rep)
	}
}

// TestCursorPages: subscribers page by cursor until no next_cursor.
func TestCursorPages(t *testing.T) {
	f := newFixture(t)
	for i := 0; i < 4; i++ {
		n := "+1202555011" + string(rune('0'+i))
		f.want(t, 201, "acme", "POST", "/api/v1/subscribers", map[string]any{"name": "s" + string(rune('a'+i)), "numbers": []string{n}}, nil)
	}
	var names []string
	path := "/api/v1/subscribers?limit=2"
	for pages := 0; ; pages++ {
		var pg page[subscriberView]
		f.want(t, 200, "acme", "GET", path, nil, &pg)
		for _, s := range pg.Items {
			names = append(names, s.Name)
		}
		if pg.NextCursor == "" {
			break
		}
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
		path = "/api/v1/subscribers?limit=2&cursor=" + pg.NextCursor
	}
	if strings.Join(names, ",") != "alice,sa,sb,sc,sd" {
		t.Fatalf("pages gave %v", names)
	}
}

// TestTokens: a token is shown once, works, and stops working when
// revoked; a subscriber cannot make a token for another subscriber.
func TestTokens(t *testing.T) {
	f := newFixture(t)
	var tv tokenView
	f.want(t, 201, "acme", "POST", "/api/v1/tokens", map[string]any{"role": "subscriber", "name": "alice", "label": "app"}, &tv)
	if !strings.HasPrefix(tv.Token, "cgt_") {
		t.Fatalf("token %+v", tv)
	}
	var list page[tokenView]
	f.want(t, 200, "acme", "GET", "/api/v1/tokens", nil, &list)
	for _, x := range list.Items {
		if x.Token != "" {
			t.Fatal("a listed token shows its secret")
		}
	}
	f.tokens["app"] = tv.Token
	f.want(t, 200, "app", "GET", "/api/v1/subscribers/alice", nil, nil)
	f.want(t, 204, "acme", "DELETE", "/api/v1/tokens/"+tv.ID, nil, nil)
	f.want(t, 401, "app", "GET", "/api/v1/subscribers/alice", nil, nil)
	f.want(t, 404, "alice", "POST", "/api/v1/tokens", map[string]any{"role": "subscriber", "name": "bob"}, nil)
	f.want(t, 403, "acme", "POST", "/api/v1/tokens", map[string]any{"role": "operator"}, nil)
}

// TestAuditThroughAPI: a change through the API is in the audit log with
// the token that made it, and each tenant reads only its own records.
func TestAuditThroughAPI(t *testing.T) {
	f := newFixture(t)
	if st, body, _ := f.do(t, "alice", "POST", "/api/v1/lists/alice/blocked", map[string]any{"numbers": []string{"+13125550177"}}); st != 200 {
		t.Fatalf("add: %d %s", st, body)
	}
	if st, body, _ := f.do(t, "bob", "POST", "/api/v1/lists/bob/vip", map[string]any{"numbers": []string{"+13125550178"}}); st != 200 {
		t.Fatalf("add: %d %s", st, body)
	}
	var pg struct {
		Items []store.AuditRecord `json:"items"`
	}
	st, body, _ := f.do(t, "alice", "GET", "/api/v1/audit?object=list/", nil)
	if st != 200 || json.Unmarshal(body, &pg) != nil || len(pg.Items) == 0 {
		t.Fatalf("alice's audit: %d %s", st, body)
	}
	r := pg.Items[0]
	if r.Op != "list.add" || r.Via != "api" || !strings.HasPrefix(r.Principal, "token ") || r.Role != "subscriber" ||
		!strings.Contains(string(r.After), "+13125550177") {
		t.Errorf("alice's newest record: %+v %s", r, r.After)
	}
	if strings.Contains(string(body), "bob") || strings.Contains(string(body), "+13125550178") {
		t.Errorf("alice reads bob's records: %s", body)
	}
	// Paging by cursor.
	st, body, _ = f.do(t, "operator", "GET", "/api/v1/audit?limit=1", nil)
	var p1 struct {
		Items      []store.AuditRecord `json:"items"`
		NextCursor string              `json:"next_cursor"`
	}
	if st != 200 || json.Unmarshal(body, &p1) != nil || len(p1.Items) != 1 || p1.NextCursor == "" || p1.Items[0].Object != "list/subscriber/bob/vip" {
		t.Fatalf("page 1: %d %s", st, body)
	}
	st, body, _ = f.do(t, "operator", "GET", "/api/v1/audit?limit=1&cursor="+p1.NextCursor, nil)
	if st != 200 || !strings.Contains(string(body), "list/subscriber/alice/blocked") {
		t.Errorf("page 2: %d %s", st, body)
	}
}
