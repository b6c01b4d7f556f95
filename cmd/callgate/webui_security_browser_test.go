package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"callgate/internal/demo"
)

// Browser tests of the web UI's defences and forms, each against its own
// daemon (the API's session and login settings differ): CSRF refused
// however the form comes (token changed, token left out, posted from
// another site), an idle session ending, login rate limit and lockout,
// and the treatment forms used with the keyboard on a phone-sized screen.

// webDaemon runs the demo with the API on (extra: more api: settings) and
// web users alice (subscriber), bob (subscriber) and telco (provider);
// seed, if given, writes more to the demo's store folder first.
type webDaemon struct {
	t    *testing.T
	r    *running
	base string
	cli  *cli
}

func startWebDaemon(t *testing.T, apiExtra string, seed ...func(dir string)) *webDaemon {
	t.Helper()
	dir := t.TempDir()
	(&cli{t: t, dir: dir}).ok("demo")
	for _, f := range seed {
		f(dir)
	}
	r := startDaemonWith(t, dir, `
admin: {listen: "127.0.0.1:0"}
api: {enabled: true, listen: "127.0.0.1:0"`+apiExtra+`}
shutdown_timeout: 5s
decision_log: {no_sync: true}
sip: {udp: "127.0.0.1:0", tcp: ""}
b2bua: {udp: "127.0.0.1:0", tcp: "", rtp_port_min: 0, rtp_port_max: 0}
scp: {enabled: false}
`, "")
	w := &webDaemon{t: t, r: r, cli: &cli{t: t}}
	for _, u := range [][3]string{{"alice", "subscriber", demo.Alice}, {"bob", "subscriber", demo.Bob}, {"telco", "provider", demo.Provider}} {
		w.cli.stdin = u[0] + "-password\n"
		w.cli.ok("user", "create", u[0], "--role", u[1], "--tenant", u[2], "--config", r.cliCfg)
	}
	w.cli.stdin = ""
	for _, tier := range r.d.Tiers() {
		if tier.Name() == "api" {
			w.base = strings.TrimSuffix(tier.Describe(), "/api/v1")
		}
	}
	if w.base == "" {
		t.Fatal("the api tier is not running")
	}
	return w
}

// blocked is the subscriber's Blocked list as the CLI shows it.
func (w *webDaemon) blocked(sub string) string {
	return w.cli.ok("list", "show", "--owner", sub, "--config", w.r.cliCfg)
}

// tab is one headless browser tab on a daemon.
type tab struct {
	t    *testing.T
	ctx  context.Context
	base string
}

func (w *webDaemon) browser() *tab { return &tab{t: w.t, ctx: headless(w.t), base: w.base} }

func (b *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatal(err)
	}
}

func (b *tab) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

func (b *tab) eval(js string) {
	b.t.Helper()
	if _, err := chromedp.Run(b.ctx, chromedp.Evaluate[any](js)); err != nil {
		b.t.Fatalf("%s: %v", js, err)
	}
}

// login fills the login form and submits it; then waits for wait.
func (b *tab) login(name, password, wait string) {
	b.t.Helper()
	b.do(chromedp.Navigate(b.base+"/ui/login"),
		chromedp.WaitVisible(chromedp.CSS(`#name`)))
	b.submitLogin(name, password, wait)
}

func (b *tab) submitLogin(name, password, wait string) {
	b.t.Helper()
	b.eval(`document.getElementById('name').value = ''`) // a refused login shows the name again
	b.do(chromedp.SendKeys(chromedp.CSS(`#name`), name), chromedp.SendKeys(chromedp.CSS(`#password`), password))
	// Until the answer has loaded: a refused login answers with the same
	// form, whose elements the next steps must not take for the old ones.
	if _, err := chromedp.RunResponse(b.ctx, chromedp.Click(chromedp.CSS(`#login`))); err != nil {
		b.t.Fatalf("log in as %s: %v", name, err)
	}
	b.do(chromedp.WaitVisible(chromedp.CSS(wait)))
}

