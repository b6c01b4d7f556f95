package b2bua

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"callgate/e164"
	bsip "callgate/internal/baresiptest"
	"callgate/policy"
	"callgate/store/storetest"
)

// baresip is a real softphone (internal/baresiptest) on one leg, whose audio
// the test names with the tone classifier of its diago phones.
type baresip struct {
	*bsip.Phone
	t *testing.T
}

// startBaresip runs one baresip on loopback; it is stopped when the test
// ends.
func startBaresip(t *testing.T, name string, c bsip.Config) *baresip {
	t.Helper()
	return &baresip{Phone: bsip.Start(t, name, c), t: t}
}

// heard is what the phone has heard so far: the sounds of its received
// audio in order, consecutive repeats folded, and 20 ms frames per sound.
func (b *baresip) heard() ([]string, map[string]int) {
	b.t.Helper()
	samples := b.Heard()
	freqs := recognised()
	var seq []string
	frames := map[string]int{}
	for ; len(samples) >= 160; samples = samples[160:] {
		if name := classify(samples[:160], freqs); name != "" {
			frames[name]++
			if len(seq) == 0 || seq[len(seq)-1] != name {
				seq = append(seq, name)
			}
		}
	}
	return seq, frames
}

// waitHeard waits until the phone has heard name for at least 3 frames.
func (b *baresip) waitHeard(name string) {
	b.t.Helper()
	waitFor(b.t, "baresip hearing "+name, func() bool {
		_, f := b.heard()
		return f[name] >= 3
	})
}

// silencePCM is d of silence.
func silencePCM(d time.Duration) []byte { return make([]byte, 2*int(d.Seconds()*8000)) }

// TestBaresipScreenedCall is the screened call between two real softphones:
// the caller offers Opus, G.722 and G.711 and says its name after the
// prompt; the subscriber's phone answers, hears who is calling and presses
// 1; the two talk through the B2BUA and both phones send re-INVITEs.
func TestBaresipScreenedCall(t *testing.T) {
	t.Parallel()
	sub, h := baresipSubscriber(t)
	// The caller's name: a moment of silence while the prompt plays, the
	// name, a pause that ends the recording; then the caller talks on.
	var talk []byte
	talk = append(talk, silencePCM(600*time.Millisecond)...)
	talk = append(talk, tonePCM(callerVoice, 800*time.Millisecond, 0)...)
	talk = append(talk, silencePCM(1200*time.Millisecond)...)
	talk = append(talk, tonePCM(callerVoice, time.Minute, 0)...)
	caller := baresipCaller(t, h, policy.Decision{Action: policy.ActionScreen, Subscriber: 7}, talk, "opus", "g722", "g711")
	caller.WaitEvent("CALL_ESTABLISHED")
	caller.waitHeard(pNameRecord)

	in := sub.WaitEvent("CALL_ESTABLISHED")
	if peer, _ := in["peeruri"].(string); !strings.Contains(peer, nCaller.String()) {
		t.Errorf("the subscriber's phone was called by %q, not the caller's number", peer)
	}
	sub.waitHeard(pScreenMenu)
	sub.Key('1')
	h.waitStep("bridge", "connected")
	caller.waitHeard("subscriber-voice")
	_, before := sub.heard()
	waitFor(t, "the caller's voice at the subscriber after the bridge", func() bool {
		_, f := sub.heard()
		return f["caller-voice"] > before["caller-voice"]+25
	})
	if got, _ := sub.heard(); !inOrder(got, pCallFrom, "caller-voice", pScreenMenu) {
		t.Errorf("the subscriber heard %v: not who is calling, then the menu", got)
	}
	if got, _ := caller.heard(); !inOrder(got, pNameRecord, pPleaseHold, "subscriber-voice") {
		t.Errorf("the caller heard %v", got)
	}
	// A re-INVITE from either phone (a session refresh: the same SDP
	// again) is answered and the two still hear each other.
	reinviteBoth(t, caller, sub)
	caller.Command("hangup", "")
	sub.WaitEvent("CALL_CLOSED")
	steps := h.waitStep("end", "caller-hangup")
	if got := stepString(steps); !strings.Contains(got, "name=recorded subscriber=ringing subscriber=answered screen=accept bridge=connected end=caller-hangup") {
		t.Errorf("steps %q", got)
	}
}

