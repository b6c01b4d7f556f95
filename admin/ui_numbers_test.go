package admin

import (
	"net/http"
	"net/url"
	"slices"
	"testing"

	"callgate/e164"
	"callgate/store"
)

// TestFormNumbers: numbers pasted as people find them are split into
// one string per number; a part that is one number is never cut.
func TestFormNumbers(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"+13125550100", []string{"+13125550100"}},
		{"+1 (312) 555-0100", []string{"+1 (312) 555-0100"}},
		{"+44 20 7946 0958, +1 312 555 0101", []string{"+44 20 7946 0958", "+1 312 555 0101"}},
		{"3125550100\r\n3125550101\r\n\r\n", []string{"3125550100", "3125550101"}},
		{"3125550100\t3125550101\t", []string{"3125550100", "3125550101"}},
		{"3125550100 3125550101", []string{"3125550100", "3125550101"}},
		{"+13125550100 +13125550101;+13125550102", []string{"+13125550100", "+13125550101", "+13125550102"}},
		{"+1\u00a0312\u00a0555\u20130100", []string{"+1 312 555-0100"}},
		{"call me 3125550100", []string{"call me 3125550100"}}, // bad: kept whole for the store to name
		{" , ;\n", nil},
	} {
		if got := formNumbers(c.in); !slices.Equal(got, c.want) {
			t.Errorf("formNumbers(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestWebNumberFormats: the forms that take numbers (a list's add, a
// new subscriber, assigning numbers) take them in the common written
// forms; before, the subscriber forms split "+1 (202) 555-0111" at its
// spaces and refused the pieces, and a row pasted from a spreadsheet
// (tabs) was one bad number on a list.
func TestWebNumberFormats(t *testing.T) {
	f := newFixture(t)
	webUsers(t, f)
	b := newBrowser(t, f.srv.URL)
	b.login("acme", "password-acme")
	b.get("/ui/subscribers")
	if st, body, _ := b.post("/ui/subscribers", url.Values{"name": {"carol"}, "numbers": {"+1 (202) 555-0111, 202.555.0112"}, "csrf": {b.csrf}}); st != http.StatusSeeOther {
		t.Fatalf("new subscriber with written numbers: %d %s", st, body)
	}
	if st, body, _ := b.post("/ui/s/carol/numbers", url.Values{"numbers": {"(202) 555-0113"}, "csrf": {b.csrf}}); st != http.StatusSeeOther {
		t.Fatalf("assign a written number: %d %s", st, body)
	}
	s, err := f.st.GetSubscriber(store.Operator, "carol")
	if err != nil {
		t.Fatal(err)
	}
	want := []e164.Number{e164.MustParse("+12025550111"), e164.MustParse("+12025550112"), e164.MustParse("+12025550113")}
	if !slices.Equal(s.Numbers, want) {
		t.Errorf("carol's numbers %v, want %v", s.Numbers, want)
	}
	if st, body, _ := b.post("/ui/s/carol/lists/blocked", url.Values{"action": {"add"}, "numbers": {"+1 312 555 0100\t3125550101\r\n+44 20 7946 0958"}, "csrf": {b.csrf}}); st != http.StatusSeeOther {
		t.Fatalf("paste of a spreadsheet row and a line: %d %s", st, body)
	}
	if p, _ := f.st.ListEntries(store.Operator, "carol", store.ListBlocked, 0, 10); p.Total != 3 {
		t.Errorf("carol's Blocked list: %+v, want 3 numbers", p)
	}
}
