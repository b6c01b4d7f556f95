package b2bua

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/diago/media"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"callgate/policy"
)

// TestNoLeakAfterManyCalls runs 1,000 short calls through every branch
// (each treatment and outcome, refusals, caller hang-ups, RTP timeouts),
// 16 at a time, and then checks the process holds no more goroutines,
// file descriptors or RTP ports than before them.
func TestNoLeakAfterManyCalls(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000 calls: not in -short")
	}
	calls, workers := 1000, 16
	if n, err := strconv.Atoi(os.Getenv("B2BUA_LEAK_CALLS")); err == nil {
		calls = n
	}
	rtpMin, rtpMax := freeRTPRange(t, 2000)
	short := t.TempDir()
	writeTonePrompts(t, short, 80*time.Millisecond)
	h := newHarness(t, func(c *Config) {
		c.PromptDir = short
		c.RTPPortMin, c.RTPPortMax = rtpMin, rtpMax
		c.NameMax, c.NameSilence = time.Second, 200*time.Millisecond
		c.PINFirstDigit, c.DigitTimeout = time.Second, time.Second
		c.ChallengeDigits, c.ChallengeTime = 1, 3*time.Second
		c.RingTimeout, c.DecisionTimeout = 1500*time.Millisecond, 2*time.Second
		c.RTPTimeout = time.Second
		c.ChallengeSeed = 0
		c.MaxSessions = 64
	}, WithGuard(policy.NewGuard(fakeDecider{policy.Decision{Action: policy.ActionBlock}}, testQuiet)), WithLogger(leakLogger()))
	t.Cleanup(func() { media.RTPPortStart, media.RTPPortEnd = 0, 0 })
	h.onSubscriber(func(d *diago.DialogServerSession) { leakSubscriber(t, d) })
	h.onVoicemail(func(d *diago.DialogServerSession) {
		if answerAndListen(t, d) != nil {
			<-d.Context().Done()
		}
	})

	// One warm-up call of each kind loads what stays loaded (pools,
	// timers of the transport layer); the baseline is taken after them.
	for _, sc := range leakScenarios {
		if err := sc.run(h); err != nil {
			t.Fatalf("warm-up %s: %v", sc.name, err)
		}
	}
	settle(h)
	g0, fd0 := runtime.NumGoroutine(), openFDs(t)

	var next, failed atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan string, 20)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(calls) {
					return
				}
				sc := leakScenarios[int(i)%len(leakScenarios)]
				if err := sc.run(h); err != nil {
					failed.Add(1)
					select {
					case errs <- fmt.Sprintf("call %d (%s): %v", i, sc.name, err):
					default:
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if failed.Load() > 0 {
		t.Fatalf("%d of %d calls did not go as their branch says", failed.Load(), calls)
	}

	settle(h)
	// Goroutines and descriptors come back to the baseline once the
	// transaction timers of the last calls have run (a deadlock guard,
	// not a timing assertion).
	deadline := time.Now().Add(90 * time.Second)
	for {
		g, fd := runtime.NumGoroutine(), openFDs(t)
		if g <= g0+2 && fd <= fd0 {
			t.Logf("after %d calls: %d goroutines (baseline %d), %d descriptors (baseline %d)", calls, g, g0, fd, fd0)
			break
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			t.Fatalf("leak after %d calls: %d goroutines (baseline %d), %d descriptors (baseline %d)\n%s", calls, g, g0, fd, fd0, buf[:n])
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Every RTP port of the range can be bound again.
	for p := rtpMin; p <= rtpMax; p++ {
		c, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			t.Fatalf("RTP port %d still held after the calls: %v", p, err)
		}
		c.Close()
	}
}

// settle waits until the B2BUA handles no call.
func settle(h *harness) {
	waitFor(h.t, "no call in progress", func() bool { return h.s.Active() == 0 })
}

func openFDs(t testing.TB) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// freeRTPRange finds n free ports (even start) for the test's RTP range.
func freeRTPRange(t testing.TB, n int) (int, int) {
	for base := 30000; base+n < 60000; base += n {
		ok := true
		for p := base; p < base+n; p += 97 {
			c, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(p))
			if err != nil {
				ok = false
				break
			}
			c.Close()
		}
		if ok {
			return base, base + n - 1
		}
	}
	t.Fatal("no free RTP range")
	return 0, 0
}

// leakSubscriber plays the subscriber the caller's display name asks for.
func leakSubscriber(t *testing.T, d *diago.DialogServerSession) {
	mode := ""
	if f := d.InviteRequest.From(); f != nil {
		mode = f.DisplayName
	}
	switch mode {
	case "noanswer", "ringcancel":
		_ = d.Ringing()
		<-d.Context().Done()
		return
	case "busy":
		_ = d.Respond(486, "Busy Here", nil)
		return
	}
	pm := answerAndListen(t, d)
	if pm == nil {
		return
	}
	pm.speak(subscriberVoice)
	switch mode {
	case "accept", "refuse", "deflect", "rtp":
		if heardWithin(pm, pScreenMenu, 20*time.Second) {
			pm.key(map[string]rune{"accept": '1', "refuse": '2', "deflect": '3', "rtp": '1'}[mode])
		}
	}
	<-d.Context().Done()
}

func heardWithin(pm *phoneMedia, name string, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for !pm.heardAny(name) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// leakScenario is one branch of the B2BUA, driven from the caller's side;
// run returns an error when the call did not go that way.
type leakScenario struct {
	name string
	run  func(h *harness) error
}

func leakCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 60*time.Second)
}

