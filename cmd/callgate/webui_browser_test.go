package main

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"callgate/internal/demo"
	"callgate/redirect"
)

// headless starts Debian's chromium (scripts/test-deps.sh installs it; the
// test fails, never skips, without it) with a throw-away profile.
func headless(t *testing.T) context.Context {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium is not installed: run scripts/test-deps.sh (apt-get install chromium)")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin), chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("headless", true), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.NoFirstRun, chromedp.WindowSize(390, 844), // a phone screen
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, time.Minute)
	t.Cleanup(func() { cancelT(); cancelC(); cancelA() })
	return ctx
}

// TestWebUIInABrowser: with the daemon running (SIP and API tiers), in a
// real headless browser: a subscriber logs in, blocks a number, a SIP
// INVITE from that number is refused, and the subscriber reads why (the
// rule trace); a bad number is refused with a message naming it; a
// provider imports a CSV with bad rows and sees every one; another
// tenant's page is not found; logout ends the session.
func TestWebUIInABrowser(t *testing.T) {
	dir := t.TempDir()
	seed := &cli{t: t, dir: dir}
	seed.ok("demo")
	r := startDaemonWith(t, dir, `
admin: {listen: "127.0.0.1:0"}
api: {enabled: true, listen: "127.0.0.1:0"}
shutdown_timeout: 5s
decision_log: {no_sync: true}
sip: {udp: "127.0.0.1:0", tcp: ""}
b2bua: {udp: "127.0.0.1:0", tcp: "", rtp_port_min: 0, rtp_port_max: 0}
scp: {enabled: false}
`, "")
	c := &cli{t: t}
	c.stdin = "alice-password\n"
	c.ok("user", "create", "alice", "--role", "subscriber", "--tenant", demo.Alice, "--config", r.cliCfg)
	c.stdin = "provider-password\n"
	c.ok("user", "create", "telco", "--role", "provider", "--tenant", demo.Provider, "--config", r.cliCfg)
	c.stdin = ""
	var base string
	var sipAddr net.Addr
	for _, tier := range r.d.Tiers() {
		if tier.Name() == "api" {
			base = strings.TrimSuffix(tier.Describe(), "/api/v1")
		}
		if s, ok := tier.(*redirect.Server); ok {
			sipAddr = s.Addr("udp")
		}
	}
	if base == "" || sipAddr == nil {
		t.Fatal("the api or SIP tier is not running")
	}
	ctx := headless(t)
	do := func(steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatal(err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	caller := "+13125550177"
	do(chromedp.Navigate(base+"/ui/"),
		chromedp.WaitVisible(chromedp.CSS(`#name`)),
		chromedp.SendKeys(chromedp.CSS(`#name`), "alice"),
		chromedp.SendKeys(chromedp.CSS(`#password`), "alice-password"),
		chromedp.Click(chromedp.CSS(`#login`)),
		chromedp.WaitVisible(chromedp.CSS(`#set-unknown`)),
		chromedp.Navigate(base+"/ui/s/"+demo.Alice+"/lists/blocked"),
		chromedp.WaitVisible(chromedp.CSS(`#numbers`)),
		chromedp.SendKeys(chromedp.CSS(`#numbers`), caller),
		chromedp.Click(chromedp.CSS(`#add`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)))
	if flash, list := text(`.flash`), text(`table`); !strings.Contains(flash, "Added 1") || !strings.Contains(list, caller) {
		t.Fatalf("after adding: flash %q, list %q", flash, list)
	}
	// A bad number: the form comes back with it and the error.
	do(chromedp.SendKeys(chromedp.CSS(`#numbers`), "555-01"),
		chromedp.Click(chromedp.CSS(`#add`)),
		chromedp.WaitVisible(chromedp.CSS(`#error`)))
	entered, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(`#numbers`)))
	if errText := text(`#error`); err != nil || !strings.Contains(errText, "bad number") || entered != "555-01" {
		t.Fatalf("a bad number: %v, error %q, field %q", err, errText, entered)
	}

	// The call: a SIP INVITE from the blocked number to Alice.
	conn, err := net.Dial("udp", sipAddr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if status := sipAsk(t, conn, demo.AliceNumber, caller, 1); !strings.HasPrefix(status, "SIP/2.0 6") && !strings.HasPrefix(status, "SIP/2.0 4") {
		t.Fatalf("the blocked caller's INVITE: %s, want a refusal", status)
	}
	// Why? The calls page (decision log) and the trace.
	do(chromedp.Navigate(base+"/ui/s/"+demo.Alice+"/calls"),
		chromedp.WaitVisible(chromedp.CSS(`td.action`)),
		chromedp.Click(chromedp.Search(`//td[contains(., '`+caller+`')]/following-sibling::td/a[text()='Why?']`)),
		chromedp.WaitVisible(chromedp.CSS(`#trace`)))
	if answer, trace := text(`#answer`), text(`#trace`); !strings.Contains(answer, "block") || !strings.Contains(strings.ToLower(trace), "blocked") {
		t.Fatalf("the call's story: answer %q, trace %q", answer, trace)
	}
	// Another tenant's page: not found, nothing shown.
	do(chromedp.Navigate(base + "/ui/s/" + demo.Carol + "/lists/blocked"))
	if body := text(`main`); !strings.Contains(body, "Not Found") || strings.Contains(body, demo.CarolNumber) {
		t.Fatalf("carol's list as alice: %q", body)
	}
	// Logout ends the session: the page asks for a login again.
	do(chromedp.Navigate(base+"/ui/s/"+demo.Alice),
		chromedp.Click(chromedp.CSS(`.logout button`)),
		chromedp.WaitVisible(chromedp.CSS(`#login`)),
		chromedp.Navigate(base+"/ui/s/"+demo.Alice),
		chromedp.WaitVisible(chromedp.CSS(`#login`)))

	// A provider imports a CSV with bad rows and sees each; nothing is
	// written.
	csv := filepath.Join(t.TempDir(), "rows.csv")
	os.WriteFile(csv, []byte("owner,list,number\n"+demo.Alice+",blocked,+13125550188\n"+demo.Alice+",blocked,not-a-number\n"+
		"nobody,blocked,+13125550189\n"), 0o600)
	do(chromedp.Navigate(base+"/ui/login"),
		chromedp.WaitVisible(chromedp.CSS(`#name`)),
		chromedp.SendKeys(chromedp.CSS(`#name`), "telco"),
		chromedp.SendKeys(chromedp.CSS(`#password`), "provider-password"),
		chromedp.Click(chromedp.CSS(`#login`)),
		chromedp.WaitVisible(chromedp.CSS(`#q`)),
		chromedp.Navigate(base+"/ui/import"),
		chromedp.SetUploadFiles(chromedp.CSS(`#file`), []string{csv}),
		chromedp.Click(chromedp.CSS(`#import`)),
		chromedp.WaitVisible(chromedp.CSS(`.rowerrors`)))
	if report, rows := text(`#error`), text(`.rowerrors`); !strings.Contains(report, "2 row(s) are wrong") || !strings.Contains(rows, "3") || !strings.Contains(rows, "4") {
		t.Fatalf("import report %q, rows %q", report, rows)
	}
	out := c.ok("list", "show", "--owner", demo.Alice, "--config", r.cliCfg)
	if strings.Contains(out, "+13125550188") {
		t.Errorf("a refused import wrote a row:\n%s", out)
	}
}
