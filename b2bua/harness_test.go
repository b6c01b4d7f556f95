package b2bua

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/diago/audio"
	"github.com/emiago/diago/media"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"callgate/e164"
	bsip "callgate/internal/baresiptest"
	"callgate/policy"
	"callgate/policy/decisionlog"
	"callgate/policy/token"
	"callgate/store"
)

// The tests drive the B2BUA with diago phones in-process: a caller (the
// upstream proxy following the redirect, or a TDM gateway) and answering
// phones (the subscriber, the voicemail platform). Every test prompt is a
// 200 ms tone of its own frequency, so a phone can tell which prompt it
// heard (Goertzel), and each phone "speaks" with its own tone: the
// caller at 350 Hz, the subscriber at 250 Hz.

const (
	callerVoice     = 350.0
	subscriberVoice = 250.0
	ringbackTone    = 440.0
)

var (
	testKey    = token.Key{ID: 1, Secret: []byte("0123456789abcdef0123456789abcdef")}
	nCaller    = e164.MustParse("+17195551212")
	nSub       = e164.MustParse("+13035550100")
	nRouting   = e164.MustParse("+13035550999")
	nVoicemail = e164.MustParse("+13035550190")
	testQuiet  = slog.New(slog.NewTextHandler(io.Discard, nil))
)

// Tone prompts sit on a 50 Hz grid from 600 Hz up: a 20 ms packet is 160
// samples, whose Goertzel bins are 50 Hz apart, so every tone completes
// whole cycles in a packet and leaks nothing into the others'. They must
// stay below the 4 kHz Nyquist frequency of 8 kHz audio: a tone above it
// is the same samples as its mirror image below (4300 Hz is 3700 Hz), and
// a tone at it is silence.
const (
	toneBase = 600.0
	toneStep = 50.0
	toneTop  = 3800.0 // the highest tone; G.711 keeps it well
)

// promptFreq gives every test prompt its own tone, in the order of
// PromptNames (announcement_101 is one of them). It panics when the set has
// outgrown the band: more prompts need another scheme, not aliased tones.
func promptFreq() map[string]float64 {
	names := PromptNames()
	if top := toneBase + toneStep*float64(len(names)-1); top > toneTop {
		panic(fmt.Sprintf("%d prompts need tones up to %.0f Hz: above %.0f Hz (Nyquist 4000 Hz) they alias", len(names), top, toneTop))
	}
	m := map[string]float64{}
	for i, n := range names {
		m[n] = toneBase + toneStep*float64(i)
	}
	return m
}

// writeTestPrompts writes the tone prompt set into dir.
func writeTestPrompts(t testing.TB, dir string) { writeTonePrompts(t, dir, 200*time.Millisecond) }

