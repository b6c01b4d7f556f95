package main

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"callgate/internal/demo"
)

// TestWebPINLockoutsInABrowser: in a real headless browser on a phone
// screen, with alice's PIN locked and one wrong PIN counted for bob
// (wrongPINs): alice sees her lock on her own page, with nothing to press;
// the provider reaches the PIN lockouts page from the navigation with the
// keyboard, sees both, and unlocks alice's PIN with the keyboard alone;
// the daemon's store has the lock lifted and the unlock audited as the
// web user. Every page on the way has its controls labelled and fits the
// screen.
func TestWebPINLockoutsInABrowser(t *testing.T) {
	w := startWebDaemon(t, "", func(dir string) { wrongPINs(t, dir) })
	b := w.browser()

	b.login("alice", "alice-password", `#pin-lock`)
	if lock := b.text(`#pin-lock`); !strings.Contains(lock, "Locked until") {
		t.Fatalf("alice's page says %q, want her PIN locked", lock)
	}
	if n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.querySelectorAll('#unlock-pin, form[action*="/unlock"], a[href="/ui/pin-lockouts"]').length`)); err != nil || n != 0 {
		t.Fatalf("alice's page offers an unlock or the lockouts page (%d, %v): hers is read-only", n, err)
	}
	b.accessible("alice's page with her PIN locked")
	b.do(chromedp.Click(chromedp.CSS(`.logout button`)), chromedp.WaitVisible(chromedp.CSS(`#login`)))

	b.submitLogin("telco", "telco-password", `#q`)
	// The navigation link, from the keyboard.
	if _, err := chromedp.RunResponse(b.ctx, chromedp.Focus(chromedp.CSS(`nav a[href="/ui/pin-lockouts"]`)), chromedp.KeyEvent(kb.Enter)); err != nil {
		t.Fatal(err)
	}
	b.do(chromedp.WaitVisible(chromedp.CSS(`#pin-lockouts`)))
	b.accessible("the PIN lockouts page")
	if row := b.text(`#lock-` + demo.Alice); !strings.Contains(row, "Locked") || !strings.Contains(row, "Unlock") {
		t.Fatalf("alice's row: %q", row)
	}
	if row := b.text(`#lock-` + demo.Bob); !strings.Contains(row, "Not locked") || !strings.Contains(row, "1") || strings.Contains(row, "Unlock") {
		t.Fatalf("bob's row: %q, want not locked, 1 counted, no button", row)
	}
	// Unlock alice: focus her button, Enter.
	if _, err := chromedp.RunResponse(b.ctx, chromedp.Focus(chromedp.CSS(`#lock-`+demo.Alice+` button`)), chromedp.KeyEvent(kb.Enter)); err != nil {
		t.Fatal(err)
	}
	b.do(chromedp.WaitVisible(chromedp.CSS(`.flash`)))
	if flash := b.text(`.flash`); !strings.Contains(flash, "Lifted the PIN lock of "+demo.Alice) {
		t.Fatalf("after the unlock the page says %q", flash)
	}
	if n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.querySelectorAll('#lock-`+demo.Alice+`').length`)); err != nil || n != 0 {
		t.Errorf("alice is still listed after the unlock (%d, %v)", n, err)
	}
	b.accessible("the PIN lockouts page after the unlock")
	if out := w.cli.ok("pin", "lockout", demo.Alice, "--config", w.r.cliCfg); !strings.Contains(out, "not locked") {
		t.Fatalf("alice's PIN after the unlock:\n%s", out)
	}
	if out := w.cli.ok("pin", "lockout", demo.Bob, "--config", w.r.cliCfg); !strings.Contains(out, "1 counted") {
		t.Errorf("bob's count changed:\n%s", out)
	}
	if out := w.cli.ok("audit", "search", "--object", "subscriber/"+demo.Alice+"/pin", "--limit", "1", "--config", w.r.cliCfg); !strings.Contains(out, "subscriber.pin.unlock") || !strings.Contains(out, "user telco") {
		t.Errorf("the unlock's audit record:\n%s", out)
	}
}
