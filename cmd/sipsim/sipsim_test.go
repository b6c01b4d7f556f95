package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"callgate/internal/config"
	"callgate/simulators/sip"
)

type result struct {
	code     int
	out, err string
}

// run runs sipsim in-process; onListen, when set, is told the address an
// answer command listens on.
func run(t *testing.T, onListen func(string), args ...string) result {
	t.Helper()
	var out, errb syncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	e := &env{stdout: &out, stderr: &errb, ctx: ctx, onListen: onListen}
	code := e.run(args)
	return result{code, out.String(), errb.String()}
}

// syncBuffer is a bytes.Buffer safe for the goroutines of a command.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// answer starts `sipsim answer args...` and returns its address and a
// channel with its result once it exits.
func answer(t *testing.T, args ...string) (string, <-chan result) {
	t.Helper()
	addr := make(chan string, 1)
	done := make(chan result, 1)
	go func() {
		done <- run(t, func(a string) { addr <- a }, append([]string{"answer", "--listen", "127.0.0.1:0"}, args...)...)
	}()
	select {
	case a := <-addr:
		return a, done
	case r := <-done:
		t.Fatalf("answer exited %d: %s%s", r.code, r.out, r.err)
	}
	return "", nil
}

var (
	promptsOnce sync.Once
	promptsDir  string
)

// prompts writes a few espeak-ng prompts (espeak-ng and sox are required).
func prompts(t *testing.T) string {
	t.Helper()
	promptsOnce.Do(func() {
		dir, err := os.MkdirTemp("", "sipsim-cmd-prompts-")
		if err != nil {
			t.Fatal(err)
		}
		for name, text := range map[string]string{"enter-pin": "enter your PIN", "say-name": "please say your name after the tone"} {
			raw := filepath.Join(dir, name+".raw.wav")
			if out, err := exec.Command("espeak-ng", "-w", raw, text).CombinedOutput(); err != nil {
				t.Fatalf("espeak-ng (Debian: apt-get install espeak-ng): %v %s", err, out)
			}
			if out, err := exec.Command("sox", raw, "-r", "8000", "-c", "1", "-b", "16", filepath.Join(dir, name+".wav")).CombinedOutput(); err != nil {
				t.Fatalf("sox (Debian: apt-get install sox): %v %s", err, out)
			}
			os.Remove(raw)
		}
		promptsDir = dir
	})
	if promptsDir == "" {
		t.Fatal("no prompts")
	}
	return promptsDir
}

// A call to the answering phone: both print their timelines as JSON; the
// probe tones are heard both ways.
func TestCallAnswerJSON(t *testing.T) {
	t.Parallel()
	addr, done := answer(t, "--ring", "200ms", "--on-prompt", "@tone+1200ms=hangup", "--json")
	r := run(t, nil, "call", "--target", "sip:+13035550100@"+addr, "--calling", "+17195551212", "--json")
	var res sip.Result
	if err := json.Unmarshal([]byte(r.out), &res); err != nil || r.code != 0 {
		t.Fatalf("exit %d %v\n%s\n%s", r.code, err, r.out, r.err)
	}
	a := <-done
	var ares sip.AnswerResult
	if err := json.Unmarshal([]byte(a.out), &ares); err != nil || a.code != 0 {
		t.Fatalf("answer exit %d %v\n%s\n%s", a.code, err, a.out, a.err)
	}
	if res.Outcome != sip.OutcomeAnswered || res.EndedBy != "remote" || !res.Probe.Heard || !ares.Probe.Heard {
		t.Errorf("caller %s/%s probe %+v; callee probe %+v\n%s\n%s", res.Outcome, res.EndedBy, res.Probe, ares.Probe, res.String(), ares.String())
	}
	if ares.From == "" || !strings.Contains(ares.From, "+17195551212") || len(res.Timeline) == 0 {
		t.Errorf("callee saw From %q; caller timeline %d events", ares.From, len(res.Timeline))
	}
}

