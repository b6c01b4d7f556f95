package sip

import (
	"context"
	"fmt"
	"time"

	gosip "github.com/emiago/sipgo/sip"
)

// sendDTMFInfo sends one digit as the body of req, an INFO already
// addressed within a dialog, through do (the dialog's Do), and logs the
// request and its answer on tl. Both the caller's and the callee's
// dialogs send INFO this way.
func sendDTMFInfo(ctx context.Context, do func(context.Context, *gosip.Request) (*gosip.Response, error), tl *timeline, req *gosip.Request, mode DTMFMode, digit rune, duration time.Duration) error {
	ct, body := DTMFInfoBody(mode, digit, duration)
	req.AppendHeader(gosip.NewHeader("Content-Type", ct))
	req.SetBody(body)
	tl.add(time.Now(), Event{Kind: KindSIP, Dir: "out", Method: "INFO", Detail: fmt.Sprintf("%s %c", ct, digit)})
	// The INFO's transaction runs to its end even if the call ends
	// meanwhile (the far end may hang up as soon as it has the digit).
	ictx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	res, err := do(ictx, req)
	if err != nil {
		return err
	}
	tl.add(time.Now(), Event{Kind: KindSIP, Dir: "in", Status: res.StatusCode, Reason: res.Reason, Method: "INFO"})
	if !res.IsSuccess() {
		return fmt.Errorf("INFO answered %d %s", res.StatusCode, res.Reason)
	}
	return nil
}
