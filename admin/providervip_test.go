package admin

import "testing"

// TestProviderEditsItsVIPList: a provider keeps its provider-wide VIP list
// through the ordinary list routes (single entries and CSV import); its
// subscribers may not change it.
func TestProviderEditsItsVIPList(t *testing.T) {
	f := newFixture(t)
	var ch listChange
	f.want(t, 200, "acme", "POST", "/api/v1/lists/provider:acme/vip", map[string]any{"numbers": []string{"+12025550911"}, "note": "PSAP call-back"}, &ch)
	if ch.Changed != 1 || ch.Revision == 0 {
		t.Fatalf("change %+v", ch)
	}
	var rep struct {
		Added      int `json:"added"`
		ErrorCount int `json:"error_count"`
	}
	f.want(t, 200, "acme", "POST", "/api/v1/lists/import", "owner,list,number\nprovider:acme,vip,+12025550912\n", &rep)
	if rep.Added != 1 || rep.ErrorCount != 0 {
		t.Fatalf("import %+v", rep)
	}
	var pg struct {
		Items []struct{ Number, Note string }
		Total int
	}
	f.want(t, 200, "acme", "GET", "/api/v1/lists/provider:acme/vip", nil, &pg)
	if pg.Total != 3 || pg.Items[0].Number != "+12025550911" || pg.Items[0].Note != "PSAP call-back" {
		t.Fatalf("list %+v", pg)
	}
	if status, body, _ := f.do(t, "alice", "POST", "/api/v1/lists/provider:acme/vip", map[string]any{"numbers": []string{"+12025550913"}}); status != 403 && status != 404 {
		t.Fatalf("a subscriber changed its provider's VIP list: %d %s", status, body)
	}
	f.want(t, 200, "acme", "DELETE", "/api/v1/lists/provider:acme/vip/+12025550911", nil, &ch)
	if ch.Changed != 1 {
		t.Fatalf("remove %+v", ch)
	}
}
