package sip

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emiago/diago"
	gosip "github.com/emiago/sipgo/sip"
)

func callCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func cues(t *testing.T, lines ...string) Script {
	t.Helper()
	var s Script
	for _, l := range lines {
		c, err := ParseCue(l)
		if err != nil {
			t.Fatal(err)
		}
		s.Cues = append(s.Cues, c)
	}
	return s
}

// The UAS plays a sequence of prompts (digits among them, with and
// without gaps) and the caller names each one, in order.
func TestCallIdentifiesEachPromptOfASequence(t *testing.T) {
	t.Parallel()
	prompts := loadTestPrompts(t)
	seq := []string{"say-name", "call-from", "4", "7", "1", "press-1", "unavailable", "0"}
	gaps := []time.Duration{400 * time.Millisecond, 0, 150 * time.Millisecond, 0, 300 * time.Millisecond, 0, 200 * time.Millisecond}
	u := startUAS(t, func(u *uas, d *diago.DialogServerSession) {
		_ = d.Trying()
		med, err := d.Answer(diago.AnswerOptions{})
		if err != nil {
			t.Error(err)
			return
		}
		pb, _ := med.PlaybackCreate()
		for i, name := range seq {
			if i > 0 {
				time.Sleep(gaps[i-1])
			}
			if _, err := pb.PlayFile(promptPath(t, name)); err != nil {
				t.Error(err)
			}
		}
		time.Sleep(500 * time.Millisecond)
		_ = d.Hangup(context.Background())
	})
	res, err := Call(callCtx(t), CallConfig{Target: u.uri("+13035550100"), From: "+17195551212",
		Behaviour: Behaviour{Prompts: prompts, Probe: Probe{Off: true}}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Prompts, seq) {
		t.Errorf("heard %q, want %q\n%s", res.Prompts, seq, res)
	}
	if res.Outcome != OutcomeAnswered || res.EndedBy != "remote" {
		t.Errorf("outcome %s ended by %q, want answered, remote\n%s", res.Outcome, res.EndedBy, res)
	}
}

// Reject with Media: 183 with the announcement as early media, then 603.
func TestCallEarlyMediaThen603(t *testing.T) {
	t.Parallel()
	prompts := loadTestPrompts(t)
	u := startUAS(t, func(u *uas, d *diago.DialogServerSession) {
		_ = d.Trying()
		med, err := d.ProgressMedia(diago.ProgressMediaOptions{})
		if err != nil {
			t.Error(err)
			return
		}
		defer med.Close()
		if err := play(t, med, 0, promptPath(t, "blocked")); err != nil {
			t.Error(err)
		}
		time.Sleep(200 * time.Millisecond)
		_ = d.Respond(603, "Decline", nil)
	})
	res, err := Call(callCtx(t), CallConfig{Target: u.uri("+13035550100"), From: "+17195551212",
		Behaviour: Behaviour{Prompts: prompts}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != OutcomeRejected || res.Status != 603 || !res.EarlyMedia || !slices.Equal(res.Prompts, []string{"blocked"}) {
		t.Errorf("got %s %d early %v prompts %q, want rejected 603 with early media \"blocked\"\n%s", res.Outcome, res.Status, res.EarlyMedia, res.Prompts, res)
	}
	early := false
	for _, e := range res.Timeline {
		if e.Kind == KindPrompt && e.Prompt == "blocked" {
			early = e.Early
		}
	}
	if !early {
		t.Errorf("the announcement is not marked as early media\n%s", res)
	}
}

// answerAndCollect is a UAS that answers, plays prompt and collects n
// digits, then hangs up; the digits it got go to got.
func answerAndCollect(t *testing.T, prompt string, n int, got chan<- string) *uas {
	return startUAS(t, func(u *uas, d *diago.DialogServerSession) {
		_ = d.Trying()
		med, err := d.Answer(diago.AnswerOptions{})
		if err != nil {
			t.Error(err)
			return
		}
		go u.readDTMF(med)
		if err := play(t, med, 0, promptPath(t, prompt)); err != nil {
			t.Error(err)
		}
		got <- u.collect(n, 10*time.Second)
		_ = d.Hangup(context.Background())
	})
}

// The caller keys the PIN when it hears "enter your PIN": by RFC 4733
// telephone-events, by INFO application/dtmf-relay, by INFO
// application/dtmf.
func TestCallKeysDigitsOnCue(t *testing.T) {
	t.Parallel()
	prompts := loadTestPrompts(t)
	for _, mode := range []DTMFMode{DTMFRFC4733, DTMFInfo, DTMFInfoDTMF} {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			got := make(chan string, 1)
			u := answerAndCollect(t, "enter-pin", 5, got)
			res, err := Call(callCtx(t), CallConfig{Target: u.uri("+13035550100"), From: "+17195551212",
				Behaviour: Behaviour{Prompts: prompts, DTMFMode: mode, Script: cues(t, "enter-pin=1234#"), Probe: Probe{Off: true}}})
			if err != nil {
				t.Fatal(err)
			}
			if digits := <-got; digits != "1234#" {
				t.Errorf("the UAS received %q, want 1234#\n%s", digits, res)
			}
			if res.DigitsSent != "1234#" {
				t.Errorf("DigitsSent %q", res.DigitsSent)
			}
			infos := len(u.infos)
			if want := map[DTMFMode]int{DTMFRFC4733: 0, DTMFInfo: 5, DTMFInfoDTMF: 5}[mode]; infos != want {
				t.Errorf("%d INFO requests, want %d", infos, want)
			}
			if mode != DTMFRFC4733 {
				ct := <-u.infos
				if want := map[DTMFMode]string{DTMFInfo: ContentTypeDTMFRelay, DTMFInfoDTMF: ContentTypeDTMF}[mode]; ct != want {
					t.Errorf("INFO Content-Type %q, want %q", ct, want)
				}
			}
		})
	}
}

// Keyed by INFO during early media (a PIN asked for in a 183's
// announcement): the INFOs go to the early dialog while its provisional
// responses keep arriving (a 180 after each digit). Under -race this also
// checks that sending an INFO does not read the dialog's last response
// while sipgo rewrites it.
func TestCallKeysINFODuringEarlyMedia(t *testing.T) {
	t.Parallel()
	prompts := loadTestPrompts(t)
	got := make(chan string, 1)
	u := startUAS(t, func(u *uas, d *diago.DialogServerSession) {
		_ = d.Trying()
		med, err := d.ProgressMedia(diago.ProgressMediaOptions{})
		if err != nil {
			t.Error(err)
			got <- ""
			return
		}
		defer med.Close()
		if err := play(t, med, 0, promptPath(t, "enter-pin")); err != nil {
			t.Error(err)
		}
		var digits strings.Builder
		deadline := time.After(10 * time.Second)
	collect:
		for digits.Len() < 5 {
			select {
			case d1 := <-u.digits:
				digits.WriteRune(d1)
				_ = d.Ringing()
			case <-deadline:
				break collect
			}
		}
		got <- digits.String()
		_ = d.Respond(603, "Decline", nil)
	})
	res, err := Call(callCtx(t), CallConfig{Target: u.uri("+13035550100"),
		Behaviour: Behaviour{Prompts: prompts, DTMFMode: DTMFInfo, Script: cues(t, "enter-pin=1234#")}})
	if err != nil {
		t.Fatal(err)
	}
	if digits := <-got; digits != "1234#" || res.DigitsSent != "1234#" {
		t.Errorf("the UAS received %q, the caller sent %q; want 1234# both\n%s", digits, res.DigitsSent, res)
	}
	if res.Outcome != OutcomeRejected || res.Status != 603 {
		t.Errorf("outcome %s %d, want rejected 603\n%s", res.Outcome, res.Status, res)
	}
}

// The challenge: the caller keys back the digits it heard announced.
func TestCallEchoesChallengeDigits(t *testing.T) {
	t.Parallel()
	prompts := loadTestPrompts(t)
	got := make(chan string, 1)
	u := startUAS(t, func(u *uas, d *diago.DialogServerSession) {
		_ = d.Trying()
		med, err := d.Answer(diago.AnswerOptions{})
		if err != nil {
			t.Error(err)
			return
		}
		go u.readDTMF(med)
		if err := play(t, med, 250*time.Millisecond, promptPath(t, "challenge"), promptPath(t, "8"), promptPath(t, "3"), promptPath(t, "6")); err != nil {
			t.Error(err)
		}
		got <- u.collect(3, 15*time.Second)
		_ = d.Hangup(context.Background())
	})
	res, err := Call(callCtx(t), CallConfig{Target: u.uri("+13035550100"), From: "+17195551212",
		Behaviour: Behaviour{Prompts: prompts, Script: cues(t, "challenge=echo-digits"), Probe: Probe{Off: true}}})
	if err != nil {
		t.Fatal(err)
	}
	if digits := <-got; digits != "836" {
		t.Errorf("the UAS received %q, want 836\n%s", digits, res)
	}
}

// A redirect server answers 302 with a Contact carrying a token; the
// caller follows it to the second UAS: the Request-URI is the Contact,
// To and Call-ID stay.
func TestCallFollows302(t *testing.T) {
	t.Parallel()
	type seen struct{ ruri, to, callID string }
	b2bua := make(chan seen, 1)
	target := startUAS(t, func(u *uas, d *diago.DialogServerSession) {
		req := d.InviteRequest
		b2bua <- seen{req.Recipient.String(), req.To().Address.String(), req.CallID().Value()}
		_ = d.Trying()
		med, err := d.Answer(diago.AnswerOptions{})
		if err != nil {
			t.Error(err)
			return
		}
		_ = med
		time.Sleep(300 * time.Millisecond)
		_ = d.Hangup(context.Background())
	})
	contact := "sip:screen@" + target.addr + ";cgt=TOKEN123"
	redirect := startUAS(t, func(u *uas, d *diago.DialogServerSession) {
		var c gosip.Uri
		if err := gosip.ParseUri(contact, &c); err != nil {
			t.Error(err)
			return
		}
		_ = d.Respond(302, "Moved Temporarily", nil, &gosip.ContactHeader{Address: c})
	})
	res, err := Call(callCtx(t), CallConfig{Target: redirect.uri("+13035550100"), From: "+17195551212", Behaviour: Behaviour{Probe: Probe{Off: true}}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != OutcomeAnswered || len(res.Redirects) != 1 || res.Redirects[0].Status != 302 {
		t.Fatalf("outcome %s redirects %+v, want answered after one 302\n%s", res.Outcome, res.Redirects, res)
	}
	s := <-b2bua
	if !strings.Contains(s.ruri, "cgt=TOKEN123") || !strings.HasPrefix(s.ruri, "sip:screen@") {
		t.Errorf("second INVITE Request-URI %q, want the Contact %q", s.ruri, contact)
	}
	if !strings.HasPrefix(s.to, "sip:+13035550100@"+redirect.addr) || s.callID != res.CallID {
		t.Errorf("second INVITE To %q Call-ID %q, want the first's (%s, %s)", s.to, s.callID, redirect.uri("+13035550100"), res.CallID)
	}
	if res.RequestURI != contact {
		t.Errorf("Result.RequestURI %q, want %q", res.RequestURI, contact)
	}
}

// 603 and 608 end the call as rejected with the reason; a 302 is not
// followed when redirects are off, and ends it as redirected.
func TestCallRejected(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		status    int
		reason    string
		redirects int
	}{{603, "Decline", 0}, {608, "Rejected", 0}, {302, "Moved Temporarily", -1}} {
		t.Run(tc.reason, func(t *testing.T) {
			t.Parallel()
			u := startUAS(t, func(u *uas, d *diago.DialogServerSession) {
				var hs []gosip.Header
				if tc.status == 302 {
					hs = append(hs, &gosip.ContactHeader{Address: gosip.Uri{Scheme: "sip", User: "x", Host: "127.0.0.1", Port: 9}})
				}
				_ = d.Respond(tc.status, tc.reason, nil, hs...)
			})
			res, err := Call(callCtx(t), CallConfig{Target: u.uri("+13035550100"), MaxRedirects: tc.redirects})
			if err != nil {
				t.Fatal(err)
			}
			want := OutcomeRejected
			if tc.status < 400 {
				want = OutcomeRedirected
			}
			if res.Outcome != want || res.Status != tc.status || res.Reason != tc.reason {
				t.Errorf("got %s %d %q, want %s %d %q\n%s", res.Outcome, res.Status, res.Reason, want, tc.status, tc.reason, res)
			}
		})
	}
}

// The caller hangs up while it rings (CANCEL reaches the UAS) and after
// the answer on a cue (BYE reaches it).
func TestCallerHangsUp(t *testing.T) {
	t.Parallel()
	prompts := loadTestPrompts(t)
	t.Run("ringing", func(t *testing.T) {
		t.Parallel()
		cancelled := make(chan bool, 1)
		u := startUAS(t, func(u *uas, d *diago.DialogServerSession) {
			_ = d.Trying()
			_ = d.Ringing()
			select {
			case <-d.Context().Done():
				cancelled <- true
			case <-time.After(20 * time.Second):
				cancelled <- false
			}
		})
		res, err := Call(callCtx(t), CallConfig{Target: u.uri("+13035550100"), HangupAfter: 500 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if !<-cancelled {
			t.Error("the UAS never saw the CANCEL")
		}
		if res.Outcome != OutcomeCancelled || res.Status != 487 {
			t.Errorf("got %s %d, want cancelled with 487\n%s", res.Outcome, res.Status, res)
		}
	})
	t.Run("answered", func(t *testing.T) {
		t.Parallel()
		bye := make(chan bool, 1)
		u := startUAS(t, func(u *uas, d *diago.DialogServerSession) {
			_ = d.Trying()
			med, err := d.Answer(diago.AnswerOptions{})
			if err != nil {
				t.Error(err)
				return
			}
			_ = play(t, med, 0, promptPath(t, "say-name"))
			select {
			case <-d.Context().Done():
				bye <- true
			case <-time.After(20 * time.Second):
				bye <- false
			}
		})
		res, err := Call(callCtx(t), CallConfig{Target: u.uri("+13035550100"),
			Behaviour: Behaviour{Prompts: prompts, Script: cues(t, "say-name+200ms=hangup"), Probe: Probe{Off: true}}})
		if err != nil {
			t.Fatal(err)
		}
		if !<-bye {
			t.Error("the UAS never saw the BYE")
		}
		if res.Outcome != OutcomeAnswered || res.EndedBy != "local" {
			t.Errorf("got %s ended by %q, want answered, local\n%s", res.Outcome, res.EndedBy, res)
		}
	})
}

// Early media, then the answer on the same media: the first prompt is
// heard as early media, the second after the answer.
func TestCallEarlyMediaThenAnswer(t *testing.T) {
	t.Parallel()
	prompts := loadTestPrompts(t)
	u := startUAS(t, func(u *uas, d *diago.DialogServerSession) {
		_ = d.Trying()
		med, err := d.ProgressMedia(diago.ProgressMediaOptions{})
		if err != nil {
			t.Error(err)
			return
		}
		defer med.Close()
		if err := play(t, med, 0, promptPath(t, "say-name")); err != nil {
			t.Error(err)
		}
		if err := d.AnswerEarlyMedia(med, diago.AnswerOptions{}); err != nil {
			t.Error(err)
			return
		}
		time.Sleep(300 * time.Millisecond)
		if err := play(t, med, 0, promptPath(t, "enter-pin")); err != nil {
			t.Error(err)
		}
		time.Sleep(300 * time.Millisecond)
		_ = d.Hangup(context.Background())
	})
	res, err := Call(callCtx(t), CallConfig{Target: u.uri("+13035550100"), Behaviour: Behaviour{Prompts: prompts, Probe: Probe{Off: true}}})
	if err != nil {
		t.Fatal(err)
	}
	early := map[string]bool{}
	for _, e := range res.Timeline {
		if e.Kind == KindPrompt {
			early[e.Prompt] = e.Early
		}
	}
	if res.Outcome != OutcomeAnswered || !res.EarlyMedia || !slices.Equal(res.Prompts, []string{"say-name", "enter-pin"}) || !early["say-name"] || early["enter-pin"] {
		t.Errorf("outcome %s early %v prompts %q (early: %v)\n%s", res.Outcome, res.EarlyMedia, res.Prompts, early, res)
	}
}
