package main

import (
	"encoding/json"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"callgate/scp/ain"
	"callgate/simulators/ssp"
	"callgate/simulators/ssp/ssptest"
)

// TestLoadOverAMatedPair: load shares one switch's queries over two SCPs
// (--connect A,B); A dies in the middle of the run with queries under way.
// The summary says, per SCP, what each answered and that only A's queries
// in flight were lost: B answered every query it was sent, and every query
// sent to A before it died was answered or lost in flight with it.
func TestLoadOverAMatedPair(t *testing.T) {
	var p *cutProxy
	var seen atomic.Int64
	a := responder(t, func(*ain.TerminationAttemptArg) ssptest.Reply {
		if seen.Add(1) == 300 {
			go p.cut()
		}
		// Slow answers, so that queries are waiting at A when it dies.
		return ssptest.Reply{Delay: 20 * time.Millisecond}
	})
	p = newCutProxy(t, a)
	b := responder(t, nil)
	r := run(t, "", "load", "--connect", p.ln.Addr().String()+","+b, "--rate", "1000", "--duration", "1500ms",
		"--timeout", "300ms", "--called-range", "+1303555xxxx", "--calling", "+17195551212", "--json")
	var s ssp.Summary
	if err := json.Unmarshal([]byte(r.out), &s); err != nil {
		t.Fatalf("exit %d %v\n%s\n%s", r.code, err, r.out, r.err)
	}
	t.Logf("summary: calls %d sent %d answered %d timeouts %d errors %d not sent %d; peers %+v", s.Calls, s.Sent, s.Answered, s.Timeouts, s.Errors, s.NotSent, s.Peers)
	if r.code != 1 || !strings.Contains(r.err, "lost in flight with the association") {
		t.Fatalf("exit %d, stderr %q: want 1 and the queries lost named", r.code, r.err)
	}
	peers := map[string]ssp.PeerStats{}
	for _, ps := range s.Peers {
		peers[ps.Address] = ps
	}
	pa, pb := peers[p.ln.Addr().String()], peers[b]
	if pb.Sent == 0 || pb.Answered != pb.Sent || pb.Timeouts != 0 || pb.LostInFlight != 0 {
		t.Errorf("the surviving SCP: %+v, want every query it was sent answered", pb)
	}
	if pa.AssociationsEnded != 1 || pa.LostInFlight == 0 || pa.Answered+pa.LostInFlight != pa.Sent || pa.Timeouts != 0 {
		t.Errorf("the SCP that died: %+v, want each query answered or lost in flight, some lost", pa)
	}
	if pa.LostInFlight > pa.InFlightAtLoss {
		t.Errorf("the SCP that died: %d lost, but only %d were waiting when its association went", pa.LostInFlight, pa.InFlightAtLoss)
	}
	if s.Timeouts != pa.LostInFlight || s.NotSent != 0 || s.Answered+s.Timeouts != s.Sent {
		t.Errorf("summary: sent %d answered %d timeouts %d not sent %d; want only A's in-flight queries lost", s.Sent, s.Answered, s.Timeouts, s.NotSent)
	}

	// The text summary shows the same per SCP.
	seen.Store(0)
	p = newCutProxy(t, a)
	r = run(t, "", "load", "--connect", p.ln.Addr().String()+","+b, "--rate", "1000", "--duration", "1s",
		"--timeout", "300ms", "--called-range", "+1303555xxxx", "--calling", "+17195551212")
	if !strings.Contains(r.out, "per SCP:\n") || !strings.Contains(r.out, "  "+p.ln.Addr().String()+" ") || !strings.Contains(r.out, "association down 1 time(s)") ||
		!strings.Contains(r.out, "  "+b+" ") {
		t.Fatalf("text summary lacks the per-SCP lines:\n%s", r.out)
	}
}

// The text summary says when an SG reported the SCP's point code
// unavailable, which is why the per-SCP counts are lopsided.
func TestSummaryNamesTheSGThatReportedDUNA(t *testing.T) {
	var b strings.Builder
	writeSummary(&b, &ssp.Summary{Calls: 10, Sent: 10, Answered: 10, UnavailableVia: []string{"10.0.0.1:2905"},
		Peers: []ssp.PeerStats{{Address: "10.0.0.2:2905", Sent: 10, Answered: 10}}})
	if !strings.Contains(b.String(), "SCP point code reported unavailable (DUNA) by 10.0.0.1:2905: queries went through the other SG(s)\n") {
		t.Fatalf("summary:\n%s", b.String())
	}
}

// A mated pair of which one SCP is down for the whole run: the switch
// sends everything to the other, and the summary says so (per SCP, and as
// the reason for exit status 1) instead of a clean run over "the pair".
func TestLoadNamesAnSCPNeverReached(t *testing.T) {
	b := responder(t, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := ln.Addr().String()
	ln.Close()
	r := run(t, "", "load", "--connect", down+","+b, "--rate", "500", "--duration", "500ms",
		"--called-range", "+1303555xxxx", "--calling", "+17195551212", "--json")
	var s ssp.Summary
	if err := json.Unmarshal([]byte(r.out), &s); err != nil {
		t.Fatalf("exit %d %v\n%s\n%s", r.code, err, r.out, r.err)
	}
	if s.Answered == 0 || len(s.NotReached) != 1 || s.NotReached[0] != down {
		t.Fatalf("answered %d, not reached %v: want the queries answered by %s and %s named as not reached", s.Answered, s.NotReached, b, down)
	}
	if r.code != 1 || !strings.Contains(r.err, down+" never had an association up") {
		t.Fatalf("exit %d, stderr %q: want 1 naming %s", r.code, r.err, down)
	}
	r = run(t, "", "load", "--connect", down+","+b, "--rate", "500", "--duration", "300ms",
		"--called-range", "+1303555xxxx", "--calling", "+17195551212")
	if !strings.Contains(r.out, "  "+down) || !strings.Contains(r.out, "not reached: no association up during the run") {
		t.Fatalf("text summary does not name the SCP not reached:\n%s", r.out)
	}
	// Both SCPs up: nothing is named.
	if r := run(t, "", "load", "--connect", b+","+responder(t, nil), "--rate", "500", "--duration", "300ms",
		"--called-range", "+1303555xxxx", "--calling", "+17195551212"); r.code != 0 || strings.Contains(r.out, "not reached") {
		t.Fatalf("both SCPs up: exit %d\n%s\n%s", r.code, r.out, r.err)
	}
}