// A call over TLS with SRTP between two sipsims, each on a self-signed
// certificate: the caller refuses the answering side's unless told not to
// check it (--tls-insecure); the answering side is told so too, as it
// opens a connection of its own to the caller's listener for its BYE.
// Both say the media was SRTP and hear each other's probe tone.
func TestCallOverTLSWithSRTP(t *testing.T) {
	t.Parallel()
	addr, done := answer(t, "--transport", "tls", "--tls-insecure", "--srtp", "--ring", "200ms", "--on-prompt", "@tone+1200ms=hangup", "--json")
	target := "sip:+13035550100@" + addr + ";transport=tls"
	if r := run(t, nil, "call", "--transport", "tls", "--srtp", "--target", target, "--calling", "+17195551212"); r.code != 1 || !strings.Contains(r.out, "certificate") {
		t.Errorf("an unchecked self-signed certificate: exit %d\n%s%s", r.code, r.out, r.err)
	}
	r := run(t, nil, "call", "--transport", "tls", "--tls-insecure", "--srtp", "--target", target, "--calling", "+17195551212", "--json")
	var res sip.Result
	if err := json.Unmarshal([]byte(r.out), &res); err != nil || r.code != 0 {
		t.Fatalf("exit %d %v\n%s\n%s", r.code, err, r.out, r.err)
	}
	a := <-done
	var ares sip.AnswerResult
	if err := json.Unmarshal([]byte(a.out), &ares); err != nil || a.code != 0 {
		t.Fatalf("answer exit %d %v\n%s\n%s", a.code, err, a.out, a.err)
	}
	const srtp = "RTP/SAVP AES_CM_128_HMAC_SHA1_80"
	if res.Media != srtp || ares.Media != srtp || !res.Probe.Heard || !ares.Probe.Heard || res.EndedBy != "remote" {
		t.Errorf("media %q / %q, probe heard %v / %v, ended by %s; want %q, both tones, the far end's BYE\n%s\n%s",
			res.Media, ares.Media, res.Probe.Heard, ares.Probe.Heard, res.EndedBy, srtp, res.String(), ares.String())
	}
}

// The answering side plays "enter your PIN" (a play step); the caller
// recognises it and keys the PIN by INFO; the answering side receives it
// and hangs up at the fifth digit. Both print text timelines.
func TestCallKeysPINOnPrompt(t *testing.T) {
	t.Parallel()
	dir := prompts(t)
	addr, done := answer(t, "--probe=false", "--max-duration", "20s", "--on-prompt", "@answer=wait:300ms "+filepath.Join(dir, "enter-pin.wav"),
		"--on-prompt", "@dtmf*4=wait:1ms", "--on-prompt", "@dtmf=hangup")
	r := run(t, nil, "call", "--target", "sip:+13035550100@"+addr, "--calling", "+17195551212", "--probe=false",
		"--prompts", dir, "--on-prompt", "enter-pin=1234#", "--dtmf", "info")
	a := <-done
	if r.code != 0 || !strings.Contains(r.out, `<- prompt "enter-pin"`) || !strings.Contains(r.out, "-> DTMF 1234#  INFO application/dtmf-relay") ||
		!strings.Contains(r.out, "outcome:  answered (200 OK), ended by the far end") {
		t.Errorf("caller exit %d\n%s\n%s", r.code, r.out, r.err)
	}
	if a.code != 0 || !strings.Contains(a.out, `digits:   sent "", received "1234#"`) || !strings.Contains(a.out, "ended by the callee") {
		t.Errorf("callee exit %d\n%s\n%s", a.code, a.out, a.err)
	}
}

// A busy subscriber: the caller's outcome is the rejection (exit 0).
func TestCallBusy(t *testing.T) {
	t.Parallel()
	addr, done := answer(t, "--busy")
	r := run(t, nil, "call", "--target", "sip:+13035550100@"+addr)
	<-done
	if r.code != 0 || !strings.Contains(r.out, "<- 486 Busy Here") || !strings.Contains(r.out, "outcome:  rejected (486 Busy Here)") {
		t.Errorf("exit %d\n%s\n%s", r.code, r.out, r.err)
	}
}