// writeTonePrompts writes the tone prompt set, each prompt d long.
func writeTonePrompts(t testing.TB, dir string, d time.Duration) {
	t.Helper()
	for name, f := range promptFreq() {
		if err := os.WriteFile(filepath.Join(dir, name+".wav"), bsip.WAV(tonePCM(f, d, 8000)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// tonePCM is a sine of freq for d at amplitude amp (0 = -12 dBFS).
func tonePCM(freq float64, d time.Duration, amp float64) []byte {
	if amp == 0 {
		amp = 8000
	}
	n := int(d.Seconds() * 8000)
	pcm := make([]byte, 2*n)
	for i := 0; i < n; i++ {
		v := int16(amp * math.Sin(2*math.Pi*freq*float64(i)/8000))
		binary.LittleEndian.PutUint16(pcm[2*i:], uint16(v))
	}
	return pcm
}

// goertzel returns the power of freq in 16-bit samples.
func goertzel(s []int16, freq float64) float64 {
	w := 2 * math.Pi * freq / 8000
	coeff := 2 * math.Cos(w)
	var q1, q2 float64
	for _, x := range s {
		q0 := coeff*q1 - q2 + float64(x)
		q2, q1 = q1, q0
	}
	return q1*q1 + q2*q2 - coeff*q1*q2
}

// classify names the tone in one frame: the known frequency with the most
// power, when it holds most of the frame's energy; "" for silence or noise.
func classify(s []int16, freqs map[string]float64) string {
	var energy float64
	for _, x := range s {
		energy += float64(x) * float64(x)
	}
	if energy/float64(len(s)) < 200*200 {
		return ""
	}
	best, bestP := "", 0.0
	for name, f := range freqs {
		if p := goertzel(s, f); p > bestP {
			best, bestP = name, p
		}
	}
	// A pure tone's Goertzel power is about energy*N/2.
	if bestP < 0.25*energy*float64(len(s))/2 {
		return ""
	}
	return best
}

// recognised are the sounds a test phone names.
func recognised() map[string]float64 {
	m := promptFreq()
	m["caller-voice"] = callerVoice
	m["subscriber-voice"] = subscriberVoice
	m["ringback"] = ringbackTone
	return m
}

// phoneMedia listens to and speaks on one diago media stream.
type phoneMedia struct {
	t     testing.TB
	med   *diago.DialogMedia
	alaw  bool
	dtmfW *diago.DTMFWriter
	w     io.Writer

	mu     sync.Mutex
	heard  []string // sounds heard, consecutive repeats folded
	frames map[string]int
	digits []rune // RFC 4733 digits received
	voice  atomic.Uint64
	mute   atomic.Bool // send no RTP at all
	done   chan struct{}
}

func startPhoneMedia(t testing.TB, med *diago.DialogMedia) *phoneMedia {
	pm := &phoneMedia{t: t, med: med, frames: map[string]int{}, done: make(chan struct{})}
	pm.alaw = strings.EqualFold(media.CodecAudioFromSession(med.MediaSession()).Name, "pcma")
	// A phone without telephone-event keys by INFO only.
	dr := &diago.DTMFReader{}
	r, err := med.AudioReader(diago.WithAudioReaderDTMF(dr))
	if err == nil {
		dr.OnDTMF(func(d rune) error {
			pm.mu.Lock()
			pm.digits = append(pm.digits, d)
			pm.mu.Unlock()
			return nil
		})
		pm.dtmfW = &diago.DTMFWriter{}
		pm.w, err = med.AudioWriter(diago.WithAudioWriterDTMF(pm.dtmfW))
	} else if r, err = med.AudioReader(); err == nil {
		pm.dtmfW = nil
		pm.w, err = med.AudioWriter()
	}
	if err != nil {
		t.Errorf("phone audio: %v", err)
		return pm
	}
	freqs := recognised()
	go func() {
		defer close(pm.done)
		buf := make([]byte, media.RTPBufSize)
		pcm := make([]byte, 2*media.RTPBufSize)
		s := make([]int16, media.RTPBufSize)
		for {
			n, err := r.Read(buf)
			if err != nil {
				return
			}
			if n == 0 || med.RTPPacketReader.PacketHeader.PayloadType == 101 {
				continue
			}
			if pm.alaw {
				_, _ = audio.DecodeAlawTo(pcm[:2*n], buf[:n])
			} else {
				_, _ = audio.DecodeUlawTo(pcm[:2*n], buf[:n])
			}
			for i := 0; i < n; i++ {
				s[i] = int16(binary.LittleEndian.Uint16(pcm[2*i:]))
			}
			if name := classify(s[:n], freqs); name != "" {
				pm.mu.Lock()
				pm.frames[name]++
				if len(pm.heard) == 0 || pm.heard[len(pm.heard)-1] != name {
					pm.heard = append(pm.heard, name)
				}
				pm.mu.Unlock()
			}
		}
	}()
	go func() {
		// Talk like a phone: a 20 ms frame every 20 ms (diago paces the
		// writes), the voice tone when set, else silence.
		var phase float64
		frame := make([]byte, 320)
		enc := make([]byte, 160)
		for {
			f := math.Float64frombits(pm.voice.Load())
			for i := 0; i < 160; i++ {
				v := int16(0)
				if f > 0 {
					v = int16(8000 * math.Sin(phase))
					phase += 2 * math.Pi * f / 8000
				}
				binary.LittleEndian.PutUint16(frame[2*i:], uint16(v))
			}
			if pm.alaw {
				_, _ = audio.EncodeAlawTo(enc, frame)
			} else {
				_, _ = audio.EncodeUlawTo(enc, frame)
			}
			if pm.mute.Load() {
				select {
				case <-pm.done: // the stream is closed
					return
				case <-time.After(20 * time.Millisecond):
				}
				continue
			}
			if _, err := pm.w.Write(enc); err != nil {
				return
			}
		}
	}()
	return pm
}

// speak sets the tone the phone sends (0 = silence).
func (pm *phoneMedia) speak(freq float64) { pm.voice.Store(math.Float64bits(freq)) }

// key sends a digit as an RFC 4733 event.
func (pm *phoneMedia) key(d rune) {
	if pm.dtmfW == nil {
		pm.t.Errorf("DTMF %c: no telephone-event negotiated", d)
		return
	}
	// The far end may hang up on the digit before its last redundant
	// packets are out: a closed socket then is not a failure.
	if err := pm.dtmfW.WriteDTMF(d); err != nil && !strings.Contains(err.Error(), "closed") {
		pm.t.Errorf("DTMF %c: %v", d, err)
	}
}

func (pm *phoneMedia) heardList() []string {
	pm.mu.Lock()
	defer pm.mu.Unlock()
	return append([]string(nil), pm.heard...)
}

// framesOf is how many 20 ms frames of a sound the phone heard.
func (pm *phoneMedia) framesOf(name string) int {
	pm.mu.Lock()
	defer pm.mu.Unlock()
	return pm.frames[name]
}

func (pm *phoneMedia) heardAny(name string) bool { return pm.framesOf(name) >= 3 }

// heardTimes is how many times the phone began to hear name.
func (pm *phoneMedia) heardTimes(name string) int {
	n := 0
	for _, h := range pm.heardList() {
		if h == name {
			n++
		}
	}
	return n
}

// waitHeard waits until the phone has heard name for at least 3 frames
// (a deadlock guard, not a timing assertion).
func (pm *phoneMedia) waitHeard(name string) {
	pm.t.Helper()
	waitFor(pm.t, "hearing "+name, func() bool { return pm.heardAny(name) })
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// sipEndpoint is a diago UA on a loopback UDP port of its own.
type sipEndpoint struct {
	dg   *diago.Diago
	ua   *sipgo.UserAgent
	srv  *sipgo.Server
	conn net.PacketConn
	port int
}

func newEndpoint(t testing.TB, name string, handler func(*diago.DialogServerSession), codecs ...media.Codec) *sipEndpoint {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := conn.LocalAddr().(*net.UDPAddr).Port
	ua, _ := sipgo.NewUA(sipgo.WithUserAgent(name))
	srv, _ := sipgo.NewServer(ua, sipgo.WithServerLogger(testQuiet))
	opts := []diago.DiagoOption{diago.WithServer(srv), diago.WithLogger(testQuiet),
		diago.WithTransport(diago.Transport{Transport: "udp", BindHost: "127.0.0.1", BindPort: port})}
	if len(codecs) > 0 {
		opts = append(opts, diago.WithMediaConfig(diago.MediaConfig{Codecs: codecs}))
	}
	dg := diago.NewDiago(ua, opts...)
	if handler == nil {
		handler = func(d *diago.DialogServerSession) { _ = d.Respond(480, "Nobody Here", nil) }
	}
	dg.HandleFunc(handler)
	go func() { _ = srv.ServeUDP(conn) }()
	// The client side sends from the listening socket once the transport
	// layer holds it (ServeUDP registers the port, then the connection, on
	// its goroutine); before that it would try to bind the port again.
	waitFor(t, "the endpoint's listener", func() bool { return len(ua.TransportLayer().ListenPorts("udp")) > 0 })
	time.Sleep(20 * time.Millisecond)
	e := &sipEndpoint{dg: dg, ua: ua, srv: srv, conn: conn, port: port}
	t.Cleanup(func() { conn.Close(); ua.Close() })
	return e
}

// fakeDecider always decides d.
type fakeDecider struct{ d policy.Decision }

func (f fakeDecider) Decide(context.Context, policy.Call) policy.Decision { return f.d }

// plainPINs checks PINs by comparison and notes that a check ran.
type plainPINs struct {
	pins   map[uint32]string
	checks atomic.Int32
}

func (p *plainPINs) CheckPIN(sub uint32, pin string) bool {
	p.checks.Add(1)
	return p.pins[sub] == pin
}

// plainPINs keeps no lockout: the treatments' tests are about one call
// (the lockout's tests, pinlock_test.go, run on the store).
func (p *plainPINs) PINLockState(uint32) (store.PINLockout, error) { return store.PINLockout{}, nil }
func (p *plainPINs) PINFailedContext(context.Context, uint32, store.PINFailure) (store.PINLockout, bool, error) {
	return store.PINLockout{}, false, nil
}
func (p *plainPINs) PINSucceededContext(context.Context, uint32) error { return nil }

// harness is a B2BUA with a subscriber phone and a voicemail platform.
type harness struct {
	t     testing.TB
	s     *Server
	dlog  *decisionlog.Log
	sub   *sipEndpoint
	vm    *sipEndpoint
	call  *sipEndpoint // the caller's side
	pins  *plainPINs
	subFn atomic.Pointer[func(*diago.DialogServerSession)]
	vmFn  atomic.Pointer[func(*diago.DialogServerSession)]
	subIn atomic.Pointer[sip.Request] // last INVITE to the subscriber
	vmIn  atomic.Pointer[sip.Request] // last INVITE to voicemail

	promptDir string
}

// newHarness starts a B2BUA on loopback with the tone prompts; mod changes
// its configuration before New.
func newHarness(t testing.TB, mod func(*Config), opts ...Option) *harness {
	t.Helper()
	h := &harness{t: t, pins: &plainPINs{pins: map[uint32]string{7: "2468"}}}
	h.sub = newEndpoint(t, "subscriber", func(d *diago.DialogServerSession) {
		h.subIn.Store(d.InviteRequest)
		if f := h.subFn.Load(); f != nil {
			(*f)(d)
			return
		}
		_ = d.Respond(480, "No Handler", nil)
	})
	h.vm = newEndpoint(t, "voicemail", func(d *diago.DialogServerSession) {
		h.vmIn.Store(d.InviteRequest)
		if f := h.vmFn.Load(); f != nil {
			(*f)(d)
			return
		}
		_ = d.Respond(480, "No Handler", nil)
	})
	h.call = newEndpoint(t, "caller", nil)
	dir := t.TempDir()
	writeTestPrompts(t, dir)
	var err error
	h.promptDir = dir
	h.dlog, err = decisionlog.Open(filepath.Join(t.TempDir(), decisionlog.FileName), decisionlog.Options{NoSync: true, FlushInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		UDP:             "127.0.0.1:0",
		ContinueRoute:   "sip:{called}@127.0.0.1:" + strconv.Itoa(h.sub.port),
		VoicemailRoute:  "sip:{called}@127.0.0.1:" + strconv.Itoa(h.vm.port),
		PromptDir:       dir,
		NameMax:         2 * time.Second,
		NameSilence:     300 * time.Millisecond,
		PINFirstDigit:   2 * time.Second,
		DigitTimeout:    2 * time.Second,
		ChallengeTime:   5 * time.Second,
		RingTimeout:     5 * time.Second,
		DecisionTimeout: 3 * time.Second,
		ChallengeSeed:   42,
	}
	if mod != nil {
		mod(&cfg)
	}
	all := append([]Option{WithTokenKeys([]token.Key{testKey}), WithPINChecker(h.pins), WithDecisionLog(h.dlog),
		WithLogger(testQuiet), WithRoutingNumbers(func(n e164.Number) bool { return n == nRouting })}, opts...)
	h.s, err = New(cfg, all...)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := h.s.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
		_ = h.dlog.Close()
	})
	return h
}

func (h *harness) onSubscriber(f func(*diago.DialogServerSession)) { h.subFn.Store(&f) }
func (h *harness) onVoicemail(f func(*diago.DialogServerSession))  { h.vmFn.Store(&f) }

// token signs a screening token for a decision about nCaller -> nSub.
func (h *harness) token(d policy.Decision) string {
	sg, err := token.NewSigner(testKey)
	if err != nil {
		h.t.Fatal(err)
	}
	tok, err := sg.Sign(token.Claims{Action: d.Action, Announcement: d.Announcement, PINAllowed: d.PINAllowed,
		Subscriber: d.Subscriber, Called: nSub, Calling: nCaller, Voicemail: d.Voicemail, Expires: time.Now().Add(time.Minute)})
	if err != nil {
		h.t.Fatal(err)
	}
	return tok
}

// callerDialog is the caller's side of one call.
type callerDialog struct {
	d   *diago.DialogClientSession
	med *diago.DialogMedia
	pm  *phoneMedia
	err error // the INVITE's final error (nil: answered or early media)
}

// inviteURI is the B2BUA's screening URI with a token, as the redirect
// tier's 302 Contact would be.
func (h *harness) inviteURI(tok string) sip.Uri {
	u := sip.Uri{Scheme: "sip", User: "screen", Host: "127.0.0.1", Port: h.port(), UriParams: sip.NewParams()}
	if tok != "" {
		u.UriParams.Add(token.URIParam, tok)
	}
	return u
}

func (h *harness) port() int {
	_, p, _ := net.SplitHostPort(h.s.Addr())
	n, _ := strconv.Atoi(p)
	return n
}

// dial places the caller's INVITE (From and To carry the numbers) and,
// with early, returns at the first 183 with SDP. extra headers are added.
// bridgedByPIN places a call whose caller keys the override PIN at its
// prompt, to a subscriber who answers and talks with the subscriber's
// voice, and returns once each side hears the other: the caller, the
// subscriber's dialog and its media.
func (h *harness) bridgedByPIN(ctx context.Context) (*callerDialog, *diago.DialogServerSession, *phoneMedia) {
	h.t.Helper()
	type up struct {
		d  *diago.DialogServerSession
		pm *phoneMedia
	}
	subUp := make(chan up, 1)
	h.onSubscriber(func(d *diago.DialogServerSession) {
		pm := answerAndListen(h.t, d)
		if pm == nil {
			return
		}
		pm.speak(subscriberVoice)
		subUp <- up{d, pm}
		<-d.Context().Done()
	})
	c := h.dial(ctx, h.inviteURI(h.token(policy.Decision{Action: policy.ActionScreen, PINAllowed: true, Subscriber: 7})), false)
	if c.err != nil {
		h.t.Fatalf("INVITE: %v", c.err)
	}
	c.pm.waitHeard(pPINEnter)
	for _, d := range "2468#" {
		c.pm.key(d)
	}
	sub := <-subUp
	c.pm.waitHeard("subscriber-voice")
	c.pm.speak(callerVoice)
	sub.pm.waitHeard("caller-voice")
	return c, sub.d, sub.pm
}

func (h *harness) dial(ctx context.Context, to sip.Uri, early bool, extra ...sip.Header) *callerDialog {
	h.t.Helper()
	return h.dialAs(ctx, "Caller", to, early, extra...)
}

// dialAs is dial with the caller's display name (which the B2BUA passes
// on to the subscriber).
func (h *harness) dialAs(ctx context.Context, display string, to sip.Uri, early bool, extra ...sip.Header) *callerDialog {
	return h.dialFrom(ctx, display, nCaller, to, early, extra...)
}

// dialFrom is dialAs from another calling number.
func (h *harness) dialFrom(ctx context.Context, display string, calling e164.Number, to sip.Uri, early bool, extra ...sip.Header) *callerDialog {
	d, err := h.call.dg.NewDialog(to, diago.NewDialogOptions{})
	if err != nil {
		return &callerDialog{err: err}
	}
	from := &sip.FromHeader{DisplayName: display, Address: sip.Uri{Scheme: "sip", User: calling.String(), Host: "127.0.0.1"}, Params: sip.NewParams()}
	toH := &sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: nSub.String(), Host: "127.0.0.1"}, Params: sip.NewParams()}
	hs := append([]sip.Header{from, toH}, extra...)
	med, err := d.Invite(ctx, diago.InviteClientOptions{Headers: hs, EarlyMediaDetect: early})
	cd := &callerDialog{d: d, med: med, err: err}
	if errors.Is(err, diago.ErrClientEarlyMedia) {
		cd.err = nil
		cd.pm = startPhoneMedia(h.t, med)
		return cd
	}
	if err != nil {
		_ = d.Close()
		return cd
	}
	if err := d.Ack(ctx); err != nil {
		cd.err = err
		_ = d.Close()
		return cd
	}
	cd.pm = startPhoneMedia(h.t, med)
	return cd
}

// statusOf returns the status code of a dialog error, 0 if none.
func statusOf(err error) int {
	var re *sipgo.ErrDialogResponse
	if errors.As(err, &re) {
		return re.Res.StatusCode
	}
	var rv sipgo.ErrDialogResponse
	if errors.As(err, &rv) {
		return rv.Res.StatusCode
	}
	return 0
}

// waitStep waits until the record of the newest call to nSub has a step
// with name and outcome ("": any outcome), and returns its steps.
func (h *harness) waitStep(name, outcome string) []decisionlog.Step {
	h.t.Helper()
	var steps []decisionlog.Step
	deadline := time.Now().Add(60 * time.Second)
	for !h.hasStep(&steps, name, outcome) {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for step %s %s; steps: %s", name, outcome, stepString(steps))
		}
		time.Sleep(10 * time.Millisecond)
	}
	return steps
}

func (h *harness) hasStep(out *[]decisionlog.Step, name, outcome string) bool {
	{
		_ = h.dlog.Flush()
		recs, err := h.dlog.Search(decisionlog.Query{Number: nSub, Limit: 1})
		if err != nil || len(recs) == 0 {
			return false
		}
		steps, _ := h.dlog.Steps(decisionlog.RefOf(&recs[0]))
		*out = steps
		for _, s := range steps {
			if s.Name == name && (outcome == "" || s.Outcome == outcome) {
				return true
			}
		}
		return false
	}
}

func stepString(steps []decisionlog.Step) string {
	var b strings.Builder
	for _, s := range steps {
		fmt.Fprintf(&b, "%s=%s ", s.Name, s.Outcome)
	}
	return strings.TrimSpace(b.String())
}

// answerAndListen answers an INVITE to a phone and starts its media.
func answerAndListen(t testing.TB, d *diago.DialogServerSession) *phoneMedia {
	_ = d.Ringing()
	time.Sleep(100 * time.Millisecond) // ring a little, as a phone does
	med, err := d.Answer(diago.AnswerOptions{})
	if err != nil {
		// The B2BUA may have given up ringing (CANCEL) meanwhile: the
		// caller's side of the test says whether that was wrong.
		if !errors.Is(err, sip.ErrTransactionCanceled) && d.Context().Err() == nil {
			t.Errorf("answer: %v", err)
		}
		return nil
	}
	return startPhoneMedia(t, med)
}
