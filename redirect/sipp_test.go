package redirect

import (
	"bytes"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"callgate/policy"
	"callgate/policy/token"
)

// sippDir holds the scenarios (testdata/sipp at the module root).
var sippDir = filepath.Join("..", "testdata", "sipp")

// sippResult is one sipp run.
type sippResult struct {
	err  error  // nil when sipp exited 0 (every call followed the scenario)
	log  string // <log> output
	errs string // sipp's error file
	out  string // stdout+stderr
}

// runSipp runs one call of scenario against the server's UDP listener.
// sipp is required: CI installs it (Debian package sip-tester); a missing
// sipp fails the test rather than skipping it.
func runSipp(t *testing.T, s *Server, scenario string, keys ...string) sippResult {
	t.Helper()
	bin, err := exec.LookPath("sipp")
	if err != nil {
		t.Fatalf("sipp not found (apt-get install sip-tester): %v", err)
	}
	dir := t.TempDir()
	scen, err := filepath.Abs(filepath.Join(sippDir, scenario))
	if err != nil {
		t.Fatal(err)
	}
	logFile := filepath.Join(dir, "log.txt")
	errFile := filepath.Join(dir, "err.txt")
	args := []string{
		"-sf", scen,
		"-m", "1", "-l", "1",
		"-i", "127.0.0.1", "-p", strconv.Itoa(freeUDPPort(t)),
		"-timeout", "15s", "-timeout_error", "-recv_timeout", "5s",
		"-nostdin", "-nr",
		"-trace_logs", "-log_file", logFile,
		"-trace_err", "-error_file", errFile,
	}
	for i := 0; i+1 < len(keys); i += 2 {
		args = append(args, "-key", keys[i], keys[i+1])
	}
	args = append(args, s.Addr("udp").String())
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting sipp: %v", err)
	}
	go func() { done <- cmd.Wait() }()
	var res sippResult
	select {
	case res.err = <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("sipp %s did not finish", scenario)
	}
	l, _ := os.ReadFile(logFile)
	e, _ := os.ReadFile(errFile)
	res.log, res.errs, res.out = string(l), string(e), out.String()
	return res
}

func freeUDPPort(t *testing.T) int {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// loggedContact returns the Contact URI a 302 scenario logged.
func loggedContact(t *testing.T, r sippResult) string {
	t.Helper()
	for _, line := range strings.Split(r.log, "\n") {
		if i := strings.Index(line, "CONTACT "); i >= 0 {
			return strings.TrimRight(strings.TrimSpace(line[i+8:]), ">")
		}
	}
	t.Fatalf("no CONTACT in sipp log %q", r.log)
	return ""
}

// TestSipp is the acceptance table of issue 5, driven by sipp.
func TestSipp(t *testing.T) { eachMode(t, testSipp) }

func testSipp(t *testing.T, mode testMode) {
	cfg := mode.config()
	cfg.TCP = ""
	d := newFakeDecider()
	s := startServer(t, cfg, d)
	cfg608 := cfg
	cfg608.Reject608 = true
	cfg608.RejectInfoURL = "https://callgate.example/jcard"
	s608 := startServer(t, cfg608, d)

	cases := []struct {
		name, scenario  string
		srv             *Server
		calling, called string
		contact         string        // 302 to the continue route
		action          policy.Action // 302 to the B2BUA with this action in the token
	}{
		{"vip", "invite_302.xml", s, "+12125550101", "+13035550100", "sip:+13035550100@gw.carrier.example;user=phone", 0},
		{"blocked", "invite_603.xml", s, "+12125550102", "+13035550100", "", 0},
		{"blocked 608", "invite_608.xml", s608, "+12125550102", "+13035550100", "", 0},
		{"unknown", "invite_302.xml", s, "+12125550199", "+13035550100", "", policy.ActionScreen},
		{"blocked with announcement", "invite_302.xml", s, "+12125550103", "+13035550100", "", policy.ActionBlockWithAnnouncement},
		{"not a subscriber", "invite_302.xml", s, "+12125550199", "+13035550999", "sip:+13035550999@gw.carrier.example;user=phone", 0},
		{"anonymous", "invite_anonymous.xml", s, "", "+13035550100", "", policy.ActionVoicemail},
		{"options", "options.xml", s, "", "", "", 0},
		{"malformed", "malformed.xml", s, "+12125550199", "+13035550100", "", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := runSipp(t, tc.srv, tc.scenario, "calling", tc.calling, "called", tc.called)
			if r.err != nil {
				t.Fatalf("sipp %s failed: %v\nerrors:\n%s\noutput:\n%s", tc.scenario, r.err, r.errs, r.out)
			}
			switch {
			case tc.contact != "":
				if got := loggedContact(t, r); got != tc.contact {
					t.Errorf("Contact %q, want %q", got, tc.contact)
				}
			case tc.action != 0:
				got := loggedContact(t, r)
				if !strings.HasPrefix(got, "sip:screen@b2bua.example;"+token.URIParam+"=") {
					t.Fatalf("Contact %q is not the B2BUA screening URI with a token", got)
				}
				raw := got[strings.Index(got, "=")+1:]
				c, err := token.Verify([]token.Key{testKey}, raw, time.Now())
				if err != nil {
					t.Fatalf("token %q refused by the B2BUA check: %v", raw, err)
				}
				if c.Action != tc.action || c.Called.String() != tc.called {
					t.Errorf("token claims %+v, want action %s called %s", c, tc.action, tc.called)
				}
				if tc.calling == "" && c.Presentation != policy.PresentationRestricted {
					t.Errorf("anonymous caller not restricted in the token: %+v", c)
				}
				// Forged and expired tokens are refused by the same check.
				forged := []byte(raw)
				forged[len(forged)/2] ^= 1
				if forged[len(forged)/2] == '-' || forged[len(forged)/2] == '_' {
					forged[len(forged)/2] = 'A'
				}
				if _, err := token.Verify([]token.Key{testKey}, string(forged), time.Now()); err == nil {
					t.Errorf("forged token %q accepted", forged)
				}
				if _, err := token.Verify([]token.Key{testKey}, raw, c.Expires.Add(time.Second)); !errors.Is(err, token.ErrExpired) {
					t.Errorf("expired token: %v", err)
				}
			}
		})
	}
}

// TestSippDetectsWrongAnswer guards the harness: a scenario expecting 603
// must fail when the server answers 302, or the table above proves nothing.
func TestSippDetectsWrongAnswer(t *testing.T) { eachMode(t, testSippDetectsWrongAnswer) }

func testSippDetectsWrongAnswer(t *testing.T, mode testMode) {
	cfg := mode.config()
	cfg.TCP = ""
	s := startServer(t, cfg, newFakeDecider())
	r := runSipp(t, s, "invite_603.xml", "calling", "+12125550101", "called", "+13035550100")
	if r.err == nil {
		t.Fatalf("sipp expecting 603 passed on a 302:\n%s", r.out)
	}
}
