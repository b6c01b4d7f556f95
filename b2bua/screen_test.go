package b2bua

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/diago/media"

	"callgate/policy"
)

// Screen, accepted: the caller says a name, the subscriber hears it and
// keys 1, and audio flows both ways (each side hears the other's tone).
func TestScreenAccept(t *testing.T) {
	h := newHarness(t, nil)
	subHeard := make(chan *phoneMedia, 1)
	h.onSubscriber(func(d *diago.DialogServerSession) {
		pm := answerAndListen(t, d)
		if pm == nil {
			return
		}
		pm.waitHeard(pScreenMenu)
		pm.key('1')
		pm.speak(subscriberVoice)
		subHeard <- pm
		<-d.Context().Done()
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := h.dial(ctx, h.inviteURI(h.token(policy.Decision{Action: policy.ActionScreen, Subscriber: 7})), false)
	if c.err != nil {
		t.Fatalf("INVITE: %v", c.err)
	}
	c.pm.waitHeard(pNameRecord)
	c.pm.speak(callerVoice)
	time.Sleep(600 * time.Millisecond) // the name: 0.6 s of the caller's voice
	c.pm.speak(0)
	c.pm.waitHeard(pPleaseHold)
	sub := <-subHeard
	// The subscriber heard who is calling: the prompt, the caller's voice
	// (the recorded name), the menu.
	if got := sub.heardList(); !inOrder(got, pCallFrom, "caller-voice", pScreenMenu) {
		t.Errorf("subscriber heard %v", got)
	}
	c.pm.speak(callerVoice)
	before := sub.framesOf("caller-voice")
	waitFor(t, "the caller's voice at the subscriber after the bridge", func() bool { return sub.framesOf("caller-voice") > before+10 })
	c.pm.waitHeard("subscriber-voice")
	if !c.pm.heardAny("ringback") {
		t.Errorf("caller heard no ringback while the subscriber was called: %v", c.pm.heardList())
	}
	h.waitStep("bridge", "connected")
	if err := c.d.Hangup(ctx); err != nil {
		t.Fatalf("caller BYE: %v", err)
	}
	steps := h.waitStep("end", "caller-hangup")
	if got := stepString(steps); !strings.Contains(got, "token=ok name=recorded subscriber=ringing subscriber=answered screen=accept bridge=connected end=caller-hangup") {
		t.Errorf("steps %q", got)
	}
	in := h.subIn.Load()
	if f := in.From(); f == nil || f.Address.User != nCaller.String() || f.DisplayName != "Caller" {
		t.Errorf("subscriber INVITE From %v: the caller's identity is not preserved", in.From())
	}
}

// inOrder reports whether want appear in got in that order.
func inOrder(got []string, want ...string) bool {
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	return i == len(want)
}

// A caller that offers PCMA only and no telephone-event: prompts in PCMA,
// its keys by SIP INFO, and the bridge to the PCMU subscriber transcodes
// (each side still hears the other).
func TestScreenAcceptPCMACallerWithoutEvents(t *testing.T) {
	h := newHarness(t, nil)
	h.call = newEndpoint(t, "caller-pcma", nil, media.CodecAudioAlaw)
	subHeard := make(chan *phoneMedia, 1)
	h.onSubscriber(func(d *diago.DialogServerSession) {
		pm := answerAndListen(t, d)
		if pm == nil {
			return
		}
		pm.waitHeard(pScreenMenu)
		pm.key('1')
		pm.speak(subscriberVoice)
		subHeard <- pm
		<-d.Context().Done()
	})
	ctx := testCtx(t)
	c := h.dial(ctx, h.inviteURI(h.token(policy.Decision{Action: policy.ActionScreen, PINAllowed: true, Subscriber: 7})), false)
	if c.err != nil {
		t.Fatalf("INVITE: %v", c.err)
	}
	if !c.pm.alaw {
		t.Fatal("caller did not get PCMA")
	}
	c.pm.waitHeard(pPINEnter)
	infoDTMF(t, ctx, c.d, "application/dtmf", "*") // no PIN: on to the screening
	c.pm.waitHeard(pNameRecord)
	c.pm.speak(callerVoice)
	time.Sleep(500 * time.Millisecond)
	c.pm.speak(0)
	sub := <-subHeard
	if sub.alaw {
		t.Fatal("subscriber leg is PCMA too: nothing to transcode")
	}
	c.pm.speak(callerVoice)
	waitFor(t, "the caller's voice at the subscriber", func() bool { return sub.framesOf("caller-voice") > 20 })
	c.pm.waitHeard("subscriber-voice")
	_ = c.d.Hangup(ctx)
	h.waitStep("end", "caller-hangup")
}
