package admin

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"callgate/store"
)

// lockPIN locks subscriber's PIN (one wrong PIN locks it for an hour).
func lockPIN(t *testing.T, f *fixture, subscriber string) {
	t.Helper()
	s, err := f.st.GetSubscriber(store.Operator, subscriber)
	if err != nil {
		t.Fatal(err)
	}
	if _, locked, err := f.st.PINFailed(s.ID, store.PINFailure{Prompt: store.PINPromptIVR, Actor: store.Operator.By("ivr test", "ivr"),
		Policy: store.PINLockPolicy{MaxFailures: 1, Window: time.Hour, Period: time.Hour}}); err != nil || !locked {
		t.Fatalf("lock %s's PIN: %v %v", subscriber, locked, err)
	}
}

func pinLocked(t *testing.T, f *fixture, subscriber string) bool {
	t.Helper()
	l, err := f.st.PINLockoutOf(store.Operator, subscriber)
	if err != nil {
		t.Fatal(err)
	}
	return l.Locked
}

// TestWebPINLockouts: the PIN lockouts page is scoped as the API scopes
// GET /api/v1/pin-lockouts (a provider sees only its subscribers, the
// platform owner all, a subscriber is refused and sees its own lock on its
// page, read-only); the Unlock button clears through the store, audited as
// the web user; another provider's subscriber is not found (404) and a
// subscriber may not unlock (403), as on the API; a POST whose CSRF token
// is missing or changed is refused and changes nothing.
func TestWebPINLockouts(t *testing.T) {
	f := newFixture(t)
	webUsers(t, f)
	lockPIN(t, f, "alice")
	lockPIN(t, f, "bob")
	login := func(who string) *browser {
		b := newBrowser(t, f.srv.URL)
		if st, _, _ := b.login(who, "password-"+who); st != http.StatusSeeOther {
			t.Fatalf("login %s: %d", who, st)
		}
		return b
	}
	unlockForm := func(sub string) string { return `action="/ui/pin-lockouts/` + sub + `/unlock"` }

	// What each sees.
	for who, want := range map[string][]string{"operator": {"alice", "bob"}, "acme": {"alice"}, "globex": {"bob"}} {
		b := login(who)
		st, body := b.get("/ui/pin-lockouts")
		if st != http.StatusOK || !strings.Contains(body, `href="/ui/pin-lockouts"`) {
			t.Fatalf("%s: the PIN lockouts page: %d (or no link in the navigation)\n%s", who, st, body)
		}
		for _, sub := range []string{"alice", "bob"} {
			shown := strings.Contains(body, `id="lock-`+sub+`"`) && strings.Contains(body, unlockForm(sub))
			leaked := strings.Contains(body, sub)
			if wanted := strings.Contains(strings.Join(want, " "), sub); wanted != shown || !wanted && leaked {
				t.Errorf("%s's page: %s shown %v, mentioned %v; want %v", who, sub, shown, leaked, wanted)
			}
		}
		if who == "acme" && (strings.Contains(body, "globex") || !strings.Contains(body, `class="state">Locked<`)) {
			t.Errorf("acme's page:\n%s", body)
		}
	}

	// A subscriber: its own lock, read-only, on its page; the list page
	// and the unlock are refused.
	alice := login("alice")
	st, body := alice.get("/ui/s/alice")
	if st != http.StatusOK || !strings.Contains(body, `id="pin-lock"`) || !strings.Contains(body, "Locked until") ||
		strings.Contains(body, `id="unlock-pin"`) || strings.Contains(body, unlockForm("alice")) || strings.Contains(body, `href="/ui/pin-lockouts"`) {
		t.Fatalf("alice's page: %d\n%s", st, body)
	}
	if st, _ := alice.get("/ui/pin-lockouts"); st != http.StatusForbidden {
		t.Errorf("alice's GET of the PIN lockouts page: %d, want 403", st)
	}
	alice.get("/ui/s/alice")
	if st, _, _ := alice.post("/ui/pin-lockouts/alice/unlock", url.Values{"csrf": {alice.csrf}}); st != http.StatusForbidden {
		t.Errorf("alice unlocks her own PIN: %d, want 403 (as the API)", st)
	}

	// Another provider's subscriber: not found, by name or number,
	// nothing cleared.
	globex := login("globex")
	globex.get("/ui/pin-lockouts")
	for _, ref := range []string{"alice", "+12025550100"} {
		if st, body, _ := globex.post("/ui/pin-lockouts/"+url.PathEscape(ref)+"/unlock", url.Values{"csrf": {globex.csrf}}); st != http.StatusNotFound || strings.Contains(body, "acme") {
			t.Errorf("globex unlocks %s: %d, want 404 (as the API)\n%s", ref, st, body)
		}
	}

	// CSRF: missing or changed, refused, nothing cleared.
	acme := login("acme")
	acme.get("/ui/pin-lockouts")
	for _, form := range []url.Values{{}, {"csrf": {""}}, {"csrf": {"forged"}}, {"csrf": {acme.csrf + "x"}}, {"csrf": {globex.csrf}}} {
		if st, _, _ := acme.post("/ui/pin-lockouts/alice/unlock", form); st != http.StatusForbidden {
			t.Errorf("unlock with csrf %v: %d, want 403", form, st)
		}
	}
	if !pinLocked(t, f, "alice") || !pinLocked(t, f, "bob") {
		t.Fatal("a refused unlock cleared a lock")
	}
	recs, err := f.st.SearchAudit(store.Operator, store.AuditQuery{Object: "/pin", Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.Op == "subscriber.pin.unlock" {
			t.Fatalf("a refused unlock was audited: %+v", r)
		}
	}

	// The provider's unlock: cleared, audited as the web user, the page
	// says so and lists alice as not locked.
	st, _, loc := acme.post("/ui/pin-lockouts/alice/unlock", url.Values{"csrf": {acme.csrf}})
	if st != http.StatusSeeOther || !strings.HasPrefix(loc, "/ui/pin-lockouts?ok=") {
		t.Fatalf("acme unlocks alice: %d %s", st, loc)
	}
	if pinLocked(t, f, "alice") || !pinLocked(t, f, "bob") {
		t.Fatal("after acme's unlock: alice still locked, or bob unlocked")
	}
	recs, err = f.st.SearchAudit(store.Operator, store.AuditQuery{Object: "subscriber/alice/pin", Limit: 1})
	if err != nil || len(recs) != 1 || recs[0].Op != "subscriber.pin.unlock" || recs[0].Via != "web" || recs[0].Principal != "user acme" {
		t.Fatalf("audit %+v, %v: want the unlock by user acme via web", recs, err)
	}
	if _, body := acme.get(loc); !strings.Contains(body, "Lifted the PIN lock of alice") || strings.Contains(body, unlockForm("alice")) {
		t.Errorf("the page after the unlock:\n%s", body)
	}
	if _, body := alice.get("/ui/s/alice"); !strings.Contains(body, "Not locked") {
		t.Errorf("alice's page after the unlock:\n%s", body)
	}

	// From the subscriber's page: the button there goes back to it.
	_, body = globex.get("/ui/s/bob")
	if !strings.Contains(body, `id="unlock-pin"`) {
		t.Fatalf("bob's page for his provider has no Unlock button:\n%s", body)
	}
	if st, _, loc := globex.post("/ui/pin-lockouts/bob/unlock", url.Values{"csrf": {globex.csrf}, "from": {"subscriber"}}); st != http.StatusSeeOther ||
		!strings.HasPrefix(loc, "/ui/s/bob?ok=") || pinLocked(t, f, "bob") {
		t.Fatalf("globex unlocks bob from his page: %d %s", st, loc)
	}
}
