package b2bua

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"callgate/policy"
)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// Reject with Media, early: 183 with the announcement as early media, then
// 603; the call is never answered.
func TestRejectWithMediaEarly(t *testing.T) {
	h := newHarness(t, nil)
	ctx := testCtx(t)
	c := h.dial(ctx, h.inviteURI(h.token(policy.Decision{Action: policy.ActionBlockWithAnnouncement, Announcement: 101})), true)
	if c.err != nil || c.pm == nil {
		t.Fatalf("no early media: %v", c.err)
	}
	err := c.d.WaitAnswer(ctx, c.med, sipgo.AnswerOptions{})
	_ = c.d.Close()
	if code := statusOf(err); code != 603 {
		t.Fatalf("final answer %v, want 603", err)
	}
	if !c.pm.heardAny("announcement_101") {
		t.Errorf("early media heard %v, want the announcement", c.pm.heardList())
	}
	steps := h.waitStep("end", "rejected")
	if got := stepString(steps); got != "token=ok reject=announced end=rejected" {
		t.Errorf("steps %q", got)
	}
}

// Reject with Media, answer mode: 200, the announcement, BYE. An
// announcement without a file plays call_rejected.
func TestRejectWithMediaAnswered(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.RejectMode = RejectAnswer })
	ctx := testCtx(t)
	c := h.dial(ctx, h.inviteURI(h.token(policy.Decision{Action: policy.ActionBlockWithAnnouncement, Announcement: 555})), false)
	if c.err != nil {
		t.Fatalf("INVITE: %v", c.err)
	}
	select {
	case <-c.d.Context().Done():
	case <-ctx.Done():
		t.Fatal("no BYE after the announcement")
	}
	if !c.pm.heardAny(pCallRejected) {
		t.Errorf("heard %v, want call_rejected for an announcement without a file", c.pm.heardList())
	}
	h.waitStep("end", "rejected")
}

// The override PIN, right: the call goes through to the subscriber as if
// the caller were on the VIP list (no name, no menu).
func TestPINRight(t *testing.T) {
	h := newHarness(t, nil)
	ctx := testCtx(t)
	c, _, sub := h.bridgedByPIN(ctx)
	if sub.heardAny(pScreenMenu) || c.pm.heardAny(pNameRecord) {
		t.Errorf("a caller with the right PIN was screened: caller %v, subscriber %v", c.pm.heardList(), sub.heardList())
	}
	_ = c.d.Hangup(ctx)
	steps := h.waitStep("end", "caller-hangup")
	if got := stepString(steps); !strings.HasPrefix(got, "token=ok pin=right subscriber=ringing subscriber=answered bridge=connected") {
		t.Errorf("steps %q", got)
	}
	if h.pins.checks.Load() != 1 {
		t.Errorf("%d PIN checks", h.pins.checks.Load())
	}
}

// The override PIN, wrong three times: pin_wrong twice, pin_failed, BYE.
func TestPINWrongThreeTimes(t *testing.T) {
	h := newHarness(t, nil)
	ctx := testCtx(t)
	c := h.dial(ctx, h.inviteURI(h.token(policy.Decision{Action: policy.ActionScreen, PINAllowed: true, Subscriber: 7})), false)
	if c.err != nil {
		t.Fatalf("INVITE: %v", c.err)
	}
	c.pm.waitHeard(pPINEnter)
	for try := 1; try <= 3; try++ {
		for _, d := range "1111#" {
			c.pm.key(d)
		}
		if try < 3 {
			waitFor(t, "pin_wrong", func() bool { return c.pm.framesOf(pPINWrong) >= 5*try })
		}
	}
	select {
	case <-c.d.Context().Done():
	case <-ctx.Done():
		t.Fatal("not released after three wrong PINs")
	}
	if !c.pm.heardAny(pPINFailed) {
		t.Errorf("heard %v, want pin_failed", c.pm.heardList())
	}
	steps := h.waitStep("end", "released")
	if got := stepString(steps); got != "token=ok pin=wrong pin=wrong pin=wrong pin=failed end=released" {
		t.Errorf("steps %q", got)
	}
	if h.subIn.Load() != nil {
		t.Error("the subscriber was called")
	}
}