// accessible checks the page in view: every control labelled, buttons
// named and big enough to tap, nothing wider than the phone's screen.
func (b *tab) accessible(what string) {
	b.t.Helper()
	bad, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](`(() => {
		const bad = [];
		for (const el of document.querySelectorAll('input:not([type=hidden]),select,textarea')) {
			if (!(el.labels && el.labels.length) && !el.getAttribute('aria-label')) bad.push('no label: ' + el.outerHTML.slice(0, 80));
		}
		for (const el of document.querySelectorAll('button')) {
			if (!el.textContent.trim() && !el.getAttribute('aria-label')) bad.push('unnamed button: ' + el.outerHTML.slice(0, 80));
			const h = el.getBoundingClientRect().height;
			if (el.offsetParent && h < 24) bad.push('button ' + el.textContent.trim() + ' only ' + h + 'px high');
		}
		if (document.documentElement.scrollWidth > window.innerWidth) bad.push('page ' + document.documentElement.scrollWidth + 'px wide on a ' + window.innerWidth + 'px screen');
		if (!document.documentElement.lang) bad.push('no lang');
		if (!document.querySelector('meta[name=viewport]')) bad.push('no viewport');
		return bad;
	})()`))
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	if len(bad) > 0 {
		b.t.Errorf("%s: %s", what, strings.Join(bad, "; "))
	}
}

// TestWebUICSRFInABrowser: a form whose CSRF token was changed or left
// out, and a form another site posts with the user's browser, are refused
// and change nothing; the session goes on.
func TestWebUICSRFInABrowser(t *testing.T) {
	w := startWebDaemon(t, "")
	b := w.browser()
	listPage := b.base + "/ui/s/" + demo.Alice + "/lists/blocked"
	before := w.blocked(demo.Alice)
	b.login("alice", "alice-password", `#set-unknown`)
	refused := func(how, number string) {
		t.Helper()
		b.do(chromedp.Click(chromedp.CSS(`#add`)),
			chromedp.WaitVisible(chromedp.Search(`//h1[contains(., 'Refused')]`)))
		if msg := b.text(`#error`); !strings.Contains(msg, "CSRF") || !strings.Contains(msg, "nothing was changed") {
			t.Errorf("%s: the page says %q", how, msg)
		}
		if now := w.blocked(demo.Alice); now != before || strings.Contains(now, number) {
			t.Fatalf("%s: the list changed:\n%s", how, now)
		}
	}
	// The token changed.
	b.do(chromedp.Navigate(listPage), chromedp.WaitVisible(chromedp.CSS(`#numbers`)),
		chromedp.SetAttributeValue(chromedp.CSS(`form.card input[name=csrf]`), "value", "forged-token"),
		chromedp.SendKeys(chromedp.CSS(`#numbers`), "+13125550171"))
	refused("a changed token", "+13125550171")
	// The token left out.
	b.do(chromedp.Navigate(listPage), chromedp.WaitVisible(chromedp.CSS(`#numbers`)))
	b.eval(`document.querySelector('form.card input[name=csrf]').remove()`)
	b.do(chromedp.SendKeys(chromedp.CSS(`#numbers`), "+13125550172"))
	refused("no token", "+13125550172")

	// Another site's page posts the form with alice's browser: the
	// session cookie (SameSite=Strict) is not sent, so the daemon sees no
	// session and changes nothing.
	evil := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) {
		rw.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(rw, `<!doctype html><html lang="en"><body onload="document.forms[0].submit()">
<form method="post" action="%s"><input type="hidden" name="action" value="add"><input type="hidden" name="numbers" value="+13125550173">
<input type="hidden" name="csrf" value="guessed"></form></body></html>`, listPage)
	}))
	defer evil.Close()
	b.do(chromedp.Navigate(strings.Replace(evil.URL, "127.0.0.1", "localhost", 1)),
		chromedp.WaitVisible(chromedp.CSS(`#login`)))
	if msg := b.text(`#error`); !strings.Contains(msg, "nothing was changed") {
		t.Errorf("the cross-site post: %q", msg)
	}
	if now := w.blocked(demo.Alice); now != before {
		t.Fatalf("a cross-site post changed the list:\n%s", now)
	}
	// Her own session is untouched: the real form works.
	b.do(chromedp.Navigate(listPage), chromedp.WaitVisible(chromedp.CSS(`#numbers`)),
		chromedp.SendKeys(chromedp.CSS(`#numbers`), "+13125550174"),
		chromedp.Click(chromedp.CSS(`#add`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)))
	if now := w.blocked(demo.Alice); !strings.Contains(now, "+13125550174") {
		t.Fatalf("the form with its token did not add:\n%s", now)
	}
}

