package b2bua

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/diago"

	"callgate/policy"
)

// runSipp runs one call of a scenario of testdata/sipp/b2bua against the
// harness's B2BUA. sipp is a required test peer (Debian sip-tester,
// installed by scripts/test-deps.sh): missing, the test fails.
func runSipp(t *testing.T, h *harness, scenario string, subst map[string]string, keys ...string) {
	t.Helper()
	args := []string{"-p", strconv.Itoa(freePort(t))}
	for i := 0; i+1 < len(keys); i += 2 {
		args = append(args, "-key", keys[i], keys[i+1])
	}
	startSipp(t, scenario, subst, append(args, h.s.Addr())...)()
}

// startSipp starts sipp on one call of scenario (on 127.0.0.1, with the
// given arguments besides) and returns what waits for it to pass.
func startSipp(t *testing.T, scenario string, subst map[string]string, extra ...string) (wait func()) {
	t.Helper()
	bin, err := exec.LookPath("sipp")
	if err != nil {
		t.Fatalf("sipp not found (apt-get install sip-tester): %v", err)
	}
	src, err := os.ReadFile(filepath.Join("..", "testdata", "sipp", "b2bua", scenario))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range subst {
		src = bytes.ReplaceAll(src, []byte(k), []byte(v))
	}
	dir := t.TempDir()
	scen := filepath.Join(dir, scenario)
	if err := os.WriteFile(scen, src, 0o644); err != nil {
		t.Fatal(err)
	}
	errFile := filepath.Join(dir, "err.txt")
	args := []string{"-sf", scen, "-m", "1", "-l", "1",
		"-i", "127.0.0.1", "-mp", strconv.Itoa(freePort(t) &^ 1),
		"-timeout", "40s", "-timeout_error", "-recv_timeout", "20s",
		"-nostdin", "-nr", "-trace_msg", "-trace_err", "-error_file", errFile}
	cmd := exec.Command(bin, append(args, extra...)...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting sipp: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	// A test that fails before waiting leaves no sipp behind.
	// A failed test shows what sipp sent and received.
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		if !t.Failed() {
			return
		}
		m, _ := filepath.Glob(filepath.Join(dir, "*messages*"))
		for _, f := range m {
			b, _ := os.ReadFile(f)
			t.Logf("%s", b)
		}
	})
	return func() {
		t.Helper()
		var err error
		select {
		case err = <-done:
		case <-time.After(60 * time.Second):
			_ = cmd.Process.Kill()
			<-done
			t.Fatalf("sipp %s did not finish", scenario)
		}
		if err != nil {
			e, _ := os.ReadFile(errFile)
			t.Fatalf("sipp %s: %v\nerrors:\n%s\noutput:\n%s", scenario, err, e, out.String())
		}
	}
}