// screenToSubscriber runs a screened call up to the subscriber's menu and
// has the subscriber key k.
func screenToSubscriber(t *testing.T, h *harness, k rune, d policy.Decision) *callerDialog {
	t.Helper()
	h.onSubscriber(func(dl *diago.DialogServerSession) {
		pm := answerAndListen(t, dl)
		if pm == nil {
			return
		}
		pm.waitHeard(pScreenMenu)
		pm.key(k)
		<-dl.Context().Done()
	})
	ctx := testCtx(t)
	d.Action = policy.ActionScreen
	c := h.dial(ctx, h.inviteURI(h.token(d)), false)
	if c.err != nil {
		t.Fatalf("INVITE: %v", c.err)
	}
	c.pm.waitHeard(pNameRecord)
	c.pm.speak(callerVoice)
	time.Sleep(400 * time.Millisecond)
	c.pm.speak(0)
	return c
}

func TestScreenRefuse(t *testing.T) {
	h := newHarness(t, nil)
	c := screenToSubscriber(t, h, '2', policy.Decision{})
	select {
	case <-c.d.Context().Done():
	case <-testCtx(t).Done():
		t.Fatal("caller not released after the refusal")
	}
	if !c.pm.heardAny(pScreenRefused) {
		t.Errorf("caller heard %v, want screen_refused", c.pm.heardList())
	}
	steps := h.waitStep("end", "released")
	if got := stepString(steps); !strings.Contains(got, "screen=refuse end=released") {
		t.Errorf("steps %q", got)
	}
}

// voicemailPhone answers as the voicemail platform and reports what it heard.
func voicemailPhone(t *testing.T, h *harness) chan *phoneMedia {
	got := make(chan *phoneMedia, 1)
	h.onVoicemail(func(d *diago.DialogServerSession) {
		pm := answerAndListen(t, d)
		if pm == nil {
			return
		}
		got <- pm
		<-d.Context().Done()
	})
	return got
}

// checkDiversion checks the voicemail INVITE names the subscriber.
func checkDiversion(t *testing.T, in *sip.Request, reason string) {
	t.Helper()
	if in == nil {
		t.Fatal("voicemail got no INVITE")
	}
	div := in.GetHeader("Diversion")
	if div == nil || !strings.Contains(div.Value(), nSub.String()) || !strings.Contains(div.Value(), "reason="+reason) {
		t.Errorf("Diversion %v, want the subscriber %s with reason=%s", div, nSub, reason)
	}
	hi := in.GetHeader("History-Info")
	if hi == nil || !strings.Contains(hi.Value(), nSub.String()) || !strings.Contains(hi.Value(), "index=1.1") {
		t.Errorf("History-Info %v", hi)
	}
	if tgt, _ := in.Recipient.UriParams.Get("target"); tgt != nSub.String() {
		t.Errorf("Request-URI %s: RFC 4458 target %q", in.Recipient.String(), tgt)
	}
	if f := in.From(); f == nil || f.Address.User != nCaller.String() {
		t.Errorf("voicemail From %v: not the caller", in.From())
	}
}

func TestScreenToVoicemail(t *testing.T) {
	h := newHarness(t, nil)
	vm := voicemailPhone(t, h)
	c := screenToSubscriber(t, h, '3', policy.Decision{Voicemail: nVoicemail.String()})
	pm := <-vm
	c.pm.speak(callerVoice)
	pm.waitHeard("caller-voice")
	c.pm.waitHeard(pVoicemail)
	checkDiversion(t, h.vmIn.Load(), "deflection")
	_ = c.d.Hangup(testCtx(t))
	steps := h.waitStep("end", "caller-hangup")
	if got := stepString(steps); !strings.Contains(got, "screen=voicemail voicemail=ringing voicemail=connected bridge=connected end=caller-hangup") {
		t.Errorf("steps %q", got)
	}
}

// No answer: the subscriber rings past RingTimeout, gets CANCEL, and the
// call goes to voicemail.
func TestScreenNoAnswerToVoicemail(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.RingTimeout = time.Second })
	cancelled := make(chan error, 1)
	h.onSubscriber(func(d *diago.DialogServerSession) {
		_ = d.Ringing()
		<-d.Context().Done()
		cancelled <- context.Cause(d.Context())
	})
	vm := voicemailPhone(t, h)
	ctx := testCtx(t)
	c := h.dial(ctx, h.inviteURI(h.token(policy.Decision{Action: policy.ActionScreen, Voicemail: nVoicemail.String()})), false)
	if c.err != nil {
		t.Fatalf("INVITE: %v", c.err)
	}
	c.pm.waitHeard(pNameRecord)
	if cause := <-cancelled; !errors.Is(cause, sip.ErrTransactionCanceled) {
		t.Errorf("subscriber's ringing ended by %v, want CANCEL", cause)
	}
	<-vm
	checkDiversion(t, h.vmIn.Load(), "no-answer")
	h.waitStep("bridge", "connected")
	steps := h.waitStep("subscriber", "no-answer")
	if got := stepString(steps); !strings.Contains(got, "name=empty subscriber=ringing subscriber=no-answer voicemail=ringing voicemail=connected") {
		t.Errorf("steps %q", got)
	}
	_ = c.d.Hangup(ctx)
}

