package admin

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"callgate/store"
)

var revRE = regexp.MustCompile(`name="rev" value="([0-9]+)"`)

// formRev is the revision the last page's first form carries.
func formRev(t *testing.T, body string) string {
	t.Helper()
	m := revRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no revision in the form")
	}
	return m[1]
}

// TestWebTreatments: the provider opens one setting to its subscriber; the
// subscriber changes that one and cannot change the others (disabled in
// the page, refused by the store when forced); a form loaded before
// someone else's change is refused, not applied over it.
func TestWebTreatments(t *testing.T) {
	f := newFixture(t)
	webUsers(t, f)
	acme := newBrowser(t, f.srv.URL)
	acme.login("acme", "password-acme")
	st, body := acme.get("/ui/s/alice")
	if st != 200 || !strings.Contains(body, `id="permissions"`) {
		t.Fatalf("alice's page for her provider: %d", st)
	}
	st, _, _ = acme.post("/ui/s/alice/permissions", url.Values{"csrf": {acme.csrf}, "rev": {formRev(t, body)}, "perm": {"unknown", "blocked"}})
	if st != http.StatusSeeOther {
		t.Fatalf("permissions: %d", st)
	}
	if a, _ := f.st.GetSubscriber(store.Operator, "alice"); a.Permissions != store.PermUnknown|store.PermBlocked {
		t.Fatalf("alice's permissions: %v", a.Permissions)
	}
	_, body = acme.get("/ui/s/alice")
	for _, p := range []string{"unknown", "blocked"} {
		if !regexp.MustCompile(`value="` + p + `" checked`).MatchString(body) {
			t.Errorf("permission %s not shown checked", p)
		}
	}

	alice := newBrowser(t, f.srv.URL)
	alice.login("alice", "password-alice")
	_, body = alice.get("/ui/s/alice")
	if !regexp.MustCompile(`<select id="set-unknown" name="unknown" aria-describedby="eff-unknown">`).MatchString(body) ||
		!regexp.MustCompile(`<select id="set-anonymous" name="anonymous" aria-describedby="eff-anonymous" disabled>`).MatchString(body) ||
		!strings.Contains(body, `<label for="set-anonymous">Callers who hide their number <span class="locked">(set by your provider)</span>`) {
		t.Fatalf("alice's treatments form:\n%s", body)
	}
	rev := formRev(t, body)
	st, _, _ = alice.post("/ui/s/alice/treatments", url.Values{"csrf": {alice.csrf}, "rev": {rev}, "unknown": {"block"}})
	if st != http.StatusSeeOther {
		t.Fatalf("alice sets unknown: %d", st)
	}
	a, _ := f.st.GetSubscriber(store.Operator, "alice")
	if a.Settings.Unknown != store.TreatBlock {
		t.Fatalf("alice's settings: %+v", a.Settings)
	}
	// A setting her provider keeps: refused by the store, nothing changed
	// (not even the setting she may change, sent with it).
	_, body = alice.get("/ui/s/alice")
	if !strings.Contains(body, `In effect: <strong>block (block)</strong> <span class="source">(your own choice)</span>`) ||
		!strings.Contains(body, `<span class="source">(the platform&#39;s default)</span>`) {
		t.Fatalf("alice's page does not say where her settings come from:\n%s", body)
	}
	st, out, _ := alice.post("/ui/s/alice/treatments", url.Values{"csrf": {alice.csrf}, "rev": {formRev(t, body)},
		"unknown": {"allow"}, "anonymous": {"block"}})
	if st != http.StatusForbidden || !strings.Contains(out, "locked by the service provider") {
		t.Fatalf("a locked setting forced: %d %s", st, out)
	}
	if b, _ := f.st.GetSubscriber(store.Operator, "alice"); b.Settings != a.Settings {
		t.Fatalf("a refused form changed the settings: %+v", b.Settings)
	}
	// A form from before another change: refused (412), the change stands.
	st, out, _ = alice.post("/ui/s/alice/treatments", url.Values{"csrf": {alice.csrf}, "rev": {rev}, "unknown": {"screen"}})
	if st != http.StatusPreconditionFailed {
		t.Fatalf("a stale form: %d %s", st, out)
	}
	if b, _ := f.st.GetSubscriber(store.Operator, "alice"); b.Settings.Unknown != store.TreatBlock {
		t.Fatalf("a stale form changed the settings: %+v", b.Settings)
	}
	// Her provider sets the anonymous-caller treatment for her: it applies
	// though she may not change it, and her page says who set it.
	_, body = acme.get("/ui/s/alice")
	st, out, _ = acme.post("/ui/s/alice/treatments", url.Values{"csrf": {acme.csrf}, "rev": {formRev(t, body)}, "anonymous": {"block"}})
	if st != http.StatusSeeOther {
		t.Fatalf("the provider sets anonymous: %d %s", st, out)
	}
	if v, _ := f.st.EffectiveSettings(store.Operator, "alice"); v.Anonymous != store.TreatBlock {
		t.Fatalf("the provider's setting for alice is not in effect: %+v", v)
	}
	_, body = alice.get("/ui/s/alice")
	if !strings.Contains(body, `<span class="source">(set for you by your provider)</span>`) {
		t.Fatalf("alice's page does not say her provider set it:\n%s", body)
	}
}

