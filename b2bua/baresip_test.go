package b2bua

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"callgate/e164"
	"callgate/policy"
	"callgate/store/storetest"
)

// baresip is a real softphone (Debian baresip-core, installed by
// scripts/test-deps.sh) driven over its ctrl_tcp interface: an independent
// SIP stack, SDP offer/answer, RTP, jitter buffer and RFC 4733 sender that
// owes nothing to diago. It talks from a WAV file (aufile) and the sndfile
// filter writes what it hears to a WAV file as the call goes, which the
// test reads with the same tone classifier as its diago phones.
type baresip struct {
	t        *testing.T
	sipPort  int
	dumpDir  string
	ctrl     net.Conn
	mu       sync.Mutex
	events   []map[string]any
	replies  chan map[string]any
	exited   chan struct{}
	out      lockedBuffer // baresip's console
	tokenSeq int
}

// lockedBuffer is baresip's output, written by exec's copier while a
// failing test may read it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// baresipPhone says what one baresip instance is.
type baresipPhone struct {
	aor     string   // the account: its user is the phone's number
	codecs  []string // audio codec modules, in offer order
	talk    []byte   // 8 kHz mono 16-bit PCM the phone sends
	autoAns bool     // answers calls at once
	params  string   // more account parameters, e.g. ";audio_codecs=PCMA/8000/1"
	trace   bool     // print every SIP message to its output (baresip -s)
}

