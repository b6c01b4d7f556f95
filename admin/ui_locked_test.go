package admin

import (
	"net/http"
	"strings"
	"testing"

	"callgate/store"
)

// TestWebSubscriberSeesWhatIsLocked: a subscriber whose provider does
// not let it change a list or its PIN sees them, says so, and is offered
// no form that would only be refused (before: the add and remove forms
// were there and every use ended on a 403 page; the PIN was not shown).
func TestWebSubscriberSeesWhatIsLocked(t *testing.T) {
	f := newFixture(t)
	webUsers(t, f)
	if _, err := f.st.SetPermissions(store.Operator, "alice", store.PermVIP); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, f.srv.URL)
	b.login("alice", "password-alice")
	st, body := b.get("/ui/s/alice/lists/blocked")
	if st != http.StatusOK || !strings.Contains(body, `id="list-locked"`) || strings.Contains(body, `name="action"`) ||
		!strings.Contains(body, "19005550100") {
		t.Errorf("alice's Blocked list, locked: %d, want the list without forms and the lock said:\n%s", st, body)
	}
	st, body = b.get("/ui/s/alice/lists/vip")
	if st != http.StatusOK || strings.Contains(body, `id="list-locked"`) || !strings.Contains(body, `value="add"`) {
		t.Errorf("alice's VIP list, open to her: %d, want the add form:\n%s", st, body)
	}
	st, body = b.get("/ui/s/alice")
	if st != http.StatusOK || !strings.Contains(body, `id="pin-locked"`) || strings.Contains(body, `name="pin2"`) {
		t.Errorf("alice's page, PIN locked: %d, want the PIN shown as her provider's:\n%s", st, body)
	}
	// Her provider still gets the forms.
	p := newBrowser(t, f.srv.URL)
	p.login("acme", "password-acme")
	if _, body := p.get("/ui/s/alice/lists/blocked"); strings.Contains(body, `id="list-locked"`) || !strings.Contains(body, `value="remove"`) {
		t.Errorf("acme on alice's Blocked list: want the forms:\n%s", body)
	}
	if _, body := p.get("/ui/s/alice"); strings.Contains(body, `id="pin-locked"`) || !strings.Contains(body, `name="pin2"`) {
		t.Errorf("acme on alice's page: want the PIN form:\n%s", body)
	}
}
