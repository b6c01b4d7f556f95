package sip

import (
	"context"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/emiago/diago"
)

func answerer(t *testing.T, cfg AnswerConfig) *Answerer {
	t.Helper()
	a, err := Answer(context.Background(), PhoneConfig{}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

func next(t *testing.T, a *Answerer) *AnswerResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := a.Next(ctx)
	if err != nil {
		t.Fatalf("the answering phone reported no call: %v", err)
	}
	return r
}

// The subscriber's phone refuses (busy), or rings and answers; the caller
// sees each.
func TestAnswerAcceptAndRefuse(t *testing.T) {
	t.Parallel()
	t.Run("busy", func(t *testing.T) {
		t.Parallel()
		a := answerer(t, AnswerConfig{Respond: 486})
		res, err := Call(callCtx(t), CallConfig{Target: a.URI("+13035550100"), From: "+17195551212"})
		if err != nil {
			t.Fatal(err)
		}
		got := next(t, a)
		if res.Outcome != OutcomeRejected || res.Status != 486 || got.Outcome != OutcomeRejected || got.Status != 486 {
			t.Errorf("caller %s %d, callee %s %d; want 486 both sides\n%s\n%s", res.Outcome, res.Status, got.Outcome, got.Status, res, got)
		}
	})
	t.Run("answer", func(t *testing.T) {
		t.Parallel()
		a := answerer(t, AnswerConfig{RingFor: 300 * time.Millisecond, HangupAfter: time.Second, Behaviour: Behaviour{Probe: Probe{Off: true}}})
		res, err := Call(callCtx(t), CallConfig{Target: a.URI("+13035550100"), From: "+17195551212", Behaviour: Behaviour{Probe: Probe{Off: true}}})
		if err != nil {
			t.Fatal(err)
		}
		got := next(t, a)
		if res.Outcome != OutcomeAnswered || res.EndedBy != "remote" || got.Outcome != OutcomeAnswered || got.EndedBy != "local" {
			t.Errorf("caller %s/%s, callee %s/%s; want answered, hung up by the callee\n%s\n%s", res.Outcome, res.EndedBy, got.Outcome, got.EndedBy, res, got)
		}
		ringing := false
		for _, e := range res.Timeline {
			ringing = ringing || (e.Kind == KindSIP && e.Status == 180)
		}
		if !ringing {
			t.Errorf("no 180 Ringing in the caller's timeline\n%s", res)
		}
		// The caller's phone closes as soon as Call returns: its 200 OK
		// to the callee's BYE must be out by then.
		byeOK := false
		for _, e := range got.Timeline {
			byeOK = byeOK || (e.Kind == KindSIP && e.Dir == "in" && e.Method == "BYE" && e.Status == 200)
		}
		if !byeOK {
			t.Errorf("the callee's BYE was not answered 200\n%s", got)
		}
	})
	t.Run("cancelled while ringing", func(t *testing.T) {
		t.Parallel()
		a := answerer(t, AnswerConfig{NoAnswer: true})
		res, err := Call(callCtx(t), CallConfig{Target: a.URI("+13035550100"), HangupAfter: 700 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		got := next(t, a)
		if res.Outcome != OutcomeCancelled || got.Outcome != OutcomeCancelled || !got.Cancelled {
			t.Errorf("caller %s, callee %s; want cancelled both sides\n%s\n%s", res.Outcome, got.Outcome, res, got)
		}
	})
}

// bridge is a UAS that answers the caller, plays prompts, then calls the
// subscriber and bridges the two legs with diago's bridge (as the B2BUA
// does after "press 1"), keying nothing itself.
func bridge(t *testing.T, subscriber string, prompts ...string) *uas {
	return startUAS(t, func(u *uas, in *diago.DialogServerSession) {
		_ = in.Trying()
		med, err := in.Answer(diago.AnswerOptions{})
		if err != nil {
			t.Error(err)
			return
		}
		if err := play(t, med, 0, prompts...); err != nil {
			t.Error(err)
			return
		}
		br := diago.NewBridge()
		if err := br.AddDialogMedia(med); err != nil {
			t.Error(err)
			return
		}
		var uri = mustURI(t, subscriber)
		ctx, cancel := context.WithTimeout(in.Context(), 10*time.Second)
		defer cancel()
		out, outMed, err := u.dg.InviteBridge(ctx, uri, &br, diago.InviteOptions{})
		if err != nil {
			t.Error(err)
			return
		}
		defer outMed.Close()
		defer out.Close()
		select {
		case <-in.Context().Done():
			_ = out.Hangup(context.Background())
		case <-out.Context().Done():
			_ = in.Hangup(context.Background())
		}
	})
}

// Bridged through a B2BUA, the callee sends its probe tone once the line is
// quiet, the caller answers with its own, and each hears the other's:
// audio flows both ways.
func TestProbeToneBothWaysThroughABridge(t *testing.T) {
	t.Parallel()
	prompts := loadTestPrompts(t)
	callee := answerer(t, AnswerConfig{RingFor: 200 * time.Millisecond, Behaviour: Behaviour{Script: cues(t, "@tone+1500ms=hangup")}})
	b := bridge(t, callee.URI("+13035550100"), promptPath(t, "say-name"))
	res, err := Call(callCtx(t), CallConfig{Target: b.uri("+13035550100"), From: "+17195551212", Behaviour: Behaviour{Prompts: prompts}})
	if err != nil {
		t.Fatal(err)
	}
	got := next(t, callee)
	if !res.Probe.Heard || !res.Probe.Sent || res.Probe.ExpectHz != DefaultCalleeToneHz {
		t.Errorf("caller probe %+v: want the callee's %d Hz heard and its own sent\n%s", res.Probe, DefaultCalleeToneHz, res)
	}
	if !got.Probe.Heard || !got.Probe.Sent || got.Probe.ExpectHz != DefaultCallerToneHz {
		t.Errorf("callee probe %+v: want the caller's %d Hz heard and its own sent\n%s", got.Probe, DefaultCallerToneHz, got)
	}
	if !res.Heard("say-name") {
		t.Errorf("the caller did not recognise the prompt before the bridge\n%s", res)
	}
}

// Without a path back (the callee's audio never reaches the caller) the
// caller hears no tone and sends none; the callee hears nothing either.
func TestProbeToneNotHeardWithoutAudio(t *testing.T) {
	t.Parallel()
	u := startUAS(t, func(u *uas, in *diago.DialogServerSession) {
		_ = in.Trying()
		med, err := in.Answer(diago.AnswerOptions{})
		if err != nil {
			t.Error(err)
			return
		}
		_ = med
		<-in.Context().Done()
	})
	res, err := Call(callCtx(t), CallConfig{Target: u.uri("+13035550100"), HangupAfter: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.Probe.Heard || res.Probe.Sent {
		t.Errorf("probe %+v: nothing played, nothing should be heard or sent\n%s", res.Probe, res)
	}
}

// The subscriber's phone hears "you have a call from", the caller's name
// (recognised when added as a reference, else reported as speech), and
// "press 1 ...", and keys 1.
func TestAnswerHearsTheNameAndKeysAccept(t *testing.T) {
	t.Parallel()
	prompts := loadTestPrompts(t)
	withName, err := LoadPrompts(espeakPrompts(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := withName.Add("name", GeneratedName()); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		prompts *Prompts
		heard   []string
		speech  int
	}{
		{"speech", prompts, []string{"call-from", "press-1"}, 1},
		{"named", withName, []string{"call-from", "name", "press-1"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			callee := answerer(t, AnswerConfig{Behaviour: Behaviour{Prompts: tc.prompts, Script: cues(t, "press-1=1"), Probe: Probe{Off: true}}})
			// The B2BUA side: calls the subscriber, plays the three parts
			// and waits for the digit.
			digits := make(chan string, 1)
			caller, err := NewPhone(context.Background(), PhoneConfig{})
			if err != nil {
				t.Fatal(err)
			}
			defer caller.Close()
			name := writeWAV(t, GeneratedName())
			go func() {
				u := startUAS(t, func(*uas, *diago.DialogServerSession) {})
				d, med, err := u.dg.Invite(callCtx(t), mustURI(t, callee.URI("+13035550100")), diago.InviteOptions{})
				if err != nil {
					t.Error(err)
					digits <- ""
					return
				}
				go u.readDTMF(med)
				if err := play(t, med, 200*time.Millisecond, promptPath(t, "call-from"), name, promptPath(t, "press-1")); err != nil {
					t.Error(err)
				}
				digits <- u.collect(1, 10*time.Second)
				_ = d.Hangup(context.Background())
				d.Close()
			}()
			if got := <-digits; got != "1" {
				t.Errorf("the B2BUA side got %q, want 1", got)
			}
			got := next(t, callee)
			if !slices.Equal(got.Prompts, tc.heard) || got.Speech != tc.speech {
				t.Errorf("heard %q and %d unexplained speech, want %q and %d\n%s", got.Prompts, got.Speech, tc.heard, tc.speech, got)
			}
			if got.DigitsSent != "1" {
				t.Errorf("DigitsSent %q", got.DigitsSent)
			}
		})
	}
}

// A voicemail platform reached by a gateway after forwardCall: it picks the
// mailbox from Diversion (the oldest entry) or History-Info (the first),
// and records what it hears.
func TestVoicemailMailbox(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tc := range []struct {
		name      string
		diversion []string
		history   []string
		want      Mailbox
	}{
		{"diversion", []string{"+17205550123", "+13035550100"}, nil, Mailbox{"+13035550100", "Diversion"}},
		{"history-info", nil, []string{"+13035550100"}, Mailbox{"+13035550100", "History-Info"}},
		{"none", nil, nil, Mailbox{"+17205559999", "To"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			vm := answerer(t, AnswerConfig{Mode: ModeVoicemail, RecordDir: dir})
			res, err := Call(callCtx(t), CallConfig{Target: vm.URI("+17205559999"), From: "+17195551212",
				Diversion: tc.diversion, HistoryInfo: tc.history,
				Behaviour: Behaviour{Script: cues(t, "@answer=wait:200ms say hangup")}})
			if err != nil {
				t.Fatal(err)
			}
			got := next(t, vm)
			if got.Mailbox != tc.want {
				t.Errorf("mailbox %+v, want %+v (Diversion %q, History-Info %q)", got.Mailbox, tc.want, got.Diversion, got.HistoryInfo)
			}
			if got.RecordedMs < 1000 || got.RecordFile == "" {
				t.Errorf("recorded %.0f ms to %q, want the name (1.2 s) in a file\n%s\n%s", got.RecordedMs, got.RecordFile, res, got)
			} else if pcm, err := ReadWAVFile(got.RecordFile); err != nil || len(pcm) == 0 {
				t.Errorf("recording %s: %v", got.RecordFile, err)
			}
			if res.Outcome != OutcomeAnswered || res.EndedBy != "local" {
				t.Errorf("caller %s/%s", res.Outcome, res.EndedBy)
			}
		})
	}
}

func writeWAV(t *testing.T, pcm []int16) string {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "*.wav")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(EncodeWAV(pcm)); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return f.Name()
}

// One phone plays several subscribers: AnswerUser answers its user's
// calls, the phone's Answer the others.
func TestAnswerUser(t *testing.T) {
	t.Parallel()
	def := answerer(t, AnswerConfig{Respond: 603})
	busy, err := def.p.AnswerUser("+13035550101", AnswerConfig{Respond: 486})
	if err != nil {
		t.Fatal(err)
	}
	for user, want := range map[string]int{"+13035550101": 486, "+13035550100": 603} {
		res, err := Call(callCtx(t), CallConfig{Target: def.URI(user), From: "+17195551212"})
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != want {
			t.Errorf("call to %s: %d, want %d\n%s", user, res.Status, want, res)
		}
	}
	if got := next(t, busy); got.Status != 486 || got.RequestURI != def.URI("+13035550101") {
		t.Errorf("user's answerer saw %d %s", got.Status, got.RequestURI)
	}
	if got := next(t, def); got.Status != 603 {
		t.Errorf("phone's answerer saw %d", got.Status)
	}
}

// An answerer counts its calls in progress: idle is closed while there are
// none, and once stopping it takes no new call.
func TestAnswererIdle(t *testing.T) {
	a := &Answerer{}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	isClosed := func(c <-chan struct{}) bool {
		select {
		case <-c:
			return true
		default:
			return false
		}
	}
	if !isClosed(a.idle()) {
		t.Fatal("idle open with no call")
	}
	if !a.begin() || !a.begin() {
		t.Fatal("begin refused before stopping")
	}
	idle := a.idle()
	a.end()
	if isClosed(idle) {
		t.Fatal("idle closed with a call in progress")
	}
	a.end()
	if !isClosed(idle) || !isClosed(a.idle()) {
		t.Fatal("idle open after the last call ended")
	}
	a.stop()
	if a.begin() {
		t.Fatal("begin accepted a call after stop")
	}
}