// reinviteBoth has both phones of a bridged call send a re-INVITE and
// checks that both are answered (the caller's second SDP answer, the
// subscriber's first: its INVITE came with an offer), neither call ends,
// and each phone still hears the other.
func reinviteBoth(t *testing.T, caller, sub *baresip) {
	t.Helper()
	for _, p := range []*baresip{caller, sub} {
		p.Command("reinvite", "")
	}
	_, before := sub.heard()
	_, cbefore := caller.heard()
	waitFor(t, "both voices after the re-INVITEs", func() bool {
		_, f := sub.heard()
		_, c := caller.heard()
		return f["caller-voice"] > before["caller-voice"]+25 && c["subscriber-voice"] > cbefore["subscriber-voice"]+25
	})
	for _, p := range []struct {
		name    string
		b       *baresip
		answers int
	}{{"caller", caller, 2}, {"subscriber", sub, 1}} {
		if p.b.Saw("CALL_CLOSED") {
			t.Fatalf("the %s's call ended at its re-INVITE", p.name)
		}
		if n := p.b.Count("CALL_REMOTE_SDP", "answer"); n != p.answers {
			t.Errorf("the %s's phone had %d SDP answers, want %d: its re-INVITE was not answered", p.name, n, p.answers)
		}
	}
}

// baresipCaller starts the caller's softphone (its number nCaller) and
// dials the screening URI with a token for d.
func baresipCaller(t *testing.T, h *harness, d policy.Decision, talk []byte, codecs ...string) *baresip {
	t.Helper()
	return baresipCallerAs(t, h, d, bsip.Config{Codecs: codecs, Talk: talk})
}

// baresipCallerAs is baresipCaller with the phone's account parameters
// from p (its number is set).
func baresipCallerAs(t *testing.T, h *harness, d policy.Decision, p bsip.Config) *baresip {
	t.Helper()
	p.AOR = "sip:" + nCaller.String() + "@127.0.0.1"
	caller := startBaresip(t, "caller", p)
	// baresip 1.0 does not follow a 302 and puts the Request-URI in To: it
	// dials the screening URI with the subscriber's number as its user, as
	// a proxy that kept the number would send it.
	to := h.inviteURI(h.token(d))
	to.User = nSub.String()
	caller.Command("dial", to.String())
	return caller
}

// baresipSubscriber starts the subscriber's softphone, which answers at
// once and talks with the subscriber's voice, and a harness whose
// subscriber route is that phone.
func baresipSubscriber(t *testing.T) (*baresip, *harness) {
	t.Helper()
	return baresipSubscriberAs(t, bsip.Config{AutoAnswer: true})
}

// baresipSubscriberAs is baresipSubscriber with the phone's answer mode
// and account parameters from p (its number, codecs and voice are set).
func baresipSubscriberAs(t *testing.T, p bsip.Config) (*baresip, *harness) {
	t.Helper()
	p.AOR, p.Codecs, p.Talk = "sip:"+nSub.String()+"@127.0.0.1", []string{"g711"}, tonePCM(subscriberVoice, time.Minute, 0)
	sub := startBaresip(t, "subscriber", p)
	h := newHarness(t, func(c *Config) { c.ContinueRoute = "sip:{called}@127.0.0.1:" + strconv.Itoa(sub.SIPPort) })
	return sub, h
}

// keyPIN keys the subscriber's override PIN on the caller's phone once it
// hears the prompt.
func keyPIN(caller *baresip) {
	caller.t.Helper()
	caller.waitHeard(pPINEnter)
	for _, d := range "2468#" {
		caller.Key(d)
	}
}