// A gateway call to a voicemail platform: the mailbox comes from the
// Diversion header.
func TestCallGatewayToVoicemail(t *testing.T) {
	t.Parallel()
	addr, done := answer(t, "--mode", "voicemail", "--json")
	r := run(t, nil, "call", "--server", addr, "--called", "+17205550123", "--calling", "+17195551212",
		"--diversion", "+13035550100", "--on-prompt", "@answer=say hangup")
	a := <-done
	var ares sip.AnswerResult
	if err := json.Unmarshal([]byte(a.out), &ares); err != nil {
		t.Fatalf("%v\n%s\n%s", err, a.out, r.out)
	}
	if ares.Mailbox != (sip.Mailbox{Number: "+13035550100", Source: "Diversion"}) || !strings.HasPrefix(ares.RequestURI, "sip:+17205550123@") || ares.RecordedMs <= 0 {
		t.Errorf("voicemail %+v R-URI %s recorded %.0f ms\n%s", ares.Mailbox, ares.RequestURI, ares.RecordedMs, r.out)
	}
}

// A load run over TLS with SRTP against its own answering side: the
// answering side takes the caller's TLS and SRTP set-up (it had only the
// transport, so it listened for TLS without a certificate and answered
// SRTP offers with 488).
func TestLoadOverTLSWithSRTP(t *testing.T) {
	t.Parallel()
	r := run(t, nil, "load", "--transport", "tls", "--tls-insecure", "--srtp", "--answer-listen", "127.0.0.1:0",
		"--calls", "2", "--concurrency", "2", "--hold", "1s", "--probe=false", "--json")
	var sum sip.LoadSummary
	if err := json.Unmarshal([]byte(r.out), &sum); err != nil || r.code != 0 {
		t.Fatalf("exit %d %v\n%s\n%s", r.code, err, r.out, r.err)
	}
	if sum.Completed != 2 || sum.Answered != 2 || sum.RTP.Packets == 0 || sum.AnswerRTP == nil || sum.AnswerRTP.Packets == 0 {
		t.Errorf("summary %+v", sum)
	}
}

