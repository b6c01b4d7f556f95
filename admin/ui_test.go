package admin

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"callgate/store"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// webUsers creates a web user for every principal of the fixture
// (password "password-"+name).
func webUsers(t *testing.T, f *fixture) {
	t.Helper()
	for name, a := range map[string]store.Actor{"operator": store.Operator, "acme": store.ProviderActor("acme"),
		"globex": store.ProviderActor("globex"), "alice": store.SubscriberActor("alice"), "bob": store.SubscriberActor("bob")} {
		if _, err := f.st.CreateWebUser(store.Operator, a, name, "password-"+name); err != nil {
			t.Fatal(err)
		}
	}
}

// browser is an HTTP client with cookies that does not follow redirects.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
	csrf string
}

func newBrowser(t *testing.T, base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: base, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (b *browser) get(path string) (int, string) {
	b.t.Helper()
	resp, err := b.c.Get(b.base + path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if m := csrfRE.FindSubmatch(body); m != nil {
		b.csrf = string(m[1])
	}
	return resp.StatusCode, string(body)
}

func (b *browser) post(path string, form url.Values) (int, string, string) {
	b.t.Helper()
	resp, err := b.c.PostForm(b.base+path, form)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Header.Get("Location")
}

func (b *browser) login(name, password string) (int, string, string) {
	b.t.Helper()
	b.get("/ui/login")
	return b.post("/ui/login", url.Values{"name": {name}, "password": {password}, "csrf": {b.csrf}, "next": {"/ui/"}})
}

// TestWebSessions: a login sets a HttpOnly, SameSite=Strict cookie; a POST
// without the session's CSRF token is refused and changes nothing; an idle
// session ends; logout ends it.
func TestWebSessions(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	f := newFixture(t, WithClock(clock.now))
	webUsers(t, f)
	b := newBrowser(t, f.srv.URL)
	if st, _ := b.get("/ui/s/alice"); st != http.StatusSeeOther {
		t.Fatalf("without a session: %d, want a redirect to the login", st)
	}
	b.get("/ui/login")
	resp, err := b.c.PostForm(f.srv.URL+"/ui/login", url.Values{"name": {"alice"}, "password": {"password-alice"}, "csrf": {b.csrf}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	ck := resp.Header.Get("Set-Cookie")
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(ck, sessionCookie+"=") || !strings.Contains(ck, "HttpOnly") ||
		!strings.Contains(ck, "SameSite=Strict") || !strings.Contains(ck, "Path=/ui/") {
		t.Fatalf("login: %d, cookie %q", resp.StatusCode, ck)
	}
	if st, body := b.get("/ui/s/alice/lists/blocked"); st != 200 || !strings.Contains(body, "19005550100") {
		t.Fatalf("alice's Blocked list: %d %s", st, body)
	}
	// CSRF: without the token, and with another value, refused.
	for _, tok := range []string{"", "forged"} {
		st, _, _ := b.post("/ui/s/alice/lists/blocked", url.Values{"action": {"add"}, "numbers": {"+13125550101"}, "csrf": {tok}})
		if st != http.StatusForbidden {
			t.Errorf("POST with csrf %q: %d, want 403", tok, st)
		}
	}
	if p, _ := f.st.ListEntries(store.Operator, "alice", store.ListBlocked, 0, 10); p.Total != 1 {
		t.Fatalf("a forged POST changed the list: %+v", p)
	}
	st, _, loc := b.post("/ui/s/alice/lists/blocked", url.Values{"action": {"add"}, "numbers": {"+13125550101"}, "csrf": {b.csrf}})
	if st != http.StatusSeeOther || !strings.Contains(loc, "ok=") {
		t.Fatalf("POST with the token: %d %s", st, loc)
	}
	// The change is audited as the web user.
	recs, _ := f.st.SearchAudit(store.Operator, store.AuditQuery{Limit: 1})
	if len(recs) != 1 || recs[0].Principal != "user alice" || recs[0].Via != "web" {
		t.Errorf("audit of the web change: %+v", recs)
	}
	// Idle timeout: used within it, the session lives; idle past it, it
	// ends.
	clock.add(14 * time.Minute)
	if st, _ := b.get("/ui/s/alice"); st != 200 {
		t.Fatalf("after 14 idle minutes: %d", st)
	}
	clock.add(15*time.Minute + time.Second)
	if st, _ := b.get("/ui/s/alice"); st != http.StatusSeeOther {
		t.Fatalf("after 15 idle minutes: %d, want the login", st)
	}
	if st, _, _ := b.post("/ui/s/alice/lists/blocked", url.Values{"action": {"add"}, "numbers": {"+13125550102"}, "csrf": {b.csrf}}); st != http.StatusUnauthorized {
		t.Errorf("POST on an expired session: %d", st)
	}
	// Logout.
	b.login("alice", "password-alice")
	b.get("/ui/s/alice")
	b.post("/ui/logout", url.Values{"csrf": {b.csrf}})
	if st, _ := b.get("/ui/s/alice"); st != http.StatusSeeOther {
		t.Errorf("after logout: %d", st)
	}
}

// TestWebLoginLimits: wrong passwords lock the user (store-wide), a flood
// of attempts from one address is slowed down, and a login form without
// its token is refused.
func TestWebLoginLimits(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	f := newFixture(t, WithClock(clock.now))
	webUsers(t, f)
	b := newBrowser(t, f.srv.URL)
	if st, _, _ := b.post("/ui/login", url.Values{"name": {"alice"}, "password": {"password-alice"}}); st != http.StatusForbidden {
		t.Errorf("login without the form's token: %d", st)
	}
	for i := range store.MaxFailedLogins {
		if st, body, _ := b.login("bob", "wrong-password"); st != http.StatusUnauthorized && i < store.MaxFailedLogins-1 {
			t.Fatalf("wrong password %d: %d %s", i, st, body)
		}
	}
	if st, body, _ := b.login("bob", "password-bob"); st != http.StatusTooManyRequests || !strings.Contains(body, "locked") {
		t.Fatalf("after %d failures the right password: %d, want locked", store.MaxFailedLogins, st)
	}
	// The rate limit: the burst is used up (the attempts above count).
	var st int
	for range 10 {
		st, _, _ = b.login("alice", "password-alice")
		if st == http.StatusTooManyRequests {
			break
		}
	}
	if st != http.StatusTooManyRequests {
		t.Fatalf("no rate limit after a burst of logins: %d", st)
	}
	clock.add(time.Minute)
	if st, _, _ := b.login("alice", "password-alice"); st != http.StatusSeeOther {
		t.Errorf("a minute later: %d", st)
	}
}

// TestWebIsolation: through the web UI, every page of another tenant is
// refused (403/404) and shows none of its data; changes are refused too.
func TestWebIsolation(t *testing.T) {
	f := newFixture(t)
	webUsers(t, f)
	pages := []string{"/ui/s/bob", "/ui/s/bob/lists/blocked", "/ui/s/bob/lists/vip", "/ui/s/bob/calls", "/ui/p/globex",
		"/ui/subscribers?provider=globex", "/ui/providers", "/ui/routes", "/ui/health"}
	posts := map[string]url.Values{
		"/ui/s/bob/lists/blocked": {"action": {"add"}, "numbers": {"+13125550199"}},
		"/ui/s/bob/pin":           {"pin": {"1234"}, "pin2": {"1234"}},
		"/ui/s/bob/treatments":    {"unknown": {"block"}},
		"/ui/s/bob/numbers":       {"numbers": {"+13035550170"}},
		"/ui/p/globex":            {"action": {"defaults"}, "unknown": {"block"}},
		"/ui/providers":           {"name": {"evil"}},
		"/ui/routes":              {"name": {"evil"}, "sip_uri": {"sip:evil.example"}},
	}
	refused, total := 0, 0
	for _, who := range []string{"acme", "alice"} {
		b := newBrowser(t, f.srv.URL)
		if st, _, _ := b.login(who, "password-"+who); st != http.StatusSeeOther {
			t.Fatalf("login %s: %d", who, st)
		}
		b.get("/ui/")
		for _, p := range pages {
			total++
			st, body := b.get(p)
			if st == http.StatusSeeOther && who == "acme" && p == "/ui/providers" {
				refused++ // a provider is sent to its own page
				continue
			}
			if (st == http.StatusForbidden || st == http.StatusNotFound) && !strings.Contains(body, "19005550100") && !strings.Contains(body, "sip:b2bua") &&
				(!strings.Contains(body, "globex") || strings.Contains(p, "globex")) {
				refused++
			} else if !(who == "acme" && p == "/ui/subscribers?provider=globex" && st == 200 && !strings.Contains(body, "bob")) {
				t.Errorf("%s GET %s: %d", who, p, st)
			} else {
				refused++ // a provider's subscriber page lists only its own
			}
		}
		for p, form := range posts {
			total++
			form.Set("csrf", b.csrf)
			st, _, _ := b.post(p, form)
			if st == http.StatusForbidden || st == http.StatusNotFound {
				refused++
			} else {
				t.Errorf("%s POST %s: %d", who, p, st)
			}
		}
	}
	if refused != total {
		t.Errorf("refused %d of %d", refused, total)
	}
	if p, _ := f.st.ListEntries(store.Operator, "bob", store.ListBlocked, 0, 10); p.Total != 1 {
		t.Errorf("bob's list changed: %+v", p)
	}
}