// pinThrough keys the override PIN on the caller's phone at the prompt
// and waits until the two phones hear each other.
func pinThrough(caller, sub *baresip) {
	caller.t.Helper()
	keyPIN(caller)
	sub.WaitEvent("CALL_ESTABLISHED")
	caller.waitHeard("subscriber-voice")
	sub.waitHeard("caller-voice")
}

// hangUp ends the call from the caller's phone and checks that the call's
// steps begin with want.
func hangUp(h *harness, caller *baresip, want string) {
	caller.t.Helper()
	caller.Command("hangup", "")
	if got := stepString(h.waitStep("end", "caller-hangup")); !strings.HasPrefix(got, want) {
		caller.t.Errorf("steps %q, want them to begin %q", got, want)
	}
}

// The override PIN keyed on a real phone (its own RFC 4733 sender) lets the
// caller through unscreened, after a re-INVITE during the prompt.
func TestBaresipOverridePIN(t *testing.T) {
	t.Parallel()
	sub, h := baresipSubscriber(t)
	caller := baresipCaller(t, h, policy.Decision{Action: policy.ActionScreen, PINAllowed: true, Subscriber: 7},
		tonePCM(callerVoice, time.Minute, 0), "g711")
	// A re-INVITE while the prompt plays (a phone refreshing its session)
	// changes nothing for the PIN that follows.
	caller.waitHeard(pPINEnter)
	caller.Command("reinvite", "")
	waitFor(t, "the answer to the re-INVITE", func() bool { return caller.Count("CALL_REMOTE_SDP", "answer") == 2 })
	pinThrough(caller, sub)
	if got, _ := caller.heard(); inOrder(got, pNameRecord) {
		t.Errorf("a caller with the right PIN was screened: heard %v", got)
	}
	hangUp(h, caller, "token=ok pin=right subscriber=ringing subscriber=answered bridge=connected")
}

// The spam challenge: the caller's phone keys the three digits read out.
func TestBaresipChallenge(t *testing.T) {
	t.Parallel()
	sub, h := baresipSubscriber(t)
	caller := baresipCaller(t, h, policy.Decision{Action: policy.ActionChallenge}, tonePCM(callerVoice, time.Minute, 0), "g711")
	caller.waitHeard(pChallengeIntro)
	want := challengeRNG(42)
	for range 3 {
		caller.Key(rune('0' + want.IntN(10)))
	}
	sub.WaitEvent("CALL_ESTABLISHED")
	caller.waitHeard("subscriber-voice")
	hangUp(h, caller, "token=ok challenge=passed subscriber=ringing subscriber=answered bridge=connected")
}

// A phone that offers only wideband codecs is refused with a reason it
// shows its user; nothing rings.
func TestBaresipNoG711(t *testing.T) {
	t.Parallel()
	sub, h := baresipSubscriber(t)
	caller := baresipCaller(t, h, policy.Decision{Action: policy.ActionScreen, Subscriber: 7}, tonePCM(callerVoice, time.Second, 0), "opus", "g722")
	closed := caller.WaitEvent("CALL_CLOSED")
	if p, _ := closed["param"].(string); !strings.Contains(p, "488") || !strings.Contains(p, "PCMU or PCMA Required") {
		t.Errorf("call closed with %q, want 488 PCMU or PCMA Required", p)
	}
	if sub.Saw("CALL_ESTABLISHED") || sub.Saw("CALL_INCOMING") {
		t.Error("the subscriber's phone was called")
	}
}

// heardTimes is how many times the phone began to hear name.
func (b *baresip) heardTimes(name string) int {
	seq, _ := b.heard()
	n := 0
	for _, s := range seq {
		if s == name {
			n++
		}
	}
	return n
}