// TestWebUISessionExpiryInABrowser: with api.session_idle 2s, a session
// left alone that long ends: a page asks for the login again, saying so,
// and brings the user back; a form sent after it changes nothing.
func TestWebUISessionExpiryInABrowser(t *testing.T) {
	const idle = 2 * time.Second
	w := startWebDaemon(t, ", session_idle: 2s")
	b := w.browser()
	page := b.base + "/ui/s/" + demo.Alice
	b.login("alice", "alice-password", `#set-unknown`)
	b.do(chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS(`#set-unknown`)))
	time.Sleep(idle + 100*time.Millisecond) // the idle time itself: the session's last use was the page above
	b.do(chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS(`#login`)))
	if msg := b.text(`#error`); !strings.Contains(msg, "session has ended") {
		t.Errorf("the login page after the idle time says %q", msg)
	}
	b.submitLogin("alice", "alice-password", `#set-unknown`) // back on her page
	before := w.blocked(demo.Alice)
	b.do(chromedp.Navigate(page+"/lists/blocked"), chromedp.WaitVisible(chromedp.CSS(`#numbers`)),
		chromedp.SendKeys(chromedp.CSS(`#numbers`), "+13125550181"))
	time.Sleep(idle + 100*time.Millisecond)
	b.do(chromedp.Click(chromedp.CSS(`#add`)), chromedp.WaitVisible(chromedp.CSS(`#login`)))
	if msg := b.text(`#error`); !strings.Contains(msg, "nothing was changed") {
		t.Errorf("the form after the idle time: %q", msg)
	}
	if now := w.blocked(demo.Alice); now != before {
		t.Fatalf("a form sent on an ended session changed the list:\n%s", now)
	}
	b.submitLogin("alice", "alice-password", `#numbers`) // back to the list
	b.do(chromedp.SendKeys(chromedp.CSS(`#numbers`), "+13125550181"),
		chromedp.Click(chromedp.CSS(`#add`)), chromedp.WaitVisible(chromedp.CSS(`.flash`)))
	if now := w.blocked(demo.Alice); !strings.Contains(now, "+13125550181") {
		t.Fatalf("after logging in again the form did not add:\n%s", now)
	}
}

// TestWebUILoginLimitsInABrowser: five wrong passwords lock the user (the
// right one is then refused too); and with api.login_burst 8 and a refill
// of one an hour, the ninth login from this address is refused whoever
// it is for.
func TestWebUILoginLimitsInABrowser(t *testing.T) {
	w := startWebDaemon(t, ", login_burst: 8, login_every: 1h")
	b := w.browser()
	b.login("alice", "alice-password", `#set-unknown`) // attempt 1
	b.do(chromedp.Click(chromedp.CSS(`.logout button`)), chromedp.WaitVisible(chromedp.CSS(`#login`)))
	for i := range 5 { // attempts 2-6; the fifth wrong one locks
		b.submitLogin("bob", "not-bobs-password", `#error`)
		want := "Wrong user name or password"
		if i == 4 {
			want = "locked"
		}
		if msg := b.text(`#error`); !strings.Contains(msg, want) {
			t.Fatalf("wrong password %d: %q, want %q", i+1, msg, want)
		}
	}
	b.submitLogin("bob", "bob-password", `#error`) // attempt 7
	if msg := b.text(`#error`); !strings.Contains(msg, "locked") {
		t.Fatalf("the right password after five wrong ones: %q", msg)
	}
	b.submitLogin("alice", "alice-password", `#set-unknown`) // attempt 8: another user is not locked
	b.do(chromedp.Click(chromedp.CSS(`.logout button`)), chromedp.WaitVisible(chromedp.CSS(`#login`)))
	b.submitLogin("alice", "alice-password", `#error`) // attempt 9
	if msg := b.text(`#error`); !strings.Contains(msg, "Too many login attempts from your address") {
		t.Fatalf("the ninth login: %q", msg)
	}
}