// waitEnd waits for the B2BUA to release the caller.
func waitEnd(ctx context.Context, c *callerDialog) error {
	select {
	case <-c.d.Context().Done():
		return nil
	case <-ctx.Done():
		return fmt.Errorf("caller not released; heard %v", c.pm.heardList())
	}
}

// screenCall dials a screened call as display and says a name.
func screenCall(h *harness, ctx context.Context, display string, d policy.Decision) (*callerDialog, error) {
	d.Action = policy.ActionScreen
	c := h.dialAs(ctx, display, h.inviteURI(h.token(d)), false)
	if c.err != nil {
		return nil, c.err
	}
	if !heardWithin(c.pm, pNameRecord, 20*time.Second) {
		_ = c.d.Hangup(ctx)
		return nil, fmt.Errorf("no name prompt: %v", c.pm.heardList())
	}
	c.pm.speak(callerVoice)
	time.Sleep(200 * time.Millisecond)
	c.pm.speak(0)
	return c, nil
}

// bridgedThenHangUp waits for the subscriber's (or voicemail's) audio and
// hangs up.
func bridgedThenHangUp(ctx context.Context, c *callerDialog, voice string) error {
	if voice != "" && !heardWithin(c.pm, voice, 20*time.Second) {
		_ = c.d.Hangup(ctx)
		return fmt.Errorf("not bridged: heard %v", c.pm.heardList())
	}
	return c.d.Hangup(ctx)
}

func rawStatus(h *harness, ruri, body string, extra ...sip.Header) (int, error) {
	cli, err := sipgo.NewClient(h.call.ua, sipgo.WithClientLogger(testQuiet))
	if err != nil {
		return 0, err
	}
	defer cli.Close()
	var u sip.Uri
	if err := sip.ParseUri(ruri, &u); err != nil {
		return 0, err
	}
	req := sip.NewRequest(sip.INVITE, u)
	req.AppendHeader(&sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: nCaller.String(), Host: "127.0.0.1"}, Params: sip.NewParams()})
	req.From().Params.Add("tag", sip.GenerateTagN(8))
	req.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: nSub.String(), Host: "127.0.0.1"}, Params: sip.NewParams()})
	req.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", Host: "127.0.0.1", Port: h.call.port}})
	for _, x := range extra {
		req.AppendHeader(x)
	}
	if body != "" {
		req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		req.SetBody([]byte(body))
	}
	ctx, cancel := leakCtx()
	defer cancel()
	res, err := cli.Do(ctx, req)
	if err != nil {
		return 0, err
	}
	return res.StatusCode, nil
}

func expectStatus(got int, err error, want int) error {
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("status %d, want %d", got, want)
	}
	return nil
}

