package admin

import (
	"fmt"
	"net/http"
	"net/url"
	"time"

	"callgate/store"
)

// PIN lockouts in the web UI (store/pinlock.go; the API's are pinlock.go):
// the platform owner and each provider get a page listing the subscribers
// whose PIN is locked or has wrong PINs counted, each locked one with an
// Unlock button; a subscriber sees its own lock state, read-only, on its
// page. The page reads and clears through the same store calls as
// GET /api/v1/pin-lockouts and DELETE .../pin/lockout with the session's
// Actor, so the store scopes them (a provider sees and clears only its
// subscribers; another's is not found) and audits the clear
// (subscriber.pin.unlock, via web).

// pinLockRow is one lockout as the pages show it.
type pinLockRow struct {
	store.PINLockout
	State string // Locked, Lock expired (until Until) or Not locked
	Until string // LockedUntil, formatted ("" when never locked)
	Last  string // the newest wrong PIN: when, at which prompt, from which number
}

// uiTime is how the PIN lockout pages show a time: UTC, to the second.
func uiTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// pinLockRowOf describes l (the store says whether it is locked, by its
// clock).
func pinLockRowOf(l store.PINLockout) pinLockRow {
	r := pinLockRow{PINLockout: l, Until: uiTime(l.LockedUntil)}
	switch {
	case l.Locked:
		r.State = "Locked"
	case !l.LockedUntil.IsZero():
		r.State = "Lock expired"
	default:
		r.State = "Not locked"
	}
	if !l.LastFailure.IsZero() {
		prompt := "the IVR"
		if l.LastPrompt == store.PINPromptOverride {
			prompt = "a caller's override PIN"
		}
		from := "a withheld number"
		if l.LastCalling != 0 {
			from = l.LastCalling.String()
		}
		r.Last = fmt.Sprintf("%s at %s from %s", uiTime(l.LastFailure), prompt, from)
	}
	return r
}

type pinLockoutsData struct {
	Rows   []pinLockRow
	Locked int  // how many of Rows are locked
	All    bool // the platform owner's page: every provider's subscribers
}

// uiPINLockouts lists the lockouts the user may see: every provider's for
// the platform owner, its own subscribers' for a provider. A subscriber
// has its own on its page.
func uiPINLockouts(c *uiCall) error {
	if c.actor.Role == store.RoleSubscriber {
		return fmt.Errorf("%s: %w (your PIN's lock state is on your own page)", c.actor, store.ErrForbidden)
	}
	ls, err := c.t.st.PINLockouts(c.actor)
	if err != nil {
		return err
	}
	d := pinLockoutsData{All: c.actor.Role == store.RoleOperator}
	for _, l := range ls {
		d.Rows = append(d.Rows, pinLockRowOf(l))
		if l.Locked {
			d.Locked++
		}
	}
	c.render(http.StatusOK, "pinlockouts.html", uiPage{Title: "PIN lockouts", Data: d})
	return nil
}

// uiPINUnlock lifts a subscriber's PIN lock and clears its count, as
// DELETE /api/v1/subscribers/{subscriber}/pin/lockout does; the store
// refuses a subscriber (403) and does not find another provider's (404).
// It goes back to the page the button was on: the lockouts page, or the
// subscriber's (from=subscriber).
func uiPINUnlock(c *uiCall) error {
	sub := c.r.PathValue("sub")
	was, err := c.t.st.ClearPINLockout(c.actor, sub)
	if err != nil {
		return err
	}
	msg := "Nothing to clear: no wrong PIN of " + was.Subscriber + " is counted."
	switch {
	case was.Locked:
		msg = "Lifted the PIN lock of " + was.Subscriber + "."
	case was.Revision != 0:
		msg = fmt.Sprintf("Cleared the wrong PINs counted for %s (%d).", was.Subscriber, was.Failures)
	}
	if c.r.PostFormValue("from") == "subscriber" {
		return c.back("/ui/s/"+url.PathEscape(was.Subscriber), msg)
	}
	return c.back("/ui/pin-lockouts", msg)
}

// pinLockOfSubscriber is the lock state the subscriber's page shows.
func pinLockOfSubscriber(c *uiCall, sub string) (pinLockRow, error) {
	l, err := c.t.st.PINLockoutOf(c.actor, sub)
	if err != nil {
		return pinLockRow{}, err
	}
	return pinLockRowOf(l), nil
}
