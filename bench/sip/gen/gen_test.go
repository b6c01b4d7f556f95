package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"callgate/e164"
	"callgate/keys"
	"callgate/policy"
	"callgate/policy/token"
	"callgate/redirect"
	"callgate/store"
)

// Called numbers of the test calls, and what the test server decides.
var testDecisions = map[string]policy.Action{
	"+13035550100": policy.ActionBlock,  // 603
	"+13035550101": policy.ActionAllow,  // 302 continue
	"+13035550102": policy.ActionScreen, // 302 to sip:screen@
}

type tableDecider struct{}

func (tableDecider) Decide(_ context.Context, c policy.Call) policy.Decision {
	return policy.Decision{Action: testDecisions[c.Called.String()], Subscriber: 1}
}

// startServer serves callgate's SIP redirect server on loopback UDP.
func startServer(t *testing.T, opts ...redirect.Option) string {
	t.Helper()
	key := token.Key{ID: 1, Secret: bytes.Repeat([]byte("k"), 32)}
	s, err := redirect.New(redirect.Config{
		UDP: "127.0.0.1:0", ContinueRoute: "sip:{called}@gw.example;user=phone", ScreeningURI: "sip:screen@b2bua.example",
		TokenKeys: []token.Key{key}, TokenKeyID: key.ID, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}, tableDecider{}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return s.Addr("udp").String()
}

// testCalls is an injection file: n calls cycling through the three
// answers; wantMismatch adds a line whose expected answer is wrong.
func testCalls(t *testing.T, n int, wantMismatch bool) []callSpec {
	t.Helper()
	var b strings.Builder
	b.WriteString("SEQUENTIAL\n")
	answers := []string{"603", "302-continue", "302-screen"}
	for i := range n {
		fmt.Fprintf(&b, "+1212555%04d;+1303555010%d;%s\n", i, i%3, answers[i%3])
	}
	if wantMismatch {
		b.WriteString("+12125559999;+13035550100;302-continue\n") // the server says 603
	}
	calls, err := loadCalls(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	return calls
}

func testConfig(target string, calls int) config {
	return config{target: target, localIP: "127.0.0.1", rate: 3000, calls: calls, sockets: 3, batch: 16,
		tick: time.Millisecond, t1: 500 * time.Millisecond, timeout: 5 * time.Second, ack: true, id: "gt"}
}

// TestAgainstCallgate: every call gets the expected answer from callgate's
// redirect server, and the counts by answer are the file's.
func TestAgainstCallgate(t *testing.T) {
	target := startServer(t)
	specs := testCalls(t, 300, false)
	g, err := newGen(testConfig(target, 600), specs) // the file twice over
	if err != nil {
		t.Fatal(err)
	}
	s := g.run()
	if s.Right != 600 || s.Failed() != 0 || s.Errors != 0 || s.Sent != 600 {
		t.Fatalf("%s", s.line())
	}
	if s.Decline != 200 || s.Continue != 200 || s.Screen != 200 || s.Classes[3] != 400 || s.Classes[6] != 200 {
		t.Errorf("answers by kind: %s", s.line())
	}
	if s.hist().count() != 600 || s.Achieved() <= 0 {
		t.Errorf("response times: %d recorded, achieved %.0f", s.hist().count(), s.Achieved())
	}
}

// TestWrongAnswer: an answer other than the file's expected one fails the
// call, as in the sipp scenario.
func TestWrongAnswer(t *testing.T) {
	target := startServer(t)
	specs := testCalls(t, 30, true)
	g, err := newGen(testConfig(target, len(specs)), specs)
	if err != nil {
		t.Fatal(err)
	}
	s := g.run()
	if s.Right != 30 || s.Wrong != 1 || s.Failed() != 1 || s.OtherCodes["603"] != 1 {
		t.Fatalf("%s (other %v)", s.line(), s.OtherCodes)
	}
}

// TestSilentServer: INVITEs without an answer are retransmitted (T1,
// doubling) and the calls fail at the timeout.
func TestSilentServer(t *testing.T) {
	silent, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	cfg := testConfig(silent.LocalAddr().String(), 5)
	cfg.t1, cfg.timeout = 20*time.Millisecond, 100*time.Millisecond
	g, err := newGen(cfg, testCalls(t, 5, false))
	if err != nil {
		t.Fatal(err)
	}
	s := g.run()
	// Retransmissions at 20 and 60 ms (T1, then 2xT1; the one at 60 ms
	// only if the sender is not held up past the 100 ms timeout); the next
	// would be at 140 ms, past it.
	if s.TimedOut != 5 || s.Answered != 0 || s.Retrans < 5 || s.Retrans > 10 {
		t.Fatalf("%s", s.line())
	}
	buf := make([]byte, 2048)
	silent.SetReadDeadline(time.Now().Add(time.Second))
	n, _, err := silent.ReadFromUDP(buf)
	if err != nil || !bytes.HasPrefix(buf[:n], []byte("INVITE sip:+13035550100@"+cfg.target+";user=phone SIP/2.0\r\n")) {
		t.Errorf("first datagram %q (%v)", buf[:n], err)
	}
}

// enterprise is the one enterprise of the enrolment tests: it enrolled
// every calling number, and its trunk and onward route are as given.
type enterprise struct{ e store.Enterprise }

func (x *enterprise) Enterprise(e164.Number) (uint32, bool) { return x.e.ID, true }
func (x *enterprise) EnterpriseInfo(id uint32) (*store.Enterprise, bool) {
	return &x.e, id == x.e.ID
}

// enrolCalls is an injection file of n enrolments: calling numbers from a
// set of 10, every called number distinct.
func enrolCalls(t *testing.T, n int) []callSpec {
	t.Helper()
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "+1512555010%d;+1303200%04d;302-continue\n", i%10, i)
	}
	calls, err := loadCalls(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	return calls
}

// TestEnrolment (-ruri-user): the INVITEs reach callgate's SIP enrolment
// (Request-URI user enrol, the called number in To), every call registers
// its key and its 302 to the onward route counts as the file's
// 302-continue; from outside the enterprise's trunk every call gets 403,
// which fails it.
func TestEnrolment(t *testing.T) {
	for _, tc := range []struct {
		trunk string
		ok    bool
	}{{"127.0.0.1/32", true}, {"192.0.2.0/24", false}} {
		t.Run(tc.trunk, func(t *testing.T) {
			ents := &enterprise{store.Enterprise{ID: 7, Name: "initech",
				Signals: store.EnterpriseSignals{Trunk: tc.trunk, Onward: "sip:{called}@onward.example;user=phone"}}}
			reg, err := keys.Open(keys.Config{}, ents)
			if err != nil {
				t.Fatal(err)
			}
			defer reg.Close()
			target := startServer(t, redirect.WithEnroller("enrol", reg))
			specs := enrolCalls(t, 300)
			cfg := testConfig(target, len(specs))
			cfg.ruriUser = "enrol"
			g, err := newGen(cfg, specs)
			if err != nil {
				t.Fatal(err)
			}
			s := g.run()
			if !tc.ok {
				if s.Right != 0 || s.Wrong != 300 || s.OtherCodes["403"] != 300 || reg.Stats().Live != 0 {
					t.Fatalf("%s (other %v, keys %d)", s.line(), s.OtherCodes, reg.Stats().Live)
				}
				return
			}
			if s.Right != 300 || s.Continue != 300 || s.Failed() != 0 || s.Errors != 0 || s.Classes[3] != 300 {
				t.Fatalf("%s (other %v)", s.line(), s.OtherCodes)
			}
			if live := reg.Stats().Live; live != 300 {
				t.Errorf("%d keys live after 300 enrolments", live)
			}
			for _, c := range specs {
				calling, _ := e164.Parse(c.calling)
				called, _ := e164.Parse(c.called)
				if m, ent := reg.Peek(calling, called, time.Now()); m != policy.KeyMatched || ent != 7 {
					t.Fatalf("key %s -> %s: %v (enterprise %d)", c.calling, c.called, m, ent)
				}
			}
		})
	}
}

// TestRURIUser: with -ruri-user the INVITE and its ACK share the fixed
// Request-URI, and To carries the called number; a user that cannot be
// written into the URI as it is is refused.
func TestRURIUser(t *testing.T) {
	r := remote{addr: "127.0.0.1:15060", ruriUser: "enrol"}
	l := local{ip: "127.0.0.1", port: "5000"}
	c := callSpec{calling: "+15125550100", called: "+13032000001", want: wantContinue}
	inv := string(appendInvite(nil, &l, &r, "g1", &c, 3))
	ack := string(appendAck(nil, &l, &r, "g1", &c, 3, []byte("<sip:+13032000001@127.0.0.1:15060;user=phone>;tag=cg1")))
	for _, want := range []string{"INVITE sip:enrol@127.0.0.1:15060 SIP/2.0\r\n", "\r\nTo: <sip:+13032000001@127.0.0.1:15060;user=phone>\r\n",
		"\r\nFrom: <sip:+15125550100@127.0.0.1;user=phone>;tag=g1-3\r\n"} {
		if !strings.Contains(inv, want) {
			t.Errorf("INVITE lacks %q:\n%s", want, inv)
		}
	}
	if !strings.HasPrefix(ack, "ACK sip:enrol@127.0.0.1:15060 SIP/2.0\r\n") {
		t.Errorf("ACK's Request-URI differs from the INVITE's:\n%s", ack)
	}
	r.ruriUser = ""
	if inv := string(appendInvite(nil, &l, &r, "g1", &c, 3)); !strings.HasPrefix(inv, "INVITE sip:+13032000001@127.0.0.1:15060;user=phone SIP/2.0\r\n") {
		t.Errorf("without -ruri-user:\n%s", inv)
	}
	for _, bad := range []string{"en rol", "enrol@x", "a;b", "<enrol>", strings.Repeat("e", 65)} {
		cfg := testConfig("127.0.0.1:15060", 1)
		cfg.ruriUser = bad
		if _, err := newGen(cfg, enrolCalls(t, 1)); err == nil || !strings.Contains(err.Error(), "ruri-user") {
			t.Errorf("ruri-user %q: %v", bad, err)
		}
	}
}

// TestMerge: instances' results add up, and the percentiles are those of
// all their calls.
func TestMerge(t *testing.T) {
	a := Summary{Instances: 1, Rate: 100, Calls: 2, Answered: 2, Right: 2, Decline: 2, Start: 10, FirstAnswer: 20, LastAnswer: 1e9 + 20,
		Hist: [][2]uint64{{uint64(bucket(time.Millisecond)), 2}}}
	b := Summary{Instances: 1, Rate: 100, Calls: 1, Answered: 1, Right: 1, Continue: 1, Start: 5, FirstAnswer: 30, LastAnswer: 30,
		Hist: [][2]uint64{{uint64(bucket(50 * time.Millisecond)), 1}}}
	var m Summary
	m.merge(&a)
	m.merge(&b)
	if m.Instances != 2 || m.Rate != 200 || m.Right != 3 || m.Decline != 2 || m.Continue != 1 || m.Start != 5 || m.FirstAnswer != 20 {
		t.Errorf("merged %+v", m)
	}
	h := m.hist()
	if h.quantile(0.5) != upper(bucket(time.Millisecond)) || h.quantile(0.99) != upper(bucket(50*time.Millisecond)) {
		t.Errorf("p50 %v p99 %v", h.quantile(0.5), h.quantile(0.99))
	}
	if got := m.Achieved(); got < 1.9 || got > 2.1 {
		t.Errorf("achieved %.2f calls/s, want 2", got)
	}
}

// TestPace: on schedule, the calls due go out; after a stall, at most a
// burst's worth, and the schedule slides by the rest.
func TestPace(t *testing.T) {
	const rate, burst = 1000.0, 4 // a call a millisecond
	ms := int64(time.Millisecond)
	due, slip := pace(10*ms, 0, 7, burst, 100, rate)
	if due != 11 || slip != 0 { // calls 0..10 due at 10 ms, 7 sent
		t.Fatalf("at 10 ms: due %d slip %v", due, slip)
	}
	if due, slip = pace(3*ms, 0, 0, burst, 100, rate); due != 4 || slip != 0 {
		t.Fatalf("at 3 ms: due %d slip %v", due, slip)
	}
	// Stalled until 500 ms with 4 sent: 4 more, and the schedule slides
	// 492 ms, so that the next tick is back to one call a millisecond.
	due, slip = pace(500*ms, 0, 4, burst, 100, rate)
	if due != 8 || slip != 493*time.Millisecond {
		t.Fatalf("after the stall: due %d slip %v", due, slip)
	}
	if due, _ = pace(501*ms, slip, 8, burst, 100, rate); due != 9 {
		t.Errorf("a millisecond later: due %d, want 9", due)
	}
	if due, _ = pace(10_000*ms, 0, 98, 1000, 100, rate); due != 100 {
		t.Errorf("at the end: due %d, want all 100", due)
	}
}

func TestParseResponse(t *testing.T) {
	res := "SIP/2.0 302 Moved Temporarily\r\nVia: SIP/2.0/UDP 127.0.0.1:5000;branch=z9hG4bK-g1-7-0;rport=5000\r\n" +
		"From: <sip:+1@127.0.0.1;user=phone>;tag=g1-7\r\nt: <sip:+2@h;user=phone>;tag=cg12\r\ni: 7-g1@127.0.0.1\r\n" +
		"CSeq: 1 INVITE\r\nm: <sip:screen@b2bua.example;cgt=x>\r\nContent-Length: 0\r\n\r\n"
	var r response
	if err := parseResponse([]byte(res), "g1", &r); err != nil {
		t.Fatal(err)
	}
	if r.code != 302 || r.k != 7 || !r.screen || string(r.to) != "<sip:+2@h;user=phone>;tag=cg12" {
		t.Errorf("parsed %+v (to %q)", r, r.to)
	}
	for _, bad := range []string{
		"INVITE sip:x SIP/2.0\r\n\r\n",
		"SIP/2.0 abc Nope\r\n\r\n",
		strings.Replace(res, "i: 7-g1@", "i: 7-g2@", 1), // another instance's call
		strings.Replace(res, "i: 7-g1@", "i: x-g1@", 1),
		strings.Replace(res, "\r\nt: <sip:+2@h;user=phone>;tag=cg12", "", 1),
	} {
		if err := parseResponse([]byte(bad), "g1", &r); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

// FuzzParseResponse: any datagram is read without panicking, and the To
// value of a parsed response lies within it.
func FuzzParseResponse(f *testing.F) {
	f.Add([]byte("SIP/2.0 603 Decline\r\nTo: <sip:a@b>;tag=1\r\nCall-ID: 3-g@h\r\n\r\n"), "g")
	f.Add([]byte("SIP/2.0 302 X\ni: 1-g@h\nt: x\nm: <sip:screen@y>\n\n"), "g")
	f.Fuzz(func(t *testing.T, data []byte, id string) {
		var r response
		if err := parseResponse(data, id, &r); err == nil {
			if r.k < 0 || r.code < 100 || !bytes.Contains(data, r.to) {
				t.Fatalf("parsed %+v from %q", r, data)
			}
		}
	})
}

func TestLoadCalls(t *testing.T) {
	for _, bad := range []string{"", "SEQUENTIAL\n", "+1;+2\n", "+1;+2;404\n", ";+2;603\n"} {
		if _, err := loadCalls(strings.NewReader(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
	calls, err := loadCalls(strings.NewReader("SEQUENTIAL\n+1;+2;603\n+3;+4;302-screen\n"))
	if err != nil || len(calls) != 2 || calls[1] != (callSpec{calling: "+3", called: "+4", want: wantScreen}) {
		t.Errorf("%+v %v", calls, err)
	}
}