var leakScenarios = []leakScenario{
	{"reject-early", func(h *harness) error {
		ctx, cancel := leakCtx()
		defer cancel()
		c := h.dial(ctx, h.inviteURI(h.token(policy.Decision{Action: policy.ActionBlockWithAnnouncement, Announcement: 101})), true)
		if c.err != nil {
			return c.err
		}
		err := c.d.WaitAnswer(ctx, c.med, sipgo.AnswerOptions{})
		_ = c.d.Close() // a rejected dialog keeps its early media until closed
		return expectStatus(statusOf(err), nil, 603)
	}},
	{"pin-right", func(h *harness) error {
		ctx, cancel := leakCtx()
		defer cancel()
		c := h.dialAs(ctx, "bridge", h.inviteURI(h.token(policy.Decision{Action: policy.ActionScreen, PINAllowed: true, Subscriber: 7})), false)
		if c.err != nil {
			return c.err
		}
		if !heardWithin(c.pm, pPINEnter, 20*time.Second) {
			return fmt.Errorf("no PIN prompt")
		}
		for _, d := range "2468#" {
			c.pm.key(d)
		}
		return bridgedThenHangUp(ctx, c, "subscriber-voice")
	}},
	{"pin-wrong", func(h *harness) error {
		ctx, cancel := leakCtx()
		defer cancel()
		c := h.dial(ctx, h.inviteURI(h.token(policy.Decision{Action: policy.ActionScreen, PINAllowed: true, Subscriber: 7})), false)
		if c.err != nil {
			return c.err
		}
		for try := 1; try <= 3; try++ {
			prompt := pPINEnter
			if try > 1 {
				prompt = pPINWrong
			}
			if !heardWithin(c.pm, prompt, 20*time.Second) {
				return fmt.Errorf("try %d: no prompt", try)
			}
			c.pm.mu.Lock()
			c.pm.frames[pPINWrong] = 0
			c.pm.mu.Unlock()
			for _, d := range "1111#" {
				c.pm.key(d)
			}
		}
		return waitEnd(ctx, c)
	}},
	{"screen-accept", func(h *harness) error {
		ctx, cancel := leakCtx()
		defer cancel()
		c, err := screenCall(h, ctx, "accept", policy.Decision{})
		if err != nil {
			return err
		}
		return bridgedThenHangUp(ctx, c, "subscriber-voice")
	}},
	{"screen-refuse", func(h *harness) error {
		ctx, cancel := leakCtx()
		defer cancel()
		c, err := screenCall(h, ctx, "refuse", policy.Decision{})
		if err != nil {
			return err
		}
		return waitEnd(ctx, c)
	}},
	{"screen-voicemail", func(h *harness) error {
		ctx, cancel := leakCtx()
		defer cancel()
		c, err := screenCall(h, ctx, "deflect", policy.Decision{Voicemail: nVoicemail.String()})
		if err != nil {
			return err
		}
		if !heardWithin(c.pm, pVoicemail, 20*time.Second) {
			_ = c.d.Hangup(ctx)
			return fmt.Errorf("no voicemail: %v", c.pm.heardList())
		}
		return c.d.Hangup(ctx)
	}},
	{"screen-no-answer", func(h *harness) error {
		ctx, cancel := leakCtx()
		defer cancel()
		c, err := screenCall(h, ctx, "noanswer", policy.Decision{})
		if err != nil {
			return err
		}
		return waitEnd(ctx, c)
	}},
	{"screen-busy-voicemail", func(h *harness) error {
		ctx, cancel := leakCtx()
		defer cancel()
		c, err := screenCall(h, ctx, "busy", policy.Decision{Voicemail: nVoicemail.String()})
		if err != nil {
			return err
		}
		if !heardWithin(c.pm, pVoicemail, 20*time.Second) {
			_ = c.d.Hangup(ctx)
			return fmt.Errorf("no voicemail: %v", c.pm.heardList())
		}
		return c.d.Hangup(ctx)
	}},
	{"caller-cancels-ringing", func(h *harness) error {
		ctx, cancel := leakCtx()
		defer cancel()
		c, err := screenCall(h, ctx, "ringcancel", policy.Decision{})
		if err != nil {
			return err
		}
		if !heardWithin(c.pm, "ringback", 20*time.Second) {
			return fmt.Errorf("no ringback: %v", c.pm.heardList())
		}
		return c.d.Hangup(ctx)
	}},
	{"challenge", func(h *harness) error {
		ctx, cancel := leakCtx()
		defer cancel()
		c := h.dialAs(ctx, "bridge", h.inviteURI(h.token(policy.Decision{Action: policy.ActionChallenge})), false)
		if c.err != nil {
			return c.err
		}
		var digit rune
		ok := false
		deadline := time.Now().Add(20 * time.Second)
		for !ok && time.Now().Before(deadline) {
			heard := c.pm.heardList()
			for i, s := range heard {
				if s == pChallengeIntro && i+1 < len(heard) && strings.HasPrefix(heard[i+1], "digit_") && c.pm.framesOf(heard[i+1]) >= 3 {
					digit, ok = rune(heard[i+1][len("digit_")]), true
				}
			}
			time.Sleep(10 * time.Millisecond)
		}
		if !ok {
			return fmt.Errorf("no challenge digit: %v", c.pm.heardList())
		}
		c.pm.key(digit)
		return bridgedThenHangUp(ctx, c, "subscriber-voice")
	}},
	{"challenge-failed", func(h *harness) error {
		ctx, cancel := leakCtx()
		defer cancel()
		c := h.dial(ctx, h.inviteURI(h.token(policy.Decision{Action: policy.ActionChallenge})), false)
		if c.err != nil {
			return c.err
		}
		// Keying nothing: three timeouts, then the release.
		return waitEnd(ctx, c)
	}},
	{"voicemail", func(h *harness) error {
		ctx, cancel := leakCtx()
		defer cancel()
		c := h.dial(ctx, h.inviteURI(h.token(policy.Decision{Action: policy.ActionVoicemail, Voicemail: nVoicemail.String()})), false)
		if c.err != nil {
			return c.err
		}
		return c.d.Hangup(ctx)
	}},
	{"rtp-timeout", func(h *harness) error {
		ctx, cancel := leakCtx()
		defer cancel()
		c, err := screenCall(h, ctx, "rtp", policy.Decision{})
		if err != nil {
			return err
		}
		if !heardWithin(c.pm, "subscriber-voice", 20*time.Second) {
			return fmt.Errorf("not bridged")
		}
		c.pm.mute.Store(true)
		return waitEnd(ctx, c)
	}},
	{"forged-token", func(h *harness) error {
		tok := h.token(policy.Decision{Action: policy.ActionScreen})
		forged := tok[:len(tok)-2] + "AA"
		if forged == tok {
			forged = tok[:len(tok)-2] + "BA"
		}
		st, err := rawStatus(h, h.screenURI(forged), offerSDP(40000, "0"))
		return expectStatus(st, err, 403)
	}},
	{"sdp-488", func(h *harness) error {
		st, err := rawStatus(h, h.screenURI(h.token(policy.Decision{Action: policy.ActionScreen})), offerSDP(40000, "18"))
		return expectStatus(st, err, 488)
	}},
	{"not-for-us", func(h *harness) error {
		st, err := rawStatus(h, "sip:nobody@127.0.0.1:"+strconv.Itoa(h.port()), offerSDP(40000, "0"))
		return expectStatus(st, err, 404)
	}},
	{"gateway-blocked", func(h *harness) error {
		st, err := rawStatus(h, "sip:"+nRouting.String()+"@127.0.0.1:"+strconv.Itoa(h.port()), offerSDP(40000, "0"),
			sip.NewHeader("Diversion", "<sip:"+nSub.String()+"@ssp>;reason=unconditional"))
		return expectStatus(st, err, 603)
	}},
}

var _ = filepath.Join

// leakLogger shows the B2BUA's warnings when B2BUA_LEAK_LOG is set.
func leakLogger() *slog.Logger {
	if os.Getenv("B2BUA_LEAK_LOG") == "" {
		return testQuiet
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}
