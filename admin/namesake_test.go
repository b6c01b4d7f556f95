package admin

import (
	"net/http"
	"testing"

	"callgate/store"
)

// TestDeletedTenantsCredentials: a token and a web user of a subscriber
// die with it. When another provider later creates a subscriber of the
// same name (names are the tenants' account references and get reused),
// neither the old token, nor a login of the old web user, nor a browser
// session still open from before, reaches the new subscriber's lists.
func TestDeletedTenantsCredentials(t *testing.T) {
	f := newFixture(t)
	var tv tokenView
	f.want(t, 201, "acme", "POST", "/api/v1/tokens", map[string]any{"role": "subscriber", "name": "alice", "label": "kept"}, &tv)
	f.tokens["kept"] = tv.Token
	f.want(t, 201, "acme", "POST", "/api/v1/users", map[string]any{"name": "alice-web", "role": "subscriber", "tenant": "alice", "password": "password-alice"}, nil)
	b := newBrowser(t, f.srv.URL)
	if st, _, _ := b.login("alice-web", "password-alice"); st != http.StatusSeeOther {
		t.Fatalf("login: %d", st)
	}
	if st, _ := b.get("/ui/s/alice/lists/blocked"); st != 200 {
		t.Fatalf("alice's list before the deletion: %d", st)
	}

	f.want(t, 204, "acme", "DELETE", "/api/v1/subscribers/alice", nil, nil)
	f.want(t, 201, "globex", "POST", "/api/v1/subscribers", map[string]any{"name": "alice", "provider": "globex", "numbers": []string{"+13035550170"}}, nil)
	if _, err := f.st.AddToList(store.Operator, "alice", store.ListVIP, []string{"+14155550170"}, "globex's alice's mother"); err != nil {
		t.Fatal(err)
	}

	if st, body, _ := f.do(t, "kept", "GET", "/api/v1/lists/alice/vip", nil); st != http.StatusUnauthorized {
		t.Errorf("the deleted alice's token on the new alice's VIP list: %d, want 401: %s", st, body)
	}
	if st, body := b.get("/ui/s/alice/lists/vip"); st == 200 {
		t.Errorf("a session of the deleted alice's web user on the new alice's VIP list: %d: %s", st, body)
	}
	b2 := newBrowser(t, f.srv.URL)
	if st, _, loc := b2.login("alice-web", "password-alice"); st != http.StatusUnauthorized {
		t.Errorf("login of the deleted alice's web user: %d (to %q), want 401", st, loc)
	}
	// globex sees none of acme's leftover credentials as its own.
	var toks page[tokenView]
	f.want(t, 200, "globex", "GET", "/api/v1/tokens", nil, &toks)
	for _, x := range toks.Items {
		if x.ID == tv.ID {
			t.Errorf("globex lists acme's token %s of the deleted alice", x.ID)
		}
	}
	var users page[userView]
	f.want(t, 200, "globex", "GET", "/api/v1/users", nil, &users)
	for _, u := range users.Items {
		if u.Name == "alice-web" {
			t.Error("globex lists acme's web user of the deleted alice")
		}
	}
	// A token made for the new alice works.
	f.want(t, 201, "globex", "POST", "/api/v1/tokens", map[string]any{"role": "subscriber", "name": "alice"}, &tv)
	f.tokens["new"] = tv.Token
	f.want(t, 200, "new", "GET", "/api/v1/lists/alice/vip", nil, nil)
}

// TestDeletedWebUserSessionEnds: deleting a web user ends the sessions it
// has open; it does not wait for them to go idle.
func TestDeletedWebUserSessionEnds(t *testing.T) {
	f := newFixture(t)
	webUsers(t, f)
	b := newBrowser(t, f.srv.URL)
	if st, _, _ := b.login("acme", "password-acme"); st != http.StatusSeeOther {
		t.Fatalf("login: %d", st)
	}
	if st, _ := b.get("/ui/s/alice"); st != 200 {
		t.Fatalf("before the deletion: %d", st)
	}
	f.want(t, 204, "operator", "DELETE", "/api/v1/users/acme", nil, nil)
	if st, _ := b.get("/ui/s/alice"); st != http.StatusSeeOther {
		t.Errorf("a page after the user was deleted: %d, want a redirect to the login", st)
	}
}