// startBaresip runs one baresip with its own configuration directory on
// loopback; it is stopped when the test ends.
func startBaresip(t *testing.T, name string, p baresipPhone) *baresip {
	t.Helper()
	bin, err := exec.LookPath("baresip")
	if err != nil {
		t.Fatalf("baresip not found (apt-get install baresip-core): %v", err)
	}
	dir := filepath.Join(t.TempDir(), name)
	dump := filepath.Join(dir, "heard")
	if err := os.MkdirAll(dump, 0o755); err != nil {
		t.Fatal(err)
	}
	talk := filepath.Join(dir, "talk.wav")
	if err := os.WriteFile(talk, wavBytes(p.talk), 0o644); err != nil {
		t.Fatal(err)
	}
	b := &baresip{t: t, sipPort: freePort(t), dumpDir: dump, replies: make(chan map[string]any, 8),
		exited: make(chan struct{})}
	ctrlPort := freeTCPPort(t)
	var conf strings.Builder
	fmt.Fprintf(&conf, "poll_method epoll\nsip_listen 127.0.0.1:%d\n", b.sipPort)
	// aubridge is a device that plays nowhere; what the phone hears is
	// taken by the sndfile filter before it.
	fmt.Fprintf(&conf, "audio_player aubridge,%s\naudio_alert aubridge,%s-alert\naudio_source aufile,%s\n", name, name, talk)
	fmt.Fprintf(&conf, "module_path /usr/lib/baresip/modules\n")
	for _, m := range append(p.codecs, "aufile", "aubridge", "sndfile") {
		fmt.Fprintf(&conf, "module %s.so\n", m)
	}
	fmt.Fprintf(&conf, "module_app account.so\nmodule_app menu.so\nmodule_app ctrl_tcp.so\n")
	fmt.Fprintf(&conf, "ctrl_tcp_listen 127.0.0.1:%d\nsnd_path %s\n", ctrlPort, dump)
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte(conf.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	acct := "<" + p.aor + ">;regint=0" + p.params
	if p.autoAns {
		acct += ";answermode=auto"
	}
	if err := os.WriteFile(filepath.Join(dir, "accounts"), []byte(acct+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-f", dir}
	if p.trace {
		args = append(args, "-s")
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &b.out, &b.out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting baresip: %v", err)
	}
	go func() { _ = cmd.Wait(); close(b.exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-b.exited
		if t.Failed() {
			b.mu.Lock()
			t.Logf("baresip %s events: %v", name, b.events)
			b.mu.Unlock()
			t.Logf("baresip %s output:\n%s", name, b.output())
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(ctrlPort))
		if err == nil {
			b.ctrl = c
			break
		}
		select {
		case <-b.exited:
			t.Fatalf("baresip %s exited at start:\n%s", name, b.output())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("baresip %s: its control socket did not open: %v\n%s", name, err, b.output())
		}
		time.Sleep(50 * time.Millisecond)
	}
	go b.read()
	return b
}

// output is baresip's console without its call status line, which it
// redraws with a carriage return every 100 ms.
func (b *baresip) output() string {
	var keep []string
	for _, l := range strings.FieldsFunc(b.out.String(), func(r rune) bool { return r == '\r' || r == '\n' }) {
		if t := strings.TrimSpace(l); t != "" && !(strings.HasPrefix(t, "[") && strings.Contains(t, "audio=")) {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

func freeTCPPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// read takes ctrl_tcp's netstrings ("LEN:JSON,"): command replies and
// events.
func (b *baresip) read() {
	r := bufio.NewReader(b.ctrl)
	for {
		lenStr, err := r.ReadString(':')
		if err != nil {
			return
		}
		n, err := strconv.Atoi(strings.TrimSuffix(lenStr, ":"))
		if err != nil || n < 0 || n > 1<<20 {
			return
		}
		msg := make([]byte, n+1)
		if _, err := io.ReadFull(r, msg); err != nil {
			return
		}
		var m map[string]any
		if json.Unmarshal(msg[:n], &m) != nil {
			continue
		}
		if m["event"] == true {
			b.mu.Lock()
			b.events = append(b.events, m)
			b.mu.Unlock()
			continue
		}
		b.replies <- m
	}
}

// command runs one ctrl_tcp command and fails the test if baresip refuses it.
func (b *baresip) command(name, params string) {
	b.t.Helper()
	b.tokenSeq++
	tok := strconv.Itoa(b.tokenSeq)
	msg, _ := json.Marshal(map[string]string{"command": name, "params": params, "token": tok})
	if _, err := fmt.Fprintf(b.ctrl, "%d:%s,", len(msg), msg); err != nil {
		b.t.Fatalf("baresip %s: %v", name, err)
	}
	select {
	case m := <-b.replies:
		if m["ok"] != true {
			b.t.Fatalf("baresip %s %s: %v", name, params, m)
		}
	case <-time.After(10 * time.Second):
		b.t.Fatalf("baresip %s: no reply", name)
	}
}

// key sends one DTMF digit on the current call (RFC 4733, as the phone's
// keypad would).
func (b *baresip) key(d rune) { b.command("sndcode", string(d)) }

// waitEvent waits for a call event of that type (CALL_ESTABLISHED,
// CALL_CLOSED, ...) and returns it.
func (b *baresip) waitEvent(typ string) map[string]any {
	b.t.Helper()
	var got map[string]any
	waitFor(b.t, "baresip "+typ, func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, e := range b.events {
			if e["type"] == typ {
				got = e
				return true
			}
		}
		return false
	})
	return got
}

// count is how many call events of that type and param the phone has had.
func (b *baresip) count(typ, param string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, e := range b.events {
		if e["type"] == typ && e["param"] == param {
			n++
		}
	}
	return n
}

// saw says whether the phone has had a call event of that type.
func (b *baresip) saw(typ string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range b.events {
		if e["type"] == typ {
			return true
		}
	}
	return false
}

// heard is what the phone has heard so far: the sounds of its received
// audio in order, consecutive repeats folded, and 20 ms frames per sound.
func (b *baresip) heard() ([]string, map[string]int) {
	b.t.Helper()
	files, _ := filepath.Glob(filepath.Join(b.dumpDir, "*-dec.wav"))
	if len(files) == 0 {
		return nil, nil
	}
	raw, err := os.ReadFile(files[0])
	if err != nil || len(raw) < 44 {
		return nil, nil
	}
	if rate := binary.LittleEndian.Uint32(raw[24:]); rate != 8000 {
		b.t.Fatalf("baresip decoded at %d Hz: the call did not settle on G.711", rate)
	}
	pcm := raw[44:]
	freqs := recognised()
	var seq []string
	frames := map[string]int{}
	s := make([]int16, 160)
	for len(pcm) >= 320 {
		for i := range s {
			s[i] = int16(binary.LittleEndian.Uint16(pcm[2*i:]))
		}
		pcm = pcm[320:]
		if name := classify(s, freqs); name != "" {
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
	caller.waitEvent("CALL_ESTABLISHED")
	caller.waitHeard(pNameRecord)

	in := sub.waitEvent("CALL_ESTABLISHED")
	if peer, _ := in["peeruri"].(string); !strings.Contains(peer, nCaller.String()) {
		t.Errorf("the subscriber's phone was called by %q, not the caller's number", peer)
	}
	sub.waitHeard(pScreenMenu)
	sub.key('1')
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
	for _, p := range []*baresip{caller, sub} {
		p.command("reinvite", "")
	}
	_, before = sub.heard()
	_, cbefore := caller.heard()
	waitFor(t, "both voices after the re-INVITEs", func() bool {
		_, f := sub.heard()
		_, c := caller.heard()
		return f["caller-voice"] > before["caller-voice"]+25 && c["subscriber-voice"] > cbefore["subscriber-voice"]+25
	})
	// Answers to the re-INVITEs: the caller's second, the subscriber's first
	// (its INVITE came with an offer).
	for _, p := range []struct {
		name    string
		b       *baresip
		answers int
	}{{"caller", caller, 2}, {"subscriber", sub, 1}} {
		if p.b.saw("CALL_CLOSED") {
			t.Fatalf("the %s's call ended at its re-INVITE", p.name)
		}
		if n := p.b.count("CALL_REMOTE_SDP", "answer"); n != p.answers {
			t.Errorf("the %s's phone had %d SDP answers, want %d: its re-INVITE was not answered", p.name, n, p.answers)
		}
	}
	caller.command("hangup", "")
	sub.waitEvent("CALL_CLOSED")
	steps := h.waitStep("end", "caller-hangup")
	if got := stepString(steps); !strings.Contains(got, "name=recorded subscriber=ringing subscriber=answered screen=accept bridge=connected end=caller-hangup") {
		t.Errorf("steps %q", got)
	}
}

// baresipCaller starts the caller's softphone (its number nCaller) and
// dials the screening URI with a token for d.
func baresipCaller(t *testing.T, h *harness, d policy.Decision, talk []byte, codecs ...string) *baresip {
	t.Helper()
	return baresipCallerAs(t, h, d, baresipPhone{codecs: codecs, talk: talk})
}

// baresipCallerAs is baresipCaller with the phone's account parameters
// from p (its number is set).
func baresipCallerAs(t *testing.T, h *harness, d policy.Decision, p baresipPhone) *baresip {
	t.Helper()
	p.aor = "sip:" + nCaller.String() + "@127.0.0.1"
	caller := startBaresip(t, "caller", p)
	// baresip 1.0 does not follow a 302 and puts the Request-URI in To: it
	// dials the screening URI with the subscriber's number as its user, as
	// a proxy that kept the number would send it.
	to := h.inviteURI(h.token(d))
	to.User = nSub.String()
	caller.command("dial", to.String())
	return caller
}

// baresipSubscriber starts the subscriber's softphone, which answers at
// once and talks with the subscriber's voice, and a harness whose
// subscriber route is that phone.
func baresipSubscriber(t *testing.T) (*baresip, *harness) {
	t.Helper()
	return baresipSubscriberAs(t, baresipPhone{autoAns: true})
}

// baresipSubscriberAs is baresipSubscriber with the phone's answer mode
// and account parameters from p (its number, codecs and voice are set).
func baresipSubscriberAs(t *testing.T, p baresipPhone) (*baresip, *harness) {
	t.Helper()
	p.aor, p.codecs, p.talk = "sip:"+nSub.String()+"@127.0.0.1", []string{"g711"}, tonePCM(subscriberVoice, time.Minute, 0)
	sub := startBaresip(t, "subscriber", p)
	h := newHarness(t, func(c *Config) { c.ContinueRoute = "sip:{called}@127.0.0.1:" + strconv.Itoa(sub.sipPort) })
	return sub, h
}

// pinThrough keys the override PIN on the caller's phone at the prompt
// and waits until the two phones hear each other.
func pinThrough(caller, sub *baresip) {
	caller.t.Helper()
	caller.waitHeard(pPINEnter)
	for _, d := range "2468#" {
		caller.key(d)
	}
	sub.waitEvent("CALL_ESTABLISHED")
	caller.waitHeard("subscriber-voice")
	sub.waitHeard("caller-voice")
}

// hangUp ends the call from the caller's phone and checks that the call's
// steps begin with want.
func hangUp(h *harness, caller *baresip, want string) {
	caller.t.Helper()
	caller.command("hangup", "")
	if got := stepString(h.waitStep("end", "caller-hangup")); !strings.HasPrefix(got, want) {
		caller.t.Errorf("steps %q, want them to begin %q", got, want)
	}
}

// The override PIN keyed on a real phone (its own RFC 4733 sender) lets the
// caller through unscreened.
func TestBaresipOverridePIN(t *testing.T) {
	t.Parallel()
	sub, h := baresipSubscriber(t)
	caller := baresipCaller(t, h, policy.Decision{Action: policy.ActionScreen, PINAllowed: true, Subscriber: 7},
		tonePCM(callerVoice, time.Minute, 0), "g711")
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
		caller.key(rune('0' + want.IntN(10)))
	}
	sub.waitEvent("CALL_ESTABLISHED")
	caller.waitHeard("subscriber-voice")
	hangUp(h, caller, "token=ok challenge=passed subscriber=ringing subscriber=answered bridge=connected")
}

// A phone that offers only wideband codecs is refused with a reason it
// shows its user; nothing rings.
func TestBaresipNoG711(t *testing.T) {
	t.Parallel()
	sub, h := baresipSubscriber(t)
	caller := baresipCaller(t, h, policy.Decision{Action: policy.ActionScreen, Subscriber: 7}, tonePCM(callerVoice, time.Second, 0), "opus", "g722")
	closed := caller.waitEvent("CALL_CLOSED")
	if p, _ := closed["param"].(string); !strings.Contains(p, "488") || !strings.Contains(p, "PCMU or PCMA Required") {
		t.Errorf("call closed with %q, want 488 PCMU or PCMA Required", p)
	}
	if sub.saw("CALL_ESTABLISHED") || sub.saw("CALL_INCOMING") {
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
	p := startBaresip(t, "subscriber", baresipPhone{aor: "sip:" + storetest.AliceNumber + "@127.0.0.1", codecs: []string{"g711"},
		talk: silencePCM(time.Minute)})
	p.command("dial", (&sip.Uri{Scheme: "sip", User: "ivr", Host: "127.0.0.1", Port: h.port()}).String())
	on := func(prompt string, nth int, digits string) {
		t.Helper()
		waitFor(t, fmt.Sprintf("hearing %s time %d", prompt, nth), func() bool { return p.heardTimes(prompt) >= nth })
		for _, d := range digits {
			p.key(d)
		}
	}
	on(pIVRWelcome, 1, "2468#")
	on(pIVRMenu, 1, "3")
	on(pIVREnterNumber, 1, "2125550177#")
	on(pIVRChooseList, 1, "1")
	on(pIVRMenu, 2, "*")
	p.waitEvent("CALL_CLOSED")
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
	sub, h := baresipSubscriberAs(t, baresipPhone{autoAns: true, params: ";audio_codecs=PCMU/8000/1"})
	caller := baresipCallerAs(t, h, policy.Decision{Action: policy.ActionScreen, PINAllowed: true, Subscriber: 7},
		baresipPhone{codecs: []string{"g711"}, talk: tonePCM(callerVoice, time.Minute, 0), params: ";audio_codecs=PCMA/8000/1"})
	pinThrough(caller, sub)
	for name, p := range map[string]*baresip{"caller": caller, "subscriber": sub} {
		want := map[string]string{"caller": "PCMA", "subscriber": "PCMU"}[name]
		if !strings.Contains(p.output(), "Set audio decoder: "+want) {
			t.Errorf("the %s's phone did not decode %s:\n%s", name, want, p.output())
		}
	}
	hangUp(h, caller, "token=ok pin=right subscriber=ringing subscriber=answered bridge=connected")
}

// The subscriber's phone rejects the call (busy): the caller goes to
// voicemail, which is told the subscriber was busy.
func TestBaresipSubscriberBusyToVoicemail(t *testing.T) {
	t.Parallel()
	sub, h := baresipSubscriberAs(t, baresipPhone{})
	vm := voicemailPhone(t, h)
	caller := baresipCaller(t, h, policy.Decision{Action: policy.ActionScreen, PINAllowed: true, Subscriber: 7, Voicemail: nVoicemail.String()},
		tonePCM(callerVoice, time.Minute, 0), "g711")
	caller.waitHeard(pPINEnter)
	for _, d := range "2468#" {
		caller.key(d)
	}
	sub.waitEvent("CALL_INCOMING")
	sub.command("hangup", "")
	pm := <-vm
	pm.waitHeard("caller-voice")
	caller.waitHeard(pVoicemail)
	checkDiversion(t, h.vmIn.Load(), "user-busy")
	caller.command("hangup", "")
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
	sub := startBaresip(t, "subscriber", baresipPhone{aor: "sip:" + nSub.String() + "@127.0.0.1", codecs: []string{"g711"},
		autoAns: true, talk: tonePCM(subscriberVoice, time.Minute, 0)})
	h := newHarness(t, func(c *Config) {
		c.UDP, c.TCP = "", "127.0.0.1:0"
		c.ContinueRoute = "sip:{called}@127.0.0.1:" + strconv.Itoa(sub.sipPort) + ";transport=tcp"
	})
	caller := startBaresip(t, "caller", baresipPhone{aor: "sip:" + nCaller.String() + "@127.0.0.1", codecs: []string{"g711"},
		talk: tonePCM(callerVoice, time.Minute, 0)})
	to := h.inviteURI(h.token(policy.Decision{Action: policy.ActionScreen, PINAllowed: true, Subscriber: 7}))
	to.User = nSub.String()
	to.UriParams.Add("transport", "tcp")
	caller.command("dial", to.String())
	pinThrough(caller, sub)
	hangUp(h, caller, "token=ok pin=right subscriber=ringing subscriber=answered bridge=connected")
	sub.waitEvent("CALL_CLOSED")
}

// A video phone (baresip with VP8 and a test camera) offers audio and
// video: the call is taken with the video stream rejected in the answer,
// and the audio flows as for any caller.
func TestBaresipVideoPhone(t *testing.T) {
	t.Parallel()
	sub, h := baresipSubscriber(t)
	caller := baresipCallerAs(t, h, policy.Decision{Action: policy.ActionScreen, PINAllowed: true, Subscriber: 7},
		baresipPhone{codecs: []string{"g711", "vp8", "fakevideo"}, talk: tonePCM(callerVoice, time.Minute, 0), trace: true})
	caller.waitEvent("CALL_ESTABLISHED")
	pinThrough(caller, sub)
	if !strings.Contains(caller.output(), "vidcodec: VP8") {
		t.Errorf("the caller's phone has no video codec: it offered no video\n%s", caller.output())
	}
	// Its re-INVITE offers the video again and is answered the same way.
	caller.command("reinvite", "")
	waitFor(t, "the answer to the video phone's re-INVITE", func() bool { return caller.count("CALL_REMOTE_SDP", "answer") == 2 })
	_, before := sub.heard()
	waitFor(t, "the caller's voice after its re-INVITE", func() bool {
		_, f := sub.heard()
		return f["caller-voice"] > before["caller-voice"]+10
	})
	// Both answers (baresip's SIP trace) have the video stream's m= line,
	// rejected, as RFC 3264 §6 requires of an answer.
	if n := strings.Count(caller.output(), "m=video 0 RTP/AVP"); n != 2 {
		t.Errorf("%d answers rejected the video stream in its place, want 2:\n%s", n, caller.output())
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
	closed := caller.waitEvent("CALL_CLOSED")
	if p, _ := closed["param"].(string); !strings.HasPrefix(p, "603") {
		t.Errorf("call closed with %q, want 603", p)
	}
	if caller.saw("CALL_ESTABLISHED") {
		t.Error("the call was answered")
	}
	if _, f := caller.heard(); f["announcement_101"] < 3 {
		t.Errorf("the phone heard %v of early media, want the announcement", f)
	}
	if got := stepString(h.waitStep("end", "rejected")); got != "token=ok reject=announced end=rejected" {
		t.Errorf("steps %q", got)
	}
}
