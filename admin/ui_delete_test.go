package admin

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"callgate/store"
)

// TestWebDelete: a subscriber, a provider and a route are deleted from
// the web UI through a confirmation page (a GET that changes nothing)
// whose form posts with the CSRF token and the revision shown; the store
// authorises (a provider deletes its own subscribers only, a subscriber
// not even itself, only the platform owner providers and routes), refuses
// what is in use with its reason on the page, and audits the delete as
// the web user, as the API's DELETE.
func TestWebDelete(t *testing.T) {
	f := newFixture(t)
	webUsers(t, f)
	login := func(who string) *browser {
		b := newBrowser(t, f.srv.URL)
		b.login(who, "password-"+who)
		return b
	}
	alice, acme, op := login("alice"), login("acme"), login("operator")
	exists := func(name string) bool {
		_, err := f.st.GetSubscriber(store.Operator, name)
		return err == nil
	}
	audited := func(object, op, who string) {
		t.Helper()
		recs, err := f.st.SearchAudit(store.Operator, store.AuditQuery{Object: object, Limit: 1})
		if err != nil || len(recs) != 1 || recs[0].Op != op || recs[0].Via != "web" || recs[0].Principal != "user "+who {
			t.Errorf("audit of %s: %+v %v, want %s by user %s via web", object, recs, err, op, who)
		}
	}

	// A subscriber may not delete itself: no link, no page, no delete.
	if _, body := alice.get("/ui/s/alice"); strings.Contains(body, "/delete") {
		t.Errorf("alice's own page offers to delete her")
	}
	if st, _ := alice.get("/ui/s/alice/delete"); st != http.StatusForbidden {
		t.Errorf("alice's delete page for herself: %d, want 403", st)
	}
	if st, _, _ := alice.post("/ui/s/alice/delete", url.Values{"csrf": {alice.csrf}}); st != http.StatusForbidden || !exists("alice") {
		t.Errorf("alice deletes herself: %d, want 403 and alice kept", st)
	}
	// Another provider's subscriber is not found, nor deleted.
	if st, _ := acme.get("/ui/s/bob/delete"); st != http.StatusNotFound {
		t.Errorf("acme's delete page for bob: %d, want 404", st)
	}
	acme.get("/ui/subscribers")
	if st, body, _ := acme.post("/ui/s/bob/delete", url.Values{"csrf": {acme.csrf}}); st != http.StatusNotFound ||
		!exists("bob") || strings.Contains(body, "+1303") {
		t.Errorf("acme deletes globex's bob: %d, want 404 as its page (and the API), nothing of bob shown, bob kept:\n%s", st, body)
	}

	// acme deletes alice: the link, the page (nothing deleted by it), the form.
	if _, body := acme.get("/ui/s/alice"); !strings.Contains(body, `<a href="/ui/s/alice/delete" id="delete"`) {
		t.Fatalf("alice's page for her provider has no delete link:\n%s", body)
	}
	st, body := acme.get("/ui/s/alice/delete")
	sub, _ := f.st.GetSubscriber(store.Operator, "alice")
	rev := strconv.FormatInt(sub.Revision, 10)
	for _, w := range []string{`<h1>Delete subscriber alice?</h1>`, `number &#43;12025550100`, `Blocked list: 1 number(s)`,
		`<form method="post" action="/ui/s/alice/delete"`, `name="rev" value="` + rev + `"`, `<a href="/ui/s/alice" id="cancel-delete">`} {
		if st != http.StatusOK || !strings.Contains(body, w) {
			t.Fatalf("the confirmation page: %d, lacks %s:\n%s", st, w, body)
		}
	}
	if !exists("alice") {
		t.Fatal("opening the confirmation page deleted alice")
	}
	if st, _, _ := acme.post("/ui/s/alice/delete", url.Values{"rev": {rev}}); st != http.StatusForbidden || !exists("alice") {
		t.Errorf("without the CSRF token: %d, want 403 and alice kept", st)
	}
	// Changed meanwhile: not deleted, the page again as she now is.
	if _, err := f.st.SetPermissions(store.Operator, "alice", store.PermVIP); err != nil {
		t.Fatal(err)
	}
	st, body, _ = acme.post("/ui/s/alice/delete", url.Values{"rev": {rev}, "csrf": {acme.csrf}})
	sub, _ = f.st.GetSubscriber(store.Operator, "alice")
	if st != http.StatusPreconditionFailed || !exists("alice") || !strings.Contains(body, `Someone else changed this`) ||
		!strings.Contains(body, `name="rev" value="`+strconv.FormatInt(sub.Revision, 10)+`"`) {
		t.Fatalf("a delete of alice changed meanwhile: %d, want 412, kept, and the page with her new revision:\n%s", st, body)
	}
	st, _, loc := acme.post("/ui/s/alice/delete", url.Values{"rev": {strconv.FormatInt(sub.Revision, 10)}, "csrf": {acme.csrf}})
	if st != http.StatusSeeOther || !strings.HasPrefix(loc, "/ui/subscribers?ok=") || exists("alice") {
		t.Fatalf("acme deletes alice: %d %s, exists %v", st, loc, exists("alice"))
	}
	audited("subscriber/alice", "subscriber.delete", "acme")
	if _, body := acme.get(loc); !strings.Contains(body, "Subscriber alice deleted.") {
		t.Errorf("the subscribers page after the delete:\n%s", body)
	}

	// Providers: only the platform owner; one with subscribers is refused.
	if st, _ := acme.get("/ui/p/acme/delete"); st != http.StatusForbidden {
		t.Errorf("acme's delete page for itself: %d, want 403", st)
	}
	if st, _, _ := acme.post("/ui/p/acme/delete", url.Values{"csrf": {acme.csrf}}); st != http.StatusForbidden {
		t.Errorf("acme deletes itself: %d, want 403", st)
	}
	if _, body := op.get("/ui/p/globex"); !strings.Contains(body, `href="/ui/p/globex/delete"`) {
		t.Errorf("globex's page for the platform owner has no delete link")
	}
	st, body = op.get("/ui/p/globex/delete")
	if st != http.StatusOK || !strings.Contains(body, "1 subscriber(s) still belong to it") || !strings.Contains(body, "allocation &#43;13035550100") {
		t.Errorf("globex's confirmation page: %d:\n%s", st, body)
	}
	if st, body, _ := op.post("/ui/p/globex/delete", url.Values{"csrf": {op.csrf}}); st != http.StatusConflict || !strings.Contains(body, `id="error"`) ||
		!strings.Contains(body, "still belong to it") || !strings.Contains(body, `id="confirm-delete"`) {
		t.Errorf("deleting globex with bob: %d, want 409 and the page with the reason:\n%s", st, body)
	}
	if err := f.st.DeleteSubscriber(store.Operator, "bob"); err != nil {
		t.Fatal(err)
	}
	if err := f.st.DeleteEnterprise(store.Operator, "umbrella"); err != nil {
		t.Fatal(err)
	}
	if st, _, loc := op.post("/ui/p/globex/delete", url.Values{"csrf": {op.csrf}}); st != http.StatusSeeOther || !strings.HasPrefix(loc, "/ui/providers?ok=") {
		t.Fatalf("deleting globex: %d %s", st, loc)
	}
	if _, err := f.st.GetProvider(store.Operator, "globex"); err == nil {
		t.Fatal("globex is still there")
	}
	audited("provider/globex", "provider.delete", "operator")

	// Routes: only the platform owner; one in use is refused with who uses it.
	if _, err := f.st.SetRoute(store.Operator, store.RouteSpec{Name: "west", SIPURI: "sip:west.example"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.SetProviderRoute(store.Operator, "acme", "east"); err != nil {
		t.Fatal(err)
	}
	if st, _ := acme.get("/ui/routes/west/delete"); st != http.StatusForbidden {
		t.Errorf("acme's delete page for a route: %d, want 403", st)
	}
	if st, _, _ := acme.post("/ui/routes/west/delete", url.Values{"csrf": {acme.csrf}}); st != http.StatusForbidden {
		t.Errorf("acme deletes a route: %d, want 403", st)
	}
	if _, body := op.get("/ui/routes"); !strings.Contains(body, `href="/ui/routes/west/delete"`) {
		t.Errorf("the routes page has no delete link for west")
	}
	if st, body := op.get("/ui/routes/east/delete"); st != http.StatusOK || !strings.Contains(body, "provider acme uses it") {
		t.Errorf("east's confirmation page: %d:\n%s", st, body)
	}
	if st, body, _ := op.post("/ui/routes/east/delete", url.Values{"csrf": {op.csrf}}); st != http.StatusConflict || !strings.Contains(body, "provider acme uses it") {
		t.Errorf("deleting acme's route: %d, want 409 with the reason:\n%s", st, body)
	}
	if st, _ := op.get("/ui/routes/north/delete"); st != http.StatusNotFound {
		t.Errorf("an unknown route's page: %d, want 404", st)
	}
	if st, _, loc := op.post("/ui/routes/west/delete", url.Values{"csrf": {op.csrf}}); st != http.StatusSeeOther || !strings.HasPrefix(loc, "/ui/routes?ok=") {
		t.Fatalf("deleting west: %d %s", st, loc)
	}
	if rs, _ := f.st.Routes(); len(rs) != 1 || rs[0].Name != "east" {
		t.Errorf("routes after deleting west: %v", rs)
	}
	audited("route/west", "route.delete", "operator")
}