// The subscribers' IVR from a real phone: the PIN, then a number keyed in
// and put on the Blocked list; the store has it.
func TestBaresipIVRBlocksANumber(t *testing.T) {
	t.Parallel()
	h, st := newToneIVR(t)
	p := startBaresip(t, "subscriber", bsip.Config{AOR: "sip:" + storetest.AliceNumber + "@127.0.0.1", Codecs: []string{"g711"},
		Talk: silencePCM(time.Minute)})
	p.Command("dial", (&sip.Uri{Scheme: "sip", User: "ivr", Host: "127.0.0.1", Port: h.port()}).String())
	on := func(prompt string, nth int, digits string) {
		t.Helper()
		waitFor(t, fmt.Sprintf("hearing %s time %d", prompt, nth), func() bool { return p.heardTimes(prompt) >= nth })
		for _, d := range digits {
			p.Key(d)
		}
	}
	on(pIVRWelcome, 1, "2468#")
	on(pIVRMenu, 1, "3")
	on(pIVREnterNumber, 1, "2125550177#")
	on(pIVRChooseList, 1, "1")
	on(pIVRMenu, 2, "*")
	p.WaitEvent("CALL_CLOSED")
	if got, _ := p.heard(); !inOrder(got, pIVRYouEntered, "digit_2", "digit_1", "digit_2", pIVRChooseList, pIVRAdded, pIVRGoodbye) {
		t.Errorf("heard %v", got)
	}
	if got := stepString(h.waitStep("end", "completed")); got != "ivr=pin-right ivr=blocked-added ivr=goodbye end=completed" {
		t.Errorf("steps %s", got)
	}
	alice, _ := st.Subscriber(e164.MustParse(storetest.AliceNumber))
	if !st.InBlocked(alice.ID, e164.MustParse("+12125550177")) {
		t.Error("the number is not on alice's Blocked list")
	}
}

// A caller whose phone offers only PCMA, to a subscriber's that answers
// PCMU: the bridge transcodes, and each hears the other.
func TestBaresipPCMACallerPCMUSubscriber(t *testing.T) {
	t.Parallel()
	sub, h := baresipSubscriberAs(t, bsip.Config{AutoAnswer: true, Params: ";audio_codecs=PCMU/8000/1"})
	caller := baresipCallerAs(t, h, policy.Decision{Action: policy.ActionScreen, PINAllowed: true, Subscriber: 7},
		bsip.Config{Codecs: []string{"g711"}, Talk: tonePCM(callerVoice, time.Minute, 0), Params: ";audio_codecs=PCMA/8000/1"})
	pinThrough(caller, sub)
	for name, p := range map[string]*baresip{"caller": caller, "subscriber": sub} {
		want := map[string]string{"caller": "PCMA", "subscriber": "PCMU"}[name]
		if !strings.Contains(p.Output(), "Set audio decoder: "+want) {
			t.Errorf("the %s's phone did not decode %s:\n%s", name, want, p.Output())
		}
	}
	hangUp(h, caller, "token=ok pin=right subscriber=ringing subscriber=answered bridge=connected")
}

// The subscriber's phone rejects the call (busy): the caller goes to
// voicemail, which is told the subscriber was busy.
func TestBaresipSubscriberBusyToVoicemail(t *testing.T) {
	t.Parallel()
	sub, h := baresipSubscriberAs(t, bsip.Config{})
	vm := voicemailPhone(t, h)
	caller := baresipCaller(t, h, policy.Decision{Action: policy.ActionScreen, PINAllowed: true, Subscriber: 7, Voicemail: nVoicemail.String()},
		tonePCM(callerVoice, time.Minute, 0), "g711")
	keyPIN(caller)
	sub.WaitEvent("CALL_INCOMING")
	sub.Command("hangup", "")
	pm := <-vm
	pm.waitHeard("caller-voice")
	caller.waitHeard(pVoicemail)
	checkDiversion(t, h.vmIn.Load(), "user-busy")
	caller.Command("hangup", "")
	steps := h.waitStep("end", "caller-hangup")
	if got := stepString(steps); !strings.Contains(got, "subscriber=busy voicemail=ringing voicemail=connected bridge=connected end=caller-hangup") {
		t.Errorf("steps %q", got)
	}
}

