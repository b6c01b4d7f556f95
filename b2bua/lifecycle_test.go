package b2bua

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"callgate/policy"
)

// Drain: new INVITEs get 503 with Retry-After, calls in progress go on,
// and Drain returns once they have ended.
func TestDrain(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.PINFirstDigit = 30 * time.Second })
	ctx := testCtx(t)
	c := h.dial(ctx, h.inviteURI(h.token(policy.Decision{Action: policy.ActionScreen, PINAllowed: true, Subscriber: 7})), false)
	if c.err != nil {
		t.Fatal(c.err)
	}
	c.pm.waitHeard(pPINEnter)
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if err := h.s.Drain(short); err == nil {
		t.Fatal("Drain returned with a call in progress")
	}
	if h.s.Ready() == nil {
		t.Error("ready while draining")
	}
	res := h.rawInvite(t, h.screenURI(h.token(policy.Decision{Action: policy.ActionScreen})), offerSDP(40000, "0"))
	if res.StatusCode != 503 || res.GetHeader("Retry-After") == nil {
		t.Errorf("INVITE while draining: %d %v", res.StatusCode, res.GetHeader("Retry-After"))
	}
	done := make(chan error, 1)
	go func() { done <- h.s.Drain(ctx) }()
	_ = c.d.Hangup(ctx)
	if err := <-done; err != nil {
		t.Errorf("Drain after the last call ended: %v", err)
	}
}

// Stop releases the calls in progress: BYE to an answered caller, CANCEL
// to a ringing subscriber.
func TestStopReleasesCalls(t *testing.T) {
	h := newHarness(t, nil)
	ringing := make(chan struct{})
	cancelled := make(chan error, 1)
	h.onSubscriber(func(d *diago.DialogServerSession) {
		_ = d.Ringing()
		close(ringing)
		<-d.Context().Done()
		cancelled <- context.Cause(d.Context())
	})
	ctx := testCtx(t)
	c := h.dial(ctx, h.inviteURI(h.token(policy.Decision{Action: policy.ActionScreen})), false)
	if c.err != nil {
		t.Fatal(c.err)
	}
	<-ringing
	stop, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := h.s.Stop(stop); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	select {
	case <-c.d.Context().Done():
	case <-ctx.Done():
		t.Fatal("caller got no BYE at shutdown")
	}
	if cause := <-cancelled; !errors.Is(cause, sip.ErrTransactionCanceled) {
		t.Errorf("subscriber's ringing ended by %v, want CANCEL", cause)
	}
	h.waitStep("end", "shutdown")
}

// The caller cancels (CANCEL, never answered) while voicemail rings: the
// voicemail leg is cancelled too.
func TestCallerCancelsDuringEarlyMedia(t *testing.T) {
	h := newHarness(t, nil)
	ringing := make(chan struct{})
	cancelled := make(chan error, 1)
	h.onVoicemail(func(d *diago.DialogServerSession) {
		_ = d.Ringing()
		close(ringing)
		<-d.Context().Done()
		cancelled <- context.Cause(d.Context())
	})
	ctx := testCtx(t)
	c := h.dial(ctx, h.inviteURI(h.token(policy.Decision{Action: policy.ActionVoicemail, Voicemail: nVoicemail.String()})), true)
	if c.err != nil || c.pm == nil {
		t.Fatalf("no early media: %v", c.err)
	}
	<-ringing
	wctx, cancel := context.WithCancel(ctx)
	go func() {
		c.pm.waitHeard("ringback")
		cancel() // the caller gives up: CANCEL
	}()
	err := c.d.WaitAnswer(wctx, c.med, sipgo.AnswerOptions{})
	_ = c.d.Close()
	if err == nil {
		t.Fatal("answered")
	}
	if cause := <-cancelled; !errors.Is(cause, sip.ErrTransactionCanceled) {
		t.Errorf("voicemail's ringing ended by %v, want CANCEL", cause)
	}
	steps := h.waitStep("end", "abandoned")
	if got := stepString(steps); got != "token=ok voicemail=ringing voicemail=abandoned end=abandoned" {
		t.Errorf("steps %q", got)
	}
}
