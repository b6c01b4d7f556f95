package b2bua

import (
	"testing"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo/sip"

	"callgate/policy"
)

// The RTP timeout runs from the answer: a caller kept in early media (the
// voicemail treatment's announcement and ringing) longer than RTPTimeout,
// sending no RTP meanwhile (as most UACs do not before the 200), is not
// released the moment voicemail answers; it has RTPTimeout from then to
// start sending.
func TestRTPTimeoutCountsFromTheAnswer(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.RTPTimeout = time.Second })
	vm := make(chan *phoneMedia, 1)
	h.onVoicemail(func(d *diago.DialogServerSession) {
		_ = d.Ringing()
		time.Sleep(1500 * time.Millisecond) // the caller's early media outlasts RTPTimeout
		med, err := d.Answer(diago.AnswerOptions{})
		if err != nil {
			t.Errorf("voicemail answer: %v", err)
			return
		}
		vm <- startPhoneMedia(t, med)
		<-d.Context().Done()
	})
	ctx := testCtx(t)
	d, err := h.call.dg.NewDialog(h.inviteURI(h.token(policy.Decision{Action: policy.ActionVoicemail, Voicemail: nVoicemail.String()})), diago.NewDialogOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	from := &sip.FromHeader{DisplayName: "Caller", Address: sip.Uri{Scheme: "sip", User: nCaller.String(), Host: "127.0.0.1"}, Params: sip.NewParams()}
	to := &sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: nSub.String(), Host: "127.0.0.1"}, Params: sip.NewParams()}
	med, err := d.Invite(ctx, diago.InviteClientOptions{Headers: []sip.Header{from, to}})
	if err != nil {
		t.Fatalf("INVITE: %v", err)
	}
	if err := d.Ack(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(400 * time.Millisecond) // well within RTPTimeout of the answer
	if d.Context().Err() != nil {
		t.Fatalf("the caller was released %v after the answer, before it had RTPTimeout to send RTP", 400*time.Millisecond)
	}
	pm := startPhoneMedia(t, med)
	pm.speak(callerVoice)
	(<-vm).waitHeard("caller-voice")
	_ = d.Hangup(ctx)
	if got := h.endSteps(t); got != "token=ok voicemail=ringing voicemail=connected bridge=connected end=caller-hangup" {
		t.Errorf("steps %s", got)
	}
}