// The caller hangs up while the subscriber's phone rings: the CANCEL
// reaches it.
func TestCallerHangsUpWhileSubscriberRings(t *testing.T) {
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
		t.Fatalf("INVITE: %v", c.err)
	}
	<-ringing
	if err := c.d.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	if cause := <-cancelled; !errors.Is(cause, sip.ErrTransactionCanceled) {
		t.Errorf("subscriber's ringing ended by %v, want CANCEL", cause)
	}
	steps := h.waitStep("end", "abandoned")
	if got := stepString(steps); !strings.Contains(got, "subscriber=abandoned end=abandoned") {
		t.Errorf("steps %q", got)
	}
}

// The subscriber hangs up after the bridge: the caller gets BYE.
func TestSubscriberHangsUpAfterBridge(t *testing.T) {
	h := newHarness(t, nil)
	h.onSubscriber(func(d *diago.DialogServerSession) {
		pm := answerAndListen(t, d)
		if pm == nil {
			return
		}
		pm.waitHeard(pScreenMenu)
		pm.key('1')
		pm.speak(subscriberVoice)
		time.Sleep(500 * time.Millisecond)
		_ = d.Hangup(d.Context())
	})
	ctx := testCtx(t)
	c := h.dial(ctx, h.inviteURI(h.token(policy.Decision{Action: policy.ActionScreen})), false)
	if c.err != nil {
		t.Fatalf("INVITE: %v", c.err)
	}
	select {
	case <-c.d.Context().Done():
	case <-ctx.Done():
		t.Fatal("caller got no BYE")
	}
	h.waitStep("end", "subscriber-hangup")
}

// RTP stops from the caller after the bridge: both legs are released.
func TestRTPTimeout(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.RTPTimeout = time.Second })
	subGone := make(chan struct{})
	h.onSubscriber(func(d *diago.DialogServerSession) {
		pm := answerAndListen(t, d)
		if pm == nil {
			return
		}
		pm.waitHeard(pScreenMenu)
		pm.key('1')
		<-d.Context().Done()
		close(subGone)
	})
	ctx := testCtx(t)
	c := h.dial(ctx, h.inviteURI(h.token(policy.Decision{Action: policy.ActionScreen})), false)
	if c.err != nil {
		t.Fatalf("INVITE: %v", c.err)
	}
	h.waitStep("bridge", "connected")
	c.pm.mute.Store(true)
	<-subGone
	<-c.d.Context().Done()
	h.waitStep("end", "rtp-timeout")
}

func TestChallengePassed(t *testing.T) {
	h := newHarness(t, nil)
	subUp := make(chan struct{})
	h.onSubscriber(func(d *diago.DialogServerSession) {
		pm := answerAndListen(t, d)
		if pm == nil {
			return
		}
		pm.speak(subscriberVoice)
		close(subUp)
		<-d.Context().Done()
	})
	ctx := testCtx(t)
	c := h.dial(ctx, h.inviteURI(h.token(policy.Decision{Action: policy.ActionChallenge})), false)
	if c.err != nil {
		t.Fatalf("INVITE: %v", c.err)
	}
	want := challengeRNG(42)
	c.pm.waitHeard(pChallengeIntro)
	for range 3 {
		c.pm.key(rune('0' + want.IntN(10)))
	}
	<-subUp
	c.pm.waitHeard("subscriber-voice")
	_ = c.d.Hangup(ctx)
	steps := h.waitStep("end", "caller-hangup")
	if got := stepString(steps); !strings.HasPrefix(got, "token=ok challenge=passed subscriber=ringing subscriber=answered bridge=connected") {
		t.Errorf("steps %q", got)
	}
}