// TestWebProviderDefaults: the provider's defaults and default
// permissions, every setting of the form; a bad value names the setting.
func TestWebProviderDefaults(t *testing.T) {
	f := newFixture(t)
	webUsers(t, f)
	b := newBrowser(t, f.srv.URL)
	b.login("acme", "password-acme")
	_, body := b.get("/ui/p/acme")
	rev := formRev(t, body)
	st, _, _ := b.post("/ui/p/acme", url.Values{"csrf": {b.csrf}, "rev": {rev}, "action": {"defaults"}, "unknown": {"challenge"},
		"anonymous": {"unset"}, "reject_with_media": {"on"}, "voicemail": {"303-555-0199"}, "announcement": {"7"}})
	if st != http.StatusSeeOther {
		t.Fatalf("defaults: %d", st)
	}
	p, _ := f.st.GetProvider(store.Operator, "acme")
	want := store.Settings{Unknown: store.TreatChallenge, RejectWithMedia: store.ToggleOn, Voicemail: "+13035550199", Announcement: 7}
	if p.Defaults != want {
		t.Fatalf("defaults %+v, want %+v", p.Defaults, want)
	}
	if v, _ := f.st.EffectiveSettings(store.Operator, "alice"); v.Unknown != store.TreatChallenge || !v.RejectWithMedia || v.Announcement != 7 {
		t.Fatalf("alice's effective settings: %+v", v)
	}
	_, body = b.get("/ui/p/acme")
	st, out, _ := b.post("/ui/p/acme", url.Values{"csrf": {b.csrf}, "rev": {formRev(t, body)}, "action": {"defaults"}, "announcement": {"seven"}})
	if st != http.StatusUnprocessableEntity || !strings.Contains(out, "announcement") {
		t.Fatalf("a bad announcement: %d %s", st, out)
	}
	st, _, _ = b.post("/ui/p/acme", url.Values{"csrf": {b.csrf}, "rev": {formRev(t, body)}, "action": {"permissions"}, "perm": {"vip", "pin"}})
	if p, _ := f.st.GetProvider(store.Operator, "acme"); st != http.StatusSeeOther || p.DefaultPermissions != store.PermVIP|store.PermPIN {
		t.Fatalf("default permissions: %d %v", st, p.DefaultPermissions)
	}
	_, body = b.get("/ui/p/acme")
	if !strings.Contains(body, `value="vip" checked`) || strings.Contains(body, `value="blocked" checked`) {
		t.Error("the default permissions are not shown as they are")
	}
}