func freePort(t *testing.T) int {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// answeringSubscriber answers and stays until the B2BUA hangs up.
func answeringSubscriber(t *testing.T, h *harness) {
	h.onSubscriber(func(d *diago.DialogServerSession) {
		if pm := answerAndListen(t, d); pm != nil {
			pm.speak(subscriberVoice)
			<-d.Context().Done()
		}
	})
}

func sippKeys(tok string) []string {
	return []string{"token", tok, "calling", nCaller.String(), "called", nSub.String()}
}

// PIN entry from sipp, keyed with sipp's own RFC 2833 captures; and the
// same from a caller that sends no SDP offer (RFC 3261 §13.2.1), whose
// answer in the ACK sets up the media its keys arrive over.
func TestSippPIN(t *testing.T) {
	for _, scenario := range []string{"pin.xml", "pin_late_offer.xml"} {
		t.Run(scenario, func(t *testing.T) {
			h := newHarness(t, nil, WithLogger(leakLogger()))
			answeringSubscriber(t, h)
			runSipp(t, h, scenario, nil, sippKeys(h.token(policy.Decision{Action: policy.ActionScreen, PINAllowed: true, Subscriber: 7}))...)
			steps := h.waitStep("end", "caller-hangup")
			if got := stepString(steps); !strings.HasPrefix(got, "token=ok pin=right subscriber=ringing subscriber=answered bridge=connected") {
				t.Errorf("steps %q", got)
			}
		})
	}
}

func TestSippPINWrong(t *testing.T) {
	h := newHarness(t, nil)
	runSipp(t, h, "pin_wrong.xml", nil, sippKeys(h.token(policy.Decision{Action: policy.ActionScreen, PINAllowed: true, Subscriber: 7}))...)
	steps := h.waitStep("end", "released")
	if got := stepString(steps); got != "token=ok pin=wrong pin=wrong pin=wrong pin=failed end=released" {
		t.Errorf("steps %q", got)
	}
}

// The challenge from sipp: the digits of the first challenge of seed 42.
func TestSippChallenge(t *testing.T) {
	h := newHarness(t, nil)
	answeringSubscriber(t, h)
	rng := challengeRNG(42)
	subst := map[string]string{}
	for i := 1; i <= 3; i++ {
		subst["@D"+strconv.Itoa(i)+"@"] = strconv.Itoa(rng.IntN(10))
	}
	runSipp(t, h, "challenge.xml", subst, sippKeys(h.token(policy.Decision{Action: policy.ActionChallenge}))...)
	steps := h.waitStep("end", "caller-hangup")
	if got := stepString(steps); !strings.HasPrefix(got, "token=ok challenge=passed subscriber=ringing subscriber=answered bridge=connected") {
		t.Errorf("steps %q", got)
	}
}

// A caller that is not ours cancels during the announcement (183) and
// while the subscriber rings (180): sipp checks that the 487 carries the
// provisional's To tag (RFC 3261 §8.2.6.2, §9.2).
func TestSippCancel(t *testing.T) {
	long := t.TempDir()
	writeTonePrompts(t, long, 20*time.Second)
	for _, tc := range []struct {
		prov string
		d    policy.Decision
	}{
		{"183", policy.Decision{Action: policy.ActionBlockWithAnnouncement, Announcement: 101}},
		{"180", policy.Decision{Action: policy.ActionAllow}},
	} {
		t.Run(tc.prov, func(t *testing.T) {
			h := newHarness(t, func(c *Config) { c.PromptDir = long; c.RingTimeout = 20 * time.Second })
			h.onSubscriber(func(d *diago.DialogServerSession) {
				_ = d.Ringing()
				<-d.Context().Done()
			})
			runSipp(t, h, "cancel.xml", map[string]string{"@PROV@": tc.prov}, sippKeys(h.token(tc.d))...)
			h.waitStep("end", "abandoned")
		})
	}
}

// A caller that requires 100rel (RFC 3262), screened to voicemail: the
// announcement in a reliable 183 that sipp leaves unacknowledged once,
// then PRACKs when it comes again with the same RSeq; the 200 after.
func TestSippPRACK(t *testing.T) {
	short := t.TempDir()
	writeTonePrompts(t, short, 200*time.Millisecond)
	h := newHarness(t, func(c *Config) { c.PromptDir = short })
	voicemailPhone(t, h)
	runSipp(t, h, "prack.xml", nil, sippKeys(h.token(policy.Decision{Action: policy.ActionVoicemail, Announcement: 101, Voicemail: nVoicemail.String()}))...)
	steps := h.waitStep("end", "caller-hangup")
	if got := stepString(steps); got != "token=ok voicemail=ringing voicemail=connected bridge=connected end=caller-hangup" {
		t.Errorf("steps %q", got)
	}
}

// A caller that requires 100rel PRACKs the announcement's reliable 183,
// then cancels: 487 with the 183's To tag, the call abandoned.
func TestSippPRACKCancel(t *testing.T) {
	long := t.TempDir()
	writeTonePrompts(t, long, 20*time.Second)
	h := newHarness(t, func(c *Config) { c.PromptDir = long })
	runSipp(t, h, "prack_cancel.xml", nil, sippKeys(h.token(policy.Decision{Action: policy.ActionBlockWithAnnouncement, Announcement: 101}))...)
	h.waitStep("end", "abandoned")
}

// sippSubscriber starts sipp as the subscriber's side (scenario, a UAS on
// port) of a B2BUA that calls the subscriber there.
func sippSubscriber(t *testing.T, scenario string) (h *harness, wait func()) {
	port := freePort(t)
	h = newHarness(t, func(c *Config) { c.ContinueRoute = "sip:{called}@127.0.0.1:" + strconv.Itoa(port) })
	return h, startSipp(t, scenario, nil, "-p", strconv.Itoa(port))
}

// The subscriber's side requires 100rel (RFC 3262) and forks: sipp checks
// Supported: 100rel on the INVITE, one PRACK per reliable 180/183 in its
// early dialog with the right RAck, none for a retransmission or an
// out-of-order RSeq (§4), the ACK numbered as the INVITE after the PRACKs
// and the BYE above them; the 200 without SDP takes the 183's answer,
// and the caller hears the subscriber's ringing until it answers.
func TestSippPRACKOutbound(t *testing.T) {
	h, wait := sippSubscriber(t, "prack_uas.xml")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := h.dial(ctx, h.inviteURI(h.token(policy.Decision{Action: policy.ActionAllow})), false)
	if c.err != nil {
		wait() // sipp's own report says more
		t.Fatalf("caller: %v", c.err)
	}
	h.waitStep("bridge", "connected")
	if err := c.d.Hangup(ctx); err != nil {
		t.Errorf("caller BYE: %v", err)
	}
	steps := h.waitStep("end", "caller-hangup")
	if got := stepString(steps); got != "token=ok subscriber=ringing subscriber=answered bridge=connected end=caller-hangup" {
		t.Errorf("steps %q", got)
	}
	wait()
}

// A subscriber's side that answers 421 Require: 100rel in spite of
// Supported: 100rel: the leg fails once, without a retry (prack_421.xml
// says why), and the caller gets the failure's answer.
func TestSippPRACKOutbound421(t *testing.T) {
	h, wait := sippSubscriber(t, "prack_421.xml")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := h.dial(ctx, h.inviteURI(h.token(policy.Decision{Action: policy.ActionAllow})), false)
	if c.err == nil {
		t.Fatal("caller answered")
	}
	steps := h.waitStep("end", "")
	if got := stepString(steps); !strings.HasPrefix(got, "token=ok subscriber=failed") {
		t.Errorf("steps %q", got)
	}
	wait()
}
