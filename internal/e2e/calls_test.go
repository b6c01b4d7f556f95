package e2e

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"callgate/e164"
	"callgate/policy/decisionlog"
	"callgate/scp/ain"
	"callgate/simulators/sip"
	"callgate/simulators/ssp"
)

// Every call of issue 10's acceptance, in parallel against one daemon;
// then the decision log holds each B2BUA call's story.
func TestCalls(t *testing.T) {
	p := startPlatform(t)
	// The caller says its name when asked and keys '#' to end it.
	const sayName = "name_record=wait:300ms say;#"
	// Both sides hang up once the probe exchange is done.
	const doneAfterTone = "@tone+1500ms=hangup"

	// ran notes the callers whose subtests ran (go test -run may pick
	// some): their stories are checked.
	var mu sync.Mutex
	called := map[string]bool{}
	ran := func(from string) string {
		mu.Lock()
		defer mu.Unlock()
		called[from] = true
		return from
	}

	t.Run("group", func(t *testing.T) {
		t.Run("vip allowed", func(t *testing.T) {
			t.Parallel()
			phone := p.answer(t, "vip", sip.AnswerConfig{RingFor: 500 * time.Millisecond})
			res := p.call(t, mom, number("vip"), doneAfterTone)
			got := next(t, phone)
			// The redirect tier sends a VIP straight to the continue route:
			// the subscriber's phone, no B2BUA.
			if len(res.Redirects) != 1 || !strings.Contains(res.Redirects[0].Contact, p.subPhone.Addr()) {
				t.Errorf("redirects %+v, want one 302 to the subscriber's phone %s", res.Redirects, p.subPhone.Addr())
			}
			if res.Outcome != sip.OutcomeAnswered || !res.Probe.Heard || !got.Probe.Heard {
				t.Errorf("outcome %s, caller heard tone %v, subscriber %v\n%s\n%s", res.Outcome, res.Probe.Heard, got.Probe.Heard, res, got)
			}
		})

		t.Run("blocked with media", func(t *testing.T) {
			t.Parallel()
			res := p.call(t, telemarket, number("blocked"))
			if res.Status != 603 || !res.EarlyMedia || !res.Heard("announcement_101") || res.Answered {
				t.Errorf("status %d, early media %v, prompts %v, answered %v; want announcement_101 as early media, then 603\n%s",
					res.Status, res.EarlyMedia, res.Prompts, res.Answered, res)
			}
			if len(res.Redirects) != 1 || !strings.Contains(res.Redirects[0].Contact, p.b2buaAddr) {
				t.Errorf("redirects %+v, want one 302 to the B2BUA %s", res.Redirects, p.b2buaAddr)
			}
		})

		t.Run("pin right", func(t *testing.T) {
			t.Parallel()
			phone := p.answer(t, "pin", sip.AnswerConfig{RingFor: 500 * time.Millisecond})
			res := p.call(t, ran(caller(1)), number("pin"), "pin_enter="+subPIN+"#", doneAfterTone)
			got := next(t, phone)
			if res.Outcome != sip.OutcomeAnswered || !res.Heard("pin_enter") || res.Heard("name_record") || !res.Probe.Heard || !got.Probe.Heard {
				t.Errorf("outcome %s, prompts %v, tones %v/%v; want the PIN asked, then the subscriber bridged\n%s\n%s",
					res.Outcome, res.Prompts, res.Probe.Heard, got.Probe.Heard, res, got)
			}
		})

		t.Run("pin wrong three times", func(t *testing.T) {
			t.Parallel()
			res := p.call(t, ran(caller(2)), number("pin"), "pin_enter=1111#", "pin_wrong*2=1111#")
			if !res.Heard("pin_failed") || strings.Count(strings.Join(res.Prompts, " "), "pin_wrong") != 2 || res.EndedBy != "remote" {
				t.Errorf("prompts %v, ended by %s; want pin_wrong twice, pin_failed, released\n%s", res.Prompts, res.EndedBy, res)
			}
		})

		t.Run("screen accept", func(t *testing.T) {
			t.Parallel()
			phone := p.answer(t, "accept", sip.AnswerConfig{RingFor: 500 * time.Millisecond,
				Behaviour: sip.Behaviour{Script: cues(t, "screen_menu=1")}})
			res := p.call(t, ran(caller(3)), number("accept"), sayName, doneAfterTone)
			got := next(t, phone)
			if !res.Heard("name_record") || !res.Heard("please_hold") || !got.Heard("screen_call_from") || got.Speech == 0 || !got.Heard("screen_menu") {
				t.Errorf("caller heard %v; subscriber heard %v and %d speech segments (the name)\n%s\n%s", res.Prompts, got.Prompts, got.Speech, res, got)
			}
			if !res.Probe.Heard || !got.Probe.Heard {
				t.Errorf("audio both ways end to end: caller heard the subscriber's tone %v, subscriber the caller's %v\n%s\n%s", res.Probe.Heard, got.Probe.Heard, res, got)
			}
		})

		t.Run("screen refuse", func(t *testing.T) {
			t.Parallel()
			phone := p.answer(t, "refuse", sip.AnswerConfig{RingFor: 500 * time.Millisecond,
				Behaviour: sip.Behaviour{Script: cues(t, "screen_menu=2")}})
			res := p.call(t, ran(caller(4)), number("refuse"), sayName)
			got := next(t, phone)
			if !res.Heard("screen_refused") || res.EndedBy != "remote" || got.DigitsSent != "2" {
				t.Errorf("caller heard %v (ended by %s), subscriber keyed %q; want screen_refused and release\n%s\n%s", res.Prompts, res.EndedBy, got.DigitsSent, res, got)
			}
		})

		t.Run("screen voicemail", func(t *testing.T) {
			t.Parallel()
			phone := p.answer(t, "press3", sip.AnswerConfig{RingFor: 500 * time.Millisecond,
				Behaviour: sip.Behaviour{Script: cues(t, "screen_menu=3")}})
			vm := p.voicemailBox(t, "press3")
			res := p.call(t, caller(5), number("press3"), sayName, "voicemail_transfer+3s=hangup")
			got, box := next(t, phone), next(t, vm)
			if got.DigitsSent != "3" || !res.Heard("voicemail_transfer") {
				t.Errorf("subscriber keyed %q, caller heard %v\n%s\n%s", got.DigitsSent, res.Prompts, res, got)
			}
			checkDiversion(t, box, "press3", "deflection")
		})

		t.Run("screen no answer voicemail", func(t *testing.T) {
			t.Parallel()
			phone := p.answer(t, "noanswer", sip.AnswerConfig{NoAnswer: true})
			vm := p.voicemailBox(t, "noanswer")
			res := p.call(t, ran(caller(6)), number("noanswer"), sayName, "voicemail_transfer+3s=hangup")
			got, box := next(t, phone), next(t, vm)
			if !got.Cancelled || !res.Heard("voicemail_transfer") {
				t.Errorf("subscriber cancelled %v (rang out), caller heard %v\n%s\n%s", got.Cancelled, res.Prompts, res, got)
			}
			checkDiversion(t, box, "noanswer", "no-answer")
		})

		t.Run("challenge passed", func(t *testing.T) {
			t.Parallel()
			phone := p.answer(t, "challenge", sip.AnswerConfig{RingFor: 500 * time.Millisecond})
			res := p.call(t, ran(caller(7)), number("challenge"), "challenge_intro=echo-digits", doneAfterTone)
			got := next(t, phone)
			if !res.Heard("challenge_intro") || res.Heard("challenge_wrong") || len(res.DigitsSent) != 3 || !res.Probe.Heard || !got.Probe.Heard {
				t.Errorf("caller heard %v, keyed %q, tones %v/%v; want the digits echoed and the subscriber bridged\n%s\n%s",
					res.Prompts, res.DigitsSent, res.Probe.Heard, got.Probe.Heard, res, got)
			}
		})

		t.Run("challenge failed", func(t *testing.T) {
			t.Parallel()
			// '*' is never a challenge digit: each try is wrong.
			res := p.call(t, ran(caller(8)), number("challenge"), "challenge_intro*3=***")
			if !res.Heard("challenge_failed") || strings.Count(strings.Join(res.Prompts, " "), "challenge_wrong") != 2 || res.EndedBy != "remote" {
				t.Errorf("caller heard %v (ended by %s); want challenge_wrong twice, challenge_failed, release\n%s", res.Prompts, res.EndedBy, res)
			}
		})

		t.Run("caller hangs up while the subscriber rings", func(t *testing.T) {
			t.Parallel()
			phone := p.answer(t, "ringcancel", sip.AnswerConfig{NoAnswer: true})
			res := p.call(t, ran(caller(9)), number("ringcancel"), sayName, "please_hold+1s=hangup")
			got := next(t, phone)
			if !got.Cancelled || got.Outcome != sip.OutcomeCancelled || res.EndedBy != "local" {
				t.Errorf("subscriber %s (cancelled %v), caller ended by %s; want the CANCEL at the ringing phone\n%s\n%s", got.Outcome, got.Cancelled, res.EndedBy, res, got)
			}
		})

		t.Run("rtp timeout", func(t *testing.T) {
			t.Parallel()
			res := p.call(t, ran(caller(10)), number("rtptimeout"), "@media=rtp-off")
			if res.Outcome != sip.OutcomeAnswered || res.EndedBy != "remote" {
				t.Errorf("outcome %s ended by %s; want the B2BUA to release the silent caller\n%s", res.Outcome, res.EndedBy, res)
			}
		})

		t.Run("forged token", func(t *testing.T) {
			t.Parallel()
			// A real 302 to the B2BUA (that call hangs up once answered);
			// its token tampered with.
			res := p.place(t, sip.CallConfig{Target: "sip:" + number("forged") + "@" + p.sipAddr, From: caller(11), MaxRedirects: 1}, "@answer=hangup")
			if len(res.Redirects) != 1 || !res.Answered {
				t.Fatalf("redirect server: %d %s\n%s", res.Status, res.Reason, res)
			}
			contact := strings.Trim(res.Redirects[0].Contact, "<>")
			i := strings.Index(contact, "cgt=")
			if i < 0 {
				t.Fatalf("302 Contact %q has no token", contact)
			}
			tok := []byte(contact[i+4:])
			j := len(tok) / 2
			tok[j] = map[bool]byte{true: 'A', false: 'B'}[tok[j] != 'A']
			forged := contact[:i+4] + string(tok)
			got := p.place(t, sip.CallConfig{Target: forged, From: caller(11), To: "sip:" + number("forged") + "@" + p.sipAddr})
			if got.Status != 403 || !strings.Contains(got.Reason, "Screening Token") || got.Answered {
				t.Errorf("forged token: %d %q, want 403 Screening Token ...\n%s", got.Status, got.Reason, got)
			}
		})

		t.Run("ain forwardCall then gateway", func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			sw, err := ssp.Dial(ctx, ssp.Config{Connect: []string{p.scpAddr}, RoutingContexts: []uint32{10}, Timeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			defer sw.Close()
			called := e164.MustParse(number("ain"))
			ans, err := sw.TerminationAttempt(ctx, ssp.TA{Calling: e164.MustParse(caller(12)), Called: called})
			if err != nil {
				t.Fatal(err)
			}
			fwd, ok := ans.Arg.(*ain.ForwardCallArg)
			if !ok {
				t.Fatalf("SCP answered %s %T, want forwardCall", ans.Operation, ans.Arg)
			}
			routing, _ := fwd.CalledPartyID.V.E164()
			original, _ := fwd.RedirectingPartyID.V.E164()
			if routing.String() != routingNumber || original != called {
				t.Fatalf("forwardCall to %v redirecting %v; want %s redirecting %v", routing, original, routingNumber, called)
			}
			// The switch routes the call to the routing number; the TDM
			// gateway sends it to the B2BUA with a Diversion header.
			res := p.place(t, sip.CallConfig{
				Target:    "sip:" + routing.String() + "@" + p.b2buaAddr + ";user=phone",
				From:      caller(12),
				Diversion: []string{original.String()},
			}, "name_record+500ms=hangup")
			if !res.Answered || !res.Heard("name_record") {
				t.Errorf("gateway call: answered %v, heard %v; want the screening's name prompt\n%s", res.Answered, res.Prompts, res)
			}
		})
	})

	// The decision log, searched as `callgate log search --number` does,
	// tells each B2BUA call's story.
	stories := map[string][]string{
		caller(3):  {"name recorded", "subscriber answered", "screen accept", "bridge connected"},
		caller(4):  {"screen refuse"},
		caller(2):  {"pin wrong", "pin failed"},
		caller(1):  {"pin right"},
		caller(6):  {"subscriber no-answer", "voicemail connected"},
		caller(8):  {"challenge failed"},
		caller(7):  {"challenge passed"},
		caller(9):  {"subscriber abandoned", "end abandoned"},
		caller(10): {"end rtp-timeout"},
	}
	if err := p.d.Shutdown(); err != nil {
		t.Fatal(err)
	}
	dl, err := decisionlog.OpenReadOnly(p.cfg.DecisionLogPath())
	if err != nil {
		t.Fatal(err)
	}
	defer dl.Close()
	for from, want := range stories {
		if !called[from] {
			continue
		}
		recs, err := dl.Search(decisionlog.Query{Number: e164.MustParse(from)})
		if err != nil {
			t.Fatal(err)
		}
		steps, err := dl.StepsOf(recs)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, ss := range steps {
			for _, s := range ss {
				got = append(got, s.Name+" "+s.Outcome)
			}
		}
		for _, w := range want {
			if !slices.Contains(got, w) {
				var b strings.Builder
				_ = decisionlog.WriteTextSteps(&b, recs, steps)
				t.Errorf("call from %s: steps %v lack %q\n%s", from, got, w, b.String())
				break
			}
		}
	}
}

// checkDiversion checks the voicemail platform got the call diverted
// from the subscriber, with the reason.
func checkDiversion(t *testing.T, box *sip.AnswerResult, name, reason string) {
	t.Helper()
	div := strings.Join(box.Diversion, ", ")
	if !strings.Contains(div, number(name)) || !strings.Contains(div, "reason="+reason) || box.Mailbox.Number != number(name) {
		t.Errorf("voicemail saw Diversion %q (mailbox %+v), want %s with reason=%s\n%s", div, box.Mailbox, number(name), reason, box)
	}
}
