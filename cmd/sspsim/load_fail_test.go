package main

import (
	"encoding/json"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"callgate/scp/ain"
	"callgate/simulators/ssp"
	"callgate/simulators/ssp/ssptest"
)

// cutProxy forwards TCP connections to an SCP until cut, which closes
// every connection and the listener at once, as if the SCP's host died
// (no ASP Down, nothing listening any more).
type cutProxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
	once  sync.Once
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln}
	t.Cleanup(p.cut)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go func() { io.Copy(s, c); s.Close() }()
			go func() { io.Copy(c, s); c.Close() }()
		}
	}()
	return p
}

func (p *cutProxy) cut() {
	p.once.Do(func() {
		p.ln.Close()
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, c := range p.conns {
			c.Close()
		}
	})
}

// TestLoadFailsWhenTheSCPDies: the SCP dies a moment into the run; load
// says so and exits 1 (it used to print the summary and exit 0 with most
// calls in "errors").
func TestLoadFailsWhenTheSCPDies(t *testing.T) {
	var p *cutProxy
	var seen atomic.Int64
	addr := responder(t, func(ta *ain.TerminationAttemptArg) ssptest.Reply {
		if seen.Add(1) == 100 {
			go p.cut()
		}
		return ssptest.Reply{}
	})
	p = newCutProxy(t, addr)
	r := run(t, "", "load", "--connect", p.ln.Addr().String(), "--rate", "1000", "--duration", "1s",
		"--timeout", "200ms", "--called", "+13035550100", "--json")
	var s ssp.Summary
	if err := json.Unmarshal([]byte(r.out), &s); err != nil {
		t.Fatalf("exit %d %v\n%s\n%s", r.code, err, r.out, r.err)
	}
	if r.code != 1 || !strings.Contains(r.err, "the association to the SCP was lost 1 time(s) during the run") ||
		!strings.Contains(r.err, "the results do not measure a working SCP") {
		t.Fatalf("exit %d, stderr %q", r.code, r.err)
	}
	if s.AssociationLosses != 1 || s.NotSent == 0 || s.Answered < 90 || s.Errors < s.NotSent {
		t.Fatalf("summary %+v", s)
	}
}

// TestLoadErrorThreshold: errors over --max-errors percent of the calls
// fail the run; a clean run does not.
func TestLoadErrorThreshold(t *testing.T) {
	for _, tc := range []struct {
		s    ssp.Summary
		max  float64
		want string
	}{
		{ssp.Summary{Calls: 1000, Sent: 1000, Answered: 1000}, 1, ""},
		{ssp.Summary{Calls: 1000, Sent: 1000, Answered: 990, Errors: 10}, 1, ""},
		{ssp.Summary{Calls: 1000, Sent: 1000, Answered: 989, Errors: 11}, 1, "11 errors in 1000 calls (1.10 %), over --max-errors 1 %"},
		{ssp.Summary{Calls: 1000, Sent: 1000, Answered: 999, Errors: 1}, 0, "1 errors in 1000 calls (0.10 %), over --max-errors 0 %"},
		{ssp.Summary{Calls: 1000, Sent: 1000, Timeouts: 1000}, 1, "no call was answered"},
		{ssp.Summary{Calls: 1000, Gapped: 1000}, 1, ""},
		{ssp.Summary{Calls: 1000, Sent: 400, Answered: 400, Errors: 600, NotSent: 600, AssociationLosses: 1}, 100, "lost 1 time(s)"},
	} {
		got := loadFailure(&tc.s, tc.max)
		if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
			t.Errorf("%+v with --max-errors %g: %q, want %q", tc.s, tc.max, got, tc.want)
		}
	}
}