func TestLoadAgainstItself(t *testing.T) {
	t.Parallel()
	r := run(t, nil, "load", "--answer-listen", "127.0.0.1:0", "--calls", "3", "--concurrency", "3", "--hold", "1s", "--probe=false", "--json")
	var sum sip.LoadSummary
	if err := json.Unmarshal([]byte(r.out), &sum); err != nil || r.code != 0 {
		t.Fatalf("exit %d %v\n%s\n%s", r.code, err, r.out, r.err)
	}
	if sum.Completed != 3 || sum.Answered != 3 || sum.RTP.Packets == 0 || sum.Resources.PeakRSSMiB <= 0 {
		t.Errorf("summary %+v", sum)
	}
	r = run(t, nil, "load", "--answer-listen", "127.0.0.1:0", "--calls", "1", "--hold", "500ms")
	if r.code != 0 || !strings.Contains(r.out, "calls: started 1, completed 1, failed 0") || !strings.Contains(r.out, "jitter ms: p50") || !strings.Contains(r.out, "sipsim: cpu") {
		t.Errorf("exit %d\n%s\n%s", r.code, r.out, r.err)
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	dir := prompts(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"call"}, "give --called (with --server) or --target"},
		{[]string{"call", "--called", "1", "--on-prompt", "enter-pin"}, "want TRIGGER=STEPS"},
		{[]string{"call", "--called", "1", "--on-prompt", "enter-pin=1"}, "no --prompts directory"},
		{[]string{"call", "--called", "1", "--prompts", dir, "--on-prompt", "enter-pn=1"}, `waits for prompt "enter-pn", which is not among the prompts (enter-pin, say-name)`},
		{[]string{"call", "--called", "1", "--dtmf", "fax"}, `DTMF mode "fax"`},
		{[]string{"call", "--called", "1", "--server", "nohost"}, `--server "nohost": want HOST:PORT`},
		{[]string{"call", "--called", "1", "--codecs", "opus"}, `codec "opus"`},
		{[]string{"call", "--called", "1", "--digits-after", "1234#"}, "want DELAY=STEPS"},
		{[]string{"call", "--called", "1", "--prompts", "/nonexistent"}, "--prompts"},
		{[]string{"answer", "--mode", "fax"}, `--mode "fax"`},
		{[]string{"answer", "--busy", "--respond", "603"}, "not both"},
		{[]string{"load", "--called", "1"}, "give --calls or --duration"},
		{[]string{"load", "--called", "1", "--calls", "1", "--identify"}, "--identify needs --prompts"},
		{[]string{"replay", "x.pcap", "--server", "nohost"}, `--server "nohost": want HOST:PORT`},
		{[]string{"call", "--called", "1", "--transport", "sctp"}, `--transport "sctp": want udp, tcp or tls`},
		{[]string{"call", "--called", "1", "--tls-insecure"}, "need --transport tls"},
		{[]string{"answer", "--transport", "tls", "--tls-cert", "c.pem"}, "--tls-cert and --tls-key go together"},
		{[]string{"call", "--called", "1", "--iam-calling", "+17195551212"}, "--iam-calling needs --sip-t"},
		{[]string{"call", "--called", "1", "--sip-t", "--isup-variant", "japan"}, `--isup-variant "japan": want ansi or itu`},
		{[]string{"call", "--called", "1", "--sip-t", "--iam-original-called", "12"}, `--iam-original-called "12": want an E.164 number`},
	} {
		r := run(t, nil, tc.args...)
		if r.code != 2 || !strings.Contains(r.err, tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want 2 and %q", tc.args, r.code, r.err, tc.want)
		}
	}
}

// replay of a capture that is not one, and of one without INVITEs, fails
// saying so: trouble, exit 2 (replay_status_test.go has the others).
func TestReplayErrors(t *testing.T) {
	dir := t.TempDir()
	notPcap := filepath.Join(dir, "not.pcap")
	if err := os.WriteFile(notPcap, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A pcap header (little-endian, raw IP) and no frame.
	empty := filepath.Join(dir, "empty.pcap")
	hdr := []byte{0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 101, 0, 0, 0}
	if err := os.WriteFile(empty, hdr, 0o644); err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]string{notPcap: "not a pcap or pcapng file", empty: "no INVITE in the capture"} {
		r := run(t, nil, "replay", file, "--server", "127.0.0.1:9")
		if r.code != 2 || !strings.Contains(r.err, want) {
			t.Errorf("replay %s: exit %d, stderr %q; want 2 and %q", filepath.Base(file), r.code, r.err, want)
		}
	}
}

// `sipsim answer` with no --listen is the subscriber's phone where
// callgate's default sip.continue_route calls it (127.0.0.1:5080). It
// listened on 127.0.0.1:5070, the B2BUA's own port: next to `make run` it
// could not bind, and alone it took the port the B2BUA needs.
func TestAnswerListensWhereTheContinueRouteCalls(t *testing.T) {
	e := &env{}
	def := e.answerCmd().Flags().Lookup("listen").DefValue
	c := config.Default()
	if !strings.Contains(c.SIP.ContinueRoute, "@"+def+";") && !strings.HasSuffix(c.SIP.ContinueRoute, "@"+def) {
		t.Errorf("answer --listen defaults to %s; callgate's continue route is %s", def, c.SIP.ContinueRoute)
	}
	if def == c.B2BUA.UDP || def == c.B2BUA.TCP {
		t.Errorf("answer --listen defaults to the B2BUA's address %s", def)
	}
}