func TestChallengeFailed(t *testing.T) {
	h := newHarness(t, nil)
	ctx := testCtx(t)
	c := h.dial(ctx, h.inviteURI(h.token(policy.Decision{Action: policy.ActionChallenge})), false)
	if c.err != nil {
		t.Fatalf("INVITE: %v", c.err)
	}
	want := challengeRNG(42)
	var digits []rune
	for range 3 {
		digits = append(digits, rune('0'+want.IntN(10)))
	}
	wrong := string([]rune{(digits[0]-'0'+1)%10 + '0', digits[1], digits[2]})
	for try := 1; try <= 3; try++ {
		waitFor(t, "the challenge", func() bool { return c.pm.framesOf(pChallengeIntro) >= 5*try })
		for _, d := range wrong {
			c.pm.key(d)
		}
	}
	select {
	case <-c.d.Context().Done():
	case <-ctx.Done():
		t.Fatal("not released after three wrong answers")
	}
	if !c.pm.heardAny(pChallengeFail) {
		t.Errorf("heard %v, want challenge_failed", c.pm.heardList())
	}
	steps := h.waitStep("end", "released")
	if got := stepString(steps); got != "token=ok challenge=wrong challenge=wrong challenge=wrong challenge=failed end=released" {
		t.Errorf("steps %q", got)
	}
}

// The Voicemail treatment: the announcement (as early media), then the
// voicemail platform; the caller is answered when voicemail answers. (The
// caller here does not listen to the early media: diago v0.42.1's UAC
// races applying the 200's SDP against its early-media reader; the
// early media itself is checked by TestRejectWithMediaEarly.)
func TestVoicemailTreatment(t *testing.T) {
	h := newHarness(t, nil)
	vm := voicemailPhone(t, h)
	ctx := testCtx(t)
	c := h.dial(ctx, h.inviteURI(h.token(policy.Decision{Action: policy.ActionVoicemail, Announcement: 101, Voicemail: nVoicemail.String()})), false)
	if c.err != nil {
		t.Fatalf("not answered when voicemail answered: %v", c.err)
	}
	pm := <-vm
	c.pm.speak(callerVoice)
	pm.waitHeard("caller-voice")
	checkDiversion(t, h.vmIn.Load(), "unconditional")
	_ = c.d.Hangup(ctx)
	steps := h.waitStep("end", "caller-hangup")
	if got := stepString(steps); got != "token=ok voicemail=ringing voicemail=connected bridge=connected end=caller-hangup" {
		t.Errorf("steps %q", got)
	}
}

// Screen with no voicemail target: "not available", then release.
func TestScreenNoAnswerNoVoicemail(t *testing.T) {
	h := newHarness(t, nil)
	h.onSubscriber(func(d *diago.DialogServerSession) { _ = d.Respond(486, "Busy Here", nil) })
	ctx := testCtx(t)
	c := h.dial(ctx, h.inviteURI(h.token(policy.Decision{Action: policy.ActionScreen})), false)
	if c.err != nil {
		t.Fatalf("INVITE: %v", c.err)
	}
	select {
	case <-c.d.Context().Done():
	case <-ctx.Done():
		t.Fatal("not released")
	}
	if !c.pm.heardAny(pNotAvailable) {
		t.Errorf("heard %v", c.pm.heardList())
	}
	steps := h.waitStep("end", "released")
	if got := stepString(steps); !strings.Contains(got, "subscriber=busy voicemail=none end=released") {
		t.Errorf("steps %q", got)
	}
}

// A subscriber's device that keys only digits not on the menu does not
// hold the caller for ever: the third such key sends the call to
// voicemail, as no answer.
func TestScreenStrayKeysToVoicemail(t *testing.T) {
	h := newHarness(t, nil)
	h.onSubscriber(func(dl *diago.DialogServerSession) {
		pm := answerAndListen(t, dl)
		if pm == nil {
			return
		}
		for i := 1; i <= 3; i++ {
			waitFor(t, "the menu", func() bool { return pm.heardTimes(pScreenMenu) >= i && pm.framesOf(pScreenMenu) >= 5*i })
			pm.key('7')
		}
		<-dl.Context().Done()
	})
	vm := voicemailPhone(t, h)
	ctx := testCtx(t)
	c := h.dial(ctx, h.inviteURI(h.token(policy.Decision{Action: policy.ActionScreen, Voicemail: nVoicemail.String()})), false)
	if c.err != nil {
		t.Fatalf("INVITE: %v", c.err)
	}
	c.pm.waitHeard(pNameRecord)
	<-vm
	checkDiversion(t, h.vmIn.Load(), "no-answer")
	steps := h.waitStep("bridge", "connected")
	if got := stepString(steps); !strings.Contains(got, "subscriber=answered screen=stray-keys voicemail=ringing voicemail=connected") {
		t.Errorf("steps %q", got)
	}
	_ = c.d.Hangup(ctx)
}
