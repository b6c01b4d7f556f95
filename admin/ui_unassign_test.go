package admin

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"callgate/store"
)

// TestWebUnassignNumber: a provider takes a number back from its
// subscriber on the subscriber's page (before, numbers could be assigned
// there but only the API or CLI could take one back); the subscriber is
// offered no such button.
func TestWebUnassignNumber(t *testing.T) {
	f := newFixture(t)
	webUsers(t, f)
	if _, err := f.st.AssignNumbers(store.Operator, "alice", "+12025550101"); err != nil {
		t.Fatal(err)
	}
	a := newBrowser(t, f.srv.URL)
	a.login("alice", "password-alice")
	if _, body := a.get("/ui/s/alice"); strings.Contains(body, `value="unassign"`) {
		t.Errorf("the subscriber is offered to unassign its numbers")
	}
	p := newBrowser(t, f.srv.URL)
	p.login("acme", "password-acme")
	if _, body := p.get("/ui/s/alice"); !strings.Contains(body, `aria-label="Unassign &#43;12025550101"`) {
		t.Fatalf("alice's page for acme: no unassign button:\n%s", body)
	}
	if st, body, _ := p.post("/ui/s/alice/numbers", url.Values{"action": {"unassign"}, "number": {"+12025550101"}, "csrf": {p.csrf}}); st != http.StatusSeeOther {
		t.Fatalf("unassign: %d %s", st, body)
	}
	if s, _ := f.st.GetSubscriber(store.Operator, "alice"); len(s.Numbers) != 1 || s.Numbers[0].String() != "+12025550100" {
		t.Errorf("alice's numbers after the unassign: %v", s.Numbers)
	}
}