// SIP over TCP on both legs: the B2BUA listens on TCP only, the caller's
// phone dials it with transport=tcp and the subscriber's route says
// transport=tcp.
func TestBaresipOverTCP(t *testing.T) {
	t.Parallel()
	sub := startBaresip(t, "subscriber", bsip.Config{AOR: "sip:" + nSub.String() + "@127.0.0.1", Codecs: []string{"g711"},
		AutoAnswer: true, Talk: tonePCM(subscriberVoice, time.Minute, 0)})
	h := newHarness(t, func(c *Config) {
		c.UDP, c.TCP = "", "127.0.0.1:0"
		c.ContinueRoute = "sip:{called}@127.0.0.1:" + strconv.Itoa(sub.SIPPort) + ";transport=tcp"
	})
	caller := startBaresip(t, "caller", bsip.Config{AOR: "sip:" + nCaller.String() + "@127.0.0.1", Codecs: []string{"g711"},
		Talk: tonePCM(callerVoice, time.Minute, 0)})
	to := h.inviteURI(h.token(policy.Decision{Action: policy.ActionScreen, PINAllowed: true, Subscriber: 7}))
	to.User = nSub.String()
	to.UriParams.Add("transport", "tcp")
	caller.Command("dial", to.String())
	pinThrough(caller, sub)
	hangUp(h, caller, "token=ok pin=right subscriber=ringing subscriber=answered bridge=connected")
	sub.WaitEvent("CALL_CLOSED")
}

// A video phone (baresip with VP8 and a test camera) offers audio and
// video: the call is taken with the video stream rejected in the answer,
// and the audio flows as for any caller.
func TestBaresipVideoPhone(t *testing.T) {
	t.Parallel()
	sub, h := baresipSubscriber(t)
	caller := baresipCallerAs(t, h, policy.Decision{Action: policy.ActionScreen, PINAllowed: true, Subscriber: 7},
		bsip.Config{Codecs: []string{"g711", "vp8", "fakevideo"}, Talk: tonePCM(callerVoice, time.Minute, 0), Trace: true})
	caller.WaitEvent("CALL_ESTABLISHED")
	pinThrough(caller, sub)
	if !strings.Contains(caller.Output(), "vidcodec: VP8") {
		t.Errorf("the caller's phone has no video codec: it offered no video\n%s", caller.Output())
	}
	// Its re-INVITE offers the video again and is answered the same way.
	caller.Command("reinvite", "")
	waitFor(t, "the answer to the video phone's re-INVITE", func() bool { return caller.Count("CALL_REMOTE_SDP", "answer") == 2 })
	_, before := sub.heard()
	waitFor(t, "the caller's voice after its re-INVITE", func() bool {
		_, f := sub.heard()
		return f["caller-voice"] > before["caller-voice"]+10
	})
	// Both answers (baresip's SIP trace) have the video stream's m= line,
	// rejected, as RFC 3264 §6 requires of an answer.
	if n := strings.Count(caller.Output(), "m=video 0 RTP/AVP"); n != 2 {
		t.Errorf("%d answers rejected the video stream in its place, want 2:\n%s", n, caller.Output())
	}
	hangUp(h, caller, "token=ok pin=right subscriber=ringing subscriber=answered bridge=connected")
}

// Reject with Media to a real phone: it plays the announcement it gets as
// early media (183), then shows the 603.
func TestBaresipRejectWithMedia(t *testing.T) {
	t.Parallel()
	_, h := baresipSubscriber(t)
	caller := baresipCaller(t, h, policy.Decision{Action: policy.ActionBlockWithAnnouncement, Announcement: 101},
		tonePCM(callerVoice, time.Minute, 0), "g711")
	closed := caller.WaitEvent("CALL_CLOSED")
	if p, _ := closed["param"].(string); !strings.HasPrefix(p, "603") {
		t.Errorf("call closed with %q, want 603", p)
	}
	if caller.Saw("CALL_ESTABLISHED") {
		t.Error("the call was answered")
	}
	if _, f := caller.heard(); f["announcement_101"] < 3 {
		t.Errorf("the phone heard %v of early media, want the announcement", f)
	}
	if got := stepString(h.waitStep("end", "rejected")); got != "token=ok reject=announced end=rejected" {
		t.Errorf("steps %q", got)
	}
}
