package admin

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"callgate/store"
)

// TestWebProviderRoute: the platform owner points a provider at an
// egress route, and back at the default, from the provider's page (the
// providers page shows each provider's route; before, no page could set
// it). A provider sees no such form and may not post it.
func TestWebProviderRoute(t *testing.T) {
	f := newFixture(t)
	webUsers(t, f)
	o := newBrowser(t, f.srv.URL)
	o.login("operator", "password-operator")
	st, body := o.get("/ui/p/acme")
	if st != http.StatusOK || !strings.Contains(body, `<label for="route">`) || !strings.Contains(body, `<option value="east">east</option>`) {
		t.Fatalf("acme's page for the platform owner: %d, want the route form:\n%s", st, body)
	}
	for _, route := range []string{"east", ""} {
		if st, body, _ := o.post("/ui/p/acme", url.Values{"action": {"route"}, "route": {route}, "csrf": {o.csrf}}); st != http.StatusSeeOther {
			t.Fatalf("route %q: %d %s", route, st, body)
		}
		if p, _ := f.st.GetProvider(store.Operator, "acme"); p.Route != route {
			t.Errorf("acme's route %q, want %q", p.Route, route)
		}
		if route != "" {
			if _, body := o.get("/ui/p/acme"); !strings.Contains(body, `<option value="east" selected>`) {
				t.Errorf("the route in effect is not the one selected:\n%s", body)
			}
		}
	}
	if st, _, _ := o.post("/ui/p/acme", url.Values{"action": {"route"}, "route": {"west"}, "csrf": {o.csrf}}); st != http.StatusNotFound {
		t.Errorf("an unknown route: %d, want 404", st)
	}
	p := newBrowser(t, f.srv.URL)
	p.login("acme", "password-acme")
	if _, body := p.get("/ui/p/acme"); strings.Contains(body, `name="route"`) {
		t.Errorf("a provider is offered the route form")
	}
	if st, _, _ := p.post("/ui/p/acme", url.Values{"action": {"route"}, "route": {"east"}, "csrf": {p.csrf}}); st != http.StatusForbidden {
		t.Errorf("a provider setting its route: %d, want 403", st)
	}
}
