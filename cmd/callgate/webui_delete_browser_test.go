package main

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"callgate/internal/demo"
)

// TestWebDeleteInABrowser: in a real headless browser on a phone screen,
// the provider's refused form keeps what was typed (a number outside its
// allocations, assigned to bob), then it deletes bob: the link opens a
// confirmation page that changes nothing (Cancel goes back, bob kept);
// confirming deletes him, in the daemon's store, audited as the web user.
// Every page on the way has its controls labelled and fits the screen.
func TestWebDeleteInABrowser(t *testing.T) {
	w := startWebDaemon(t, "")
	b := w.browser()
	b.login("telco", "telco-password", `#q`)
	bobPage := b.base + "/ui/s/" + demo.Bob
	b.do(chromedp.Navigate(bobPage), chromedp.WaitVisible(chromedp.CSS(`#delete`)),
		chromedp.SendKeys(chromedp.CSS(`#numbers`), "+1 202 555 0100"),
		chromedp.Click(chromedp.CSS(`#numbers ~ button`)),
		chromedp.WaitVisible(chromedp.CSS(`#error`)))
	entered, err := chromedp.Run(b.ctx, chromedp.Value(chromedp.CSS(`#numbers`)))
	if err != nil || entered != "+1 202 555 0100" {
		t.Fatalf("the refused assign form holds %q (%v), want what was typed", entered, err)
	}
	b.accessible("bob's page with a refused form")

	b.do(chromedp.Click(chromedp.CSS(`#delete`)), chromedp.WaitVisible(chromedp.CSS(`#confirm-delete`)))
	b.accessible("the confirmation page")
	if goes := b.text(`#delete-goes`); !strings.Contains(goes, demo.BobNumber) || !strings.Contains(goes, "Blocked list") {
		t.Errorf("the confirmation page says what goes: %q", goes)
	}
	b.do(chromedp.Click(chromedp.CSS(`#cancel-delete`)), chromedp.WaitVisible(chromedp.CSS(`#delete`)))
	w.cli.ok("subscriber", "show", demo.Bob, "--config", w.r.cliCfg) // still there after Cancel
	b.do(chromedp.Click(chromedp.CSS(`#delete`)), chromedp.WaitVisible(chromedp.CSS(`#confirm-delete`)),
		chromedp.Click(chromedp.CSS(`#confirm-delete`)), chromedp.WaitVisible(chromedp.CSS(`.flash`)))
	if flash := b.text(`.flash`); !strings.Contains(flash, "Subscriber "+demo.Bob+" deleted") {
		t.Fatalf("after the delete the page says %q", flash)
	}
	if r := w.cli.run("subscriber", "show", demo.Bob, "--config", w.r.cliCfg); r.code == 0 || !strings.Contains(r.err, "not found") {
		t.Fatalf("bob after the delete: exit %d, %s%s", r.code, r.out, r.err)
	}
	if out := w.cli.ok("audit", "search", "--object", "subscriber/"+demo.Bob, "--since", "1h", "--config", w.r.cliCfg); !strings.Contains(out, "subscriber.delete") ||
		!strings.Contains(out, "user telco") {
		t.Errorf("the audit log has no delete of bob by user telco:\n%s", out)
	}
}