// TestWebUITreatmentsInABrowser: on a phone-sized screen, the provider
// lets alice change only the treatment of unknown callers; alice changes
// it with the keyboard alone; the settings she may not change are shown
// disabled, and forcing one is refused and changes nothing. Every page on
// the way has its controls labelled and fits the screen.
func TestWebUITreatmentsInABrowser(t *testing.T) {
	w := startWebDaemon(t, "")
	b := w.browser()
	b.login("telco", "telco-password", `#q`)
	b.accessible("subscribers")
	b.do(chromedp.Navigate(b.base+"/ui/p/"+demo.Provider), chromedp.WaitVisible(chromedp.CSS(`#save-defaults`)))
	b.accessible("provider")
	b.do(chromedp.Navigate(b.base+"/ui/s/"+demo.Alice), chromedp.WaitVisible(chromedp.CSS(`#save-permissions`)))
	b.accessible("alice as her provider")
	// Only "unknown" (and her lists) stay open to her.
	b.eval(`for (const box of document.querySelectorAll('#permissions input[name=perm]')) box.checked = ['unknown', 'vip', 'blocked'].includes(box.value)`)
	b.do(chromedp.Click(chromedp.CSS(`#save-permissions`)), chromedp.WaitVisible(chromedp.CSS(`.flash`)))
	b.do(chromedp.Click(chromedp.CSS(`.logout button`)), chromedp.WaitVisible(chromedp.CSS(`#login`)))
	b.accessible("login")

	b.submitLogin("alice", "alice-password", `#set-unknown`)
	b.accessible("alice's page")
	state, err := chromedp.Run(b.ctx, chromedp.Evaluate[map[string]bool](`Object.fromEntries(
		['unknown', 'anonymous', 'reject_with_media', 'voicemail', 'announcement'].map(f => [f, document.getElementById('set-' + f).disabled]))`))
	if err != nil || state["unknown"] || !state["anonymous"] || !state["reject_with_media"] || !state["voicemail"] || !state["announcement"] {
		t.Fatalf("disabled settings: %v %v", state, err)
	}
	if label := b.text(`label[for=set-anonymous]`); !strings.Contains(label, "set by your provider") {
		t.Errorf("the locked setting's label: %q", label)
	}
	// The keyboard alone: focus the setting, type to choose "block", Tab
	// to the button (the disabled settings are skipped), Enter.
	b.do(chromedp.Focus(chromedp.CSS(`#set-unknown`)), chromedp.KeyEvent("block"), chromedp.KeyEvent(kb.Tab))
	focused, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.activeElement.id`))
	if err != nil || focused != "save-treatments" {
		t.Fatalf("Tab from the setting reached %q (%v), want the save button", focused, err)
	}
	b.do(chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS(`.flash`)))
	if flash, eff := b.text(`.flash`), b.text(`#eff-unknown`); !strings.Contains(flash, "Treatments saved") || !strings.Contains(eff, "block") {
		t.Fatalf("after saving: flash %q, in effect %q", flash, eff)
	}
	effBefore := b.text(`#eff-anonymous`)
	// Forcing a locked setting (the control enabled by hand): refused.
	b.eval(`const s = document.getElementById('set-anonymous'); s.disabled = false; s.value = 'allow'`)
	b.do(chromedp.Click(chromedp.CSS(`#save-treatments`)), chromedp.WaitVisible(chromedp.CSS(`#error`)))
	if msg := b.text(`#error`); !strings.Contains(msg, "locked by the service provider") {
		t.Fatalf("a forced locked setting: %q", msg)
	}
	b.do(chromedp.Navigate(b.base+"/ui/s/"+demo.Alice), chromedp.WaitVisible(chromedp.CSS(`#set-unknown`)))
	if eff := b.text(`#eff-anonymous`); eff != effBefore {
		t.Fatalf("the refused change took effect: %q, was %q", eff, effBefore)
	}
	b.do(chromedp.Navigate(b.base+"/ui/s/"+demo.Alice+"/lists/blocked"), chromedp.WaitVisible(chromedp.CSS(`#numbers`)))
	b.accessible("alice's Blocked list")
}
