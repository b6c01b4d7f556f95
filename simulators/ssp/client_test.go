package ssp_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"callgate/e164"
	"callgate/internal/tsharktest"
	"callgate/scp/ain"
	"callgate/sigtran/pcap"
	"callgate/sigtran/tcap"
	"callgate/simulators/ssp"
	"callgate/simulators/ssp/ssptest"
)

func startSCP(t testing.TB, decide ssptest.Decide) *ssptest.Responder {
	t.Helper()
	r, err := ssptest.Start(ssptest.Config{Decide: decide})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func dial(t testing.TB, addr string, mod func(*ssp.Config)) *ssp.Client {
	t.Helper()
	cfg := ssp.Config{Connect: []string{addr}, RoutingContexts: []uint32{10}, Timeout: 3 * time.Second, ConnectTimeout: 10 * time.Second}
	if mod != nil {
		mod(&cfg)
	}
	c, err := ssp.Dial(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

var p01 = ssp.TA{Calling: e164.MustParse("+17195551212"), Called: e164.MustParse("+13035550100")}

func digits(t *testing.T, s string) ain.Digits {
	t.Helper()
	n := e164.MustParse(s)
	d, err := ain.DigitsFromE164(n, ain.NOANational)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// The query the Client sends is the golden vector's P-01Q apart from the
// TID, and each kind of answer decodes into the Answer fields.
func TestAnswers(t *testing.T) {
	var mu sync.Mutex
	var got ain.TerminationAttemptArg
	var reply ssptest.Reply
	scp := startSCP(t, func(ta *ain.TerminationAttemptArg) ssptest.Reply {
		mu.Lock()
		defer mu.Unlock()
		got = *ta
		return reply
	})
	c := dial(t, scp.Addr(), nil)
	set := func(r ssptest.Reply) { mu.Lock(); reply = r; mu.Unlock() }

	fwd := &ain.ForwardCallArg{CalledPartyID: ain.Some(digits(t, "+17205550123"))}
	str, _ := ain.AnnouncementBlock([]byte{0x00, 0x15, 0x00})
	gn := &ain.AuthorizeTerminationArg{}
	appErr := &ain.ApplicationError{Cause: ain.ErrorCause(6)}
	cases := []struct {
		name  string
		reply ssptest.Reply
		check func(t *testing.T, a ssp.Answer)
	}{
		{"authorize", ssptest.Reply{Arg: gn}, func(t *testing.T, a ssp.Answer) {
			if a.Operation != "authorizeTermination" || a.Package != tcap.Response {
				t.Fatalf("got %s in %v", a.Operation, a.Package)
			}
			if _, ok := a.Arg.(*ain.AuthorizeTerminationArg); !ok {
				t.Fatalf("Arg is %T", a.Arg)
			}
		}},
		{"forward", ssptest.Reply{Op: ain.OpForwardCall, Arg: fwd}, func(t *testing.T, a ssp.Answer) {
			f, ok := a.Arg.(*ain.ForwardCallArg)
			if a.Operation != "forwardCall" || !ok {
				t.Fatalf("got %s %T", a.Operation, a.Arg)
			}
			if n, _ := f.CalledPartyID.V.E164(); n != e164.MustParse("+17205550123") {
				t.Fatalf("routing number %v", n)
			}
			if len(a.Params) != 1 || a.Params[0].Name != "calledPartyID" || !strings.Contains(a.Params[0].Value, "+17205550123") {
				t.Fatalf("params %+v", a.Params)
			}
		}},
		{"disconnect", ssptest.Reply{Op: ain.OpDisconnect}, func(t *testing.T, a ssp.Answer) {
			if a.Operation != "disconnect" || len(a.Components) != 1 || *a.Components[0].CorrelationID != 1 {
				t.Fatalf("got %+v", a)
			}
		}},
		{"sendToResource", ssptest.Reply{Op: ain.OpSendToResource, Arg: &ain.SendToResourceArg{StrParameterBlock: str, DisconnectFlag: true}},
			func(t *testing.T, a ssp.Answer) {
				s, ok := a.Arg.(*ain.SendToResourceArg)
				if a.Operation != "sendToResource" || !ok || !s.DisconnectFlag {
					t.Fatalf("got %s %+v", a.Operation, a.Arg)
				}
			}},
		{"reject", ssptest.Reply{Reject: tcap.InvokeIncorrectParameter}, func(t *testing.T, a ssp.Answer) {
			if a.Operation != ssp.OutcomeReject || a.Components[0].Problem != tcap.InvokeIncorrectParameter || a.Components[0].ProblemCode != "2/3" {
				t.Fatalf("got %+v", a)
			}
		}},
		{"returnError", ssptest.Reply{ErrorCode: ain.ErrCodeApplicationError, ErrorParam: appErr}, func(t *testing.T, a ssp.Answer) {
			c := a.Components[0]
			if a.Operation != ssp.OutcomeError || c.Error == nil || c.Error.Code != 1 || c.ErrorName != "applicationError" {
				t.Fatalf("got %+v", a)
			}
			if _, ok := c.ErrorArg.(*ain.ApplicationError); !ok {
				t.Fatalf("error parameter %T", c.ErrorArg)
			}
		}},
		{"abort", ssptest.Reply{Abort: tcap.ResourceUnavailable}, func(t *testing.T, a ssp.Answer) {
			if a.Operation != ssp.OutcomeAbort || a.AbortCause != tcap.ResourceUnavailable || a.AbortCauseName != "resourceUnavailable" {
				t.Fatalf("got %+v", a)
			}
		}},
		{"conversation", ssptest.Reply{Op: ain.OpSendToResource, Arg: &ain.SendToResourceArg{StrParameterBlock: str}, Conversation: true},
			func(t *testing.T, a ssp.Answer) {
				if a.Package != tcap.ConversationWithPerm || a.Operation != "sendToResource" {
					t.Fatalf("got %s in %v", a.Operation, a.Package)
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			set(tc.reply)
			a, err := c.TerminationAttempt(context.Background(), p01)
			if err != nil {
				t.Fatal(err)
			}
			if a.Latency <= 0 || a.LatencyMs < 0 || len(a.TID) != 8 {
				t.Fatalf("latency %v tid %q", a.Latency, a.TID)
			}
			tc.check(t, a)
			if s := a.String(); !strings.Contains(s, a.Operation) {
				t.Fatalf("text %q lacks %q", s, a.Operation)
			}
		})
	}
	mu.Lock()
	defer mu.Unlock()
	calling, pres, _ := got.Calling()
	called, _ := got.Called()
	if calling != p01.Calling || pres != ain.PresentationAllowed || called != p01.Called ||
		got.UserID.DN.String() != "3035550100" || got.BearerCapability != 0 ||
		got.CallingPartyID.V.Screening != ain.ScreeningNetwork || got.ChargeNumber.Set {
		t.Fatalf("SCP got %+v", got)
	}
	if c.Outstanding() != 0 {
		t.Fatalf("%d calls left outstanding", c.Outstanding())
	}
}

func TestQueryParameters(t *testing.T) {
	ch := make(chan ain.TerminationAttemptArg, 1)
	scp := startSCP(t, func(ta *ain.TerminationAttemptArg) ssptest.Reply {
		ch <- *ta
		return ssptest.Reply{}
	})
	c := dial(t, scp.Addr(), nil)
	ta := ssp.TA{Calling: e164.MustParse("+17195551212"), Called: e164.MustParse("+13035550100"),
		Presentation: ssp.PresentationRestricted, ChargeNumber: e164.MustParse("+17195550000"),
		OriginalCalled: e164.MustParse("+13035550199"), Bearer: ain.BearerCapability(1)}
	if _, err := c.TerminationAttempt(context.Background(), ta); err != nil {
		t.Fatal(err)
	}
	got := <-ch
	_, pres, _ := got.Calling()
	charge, _ := got.ChargeNumber.V.E164()
	orig, _ := got.OriginalCalledPartyID.V.E164()
	if pres != ain.PresentationRestricted || charge != ta.ChargeNumber || orig != ta.OriginalCalled || got.BearerCapability != 1 {
		t.Fatalf("SCP got %+v", got)
	}
	// International numbers go with nature of address international.
	ta = ssp.TA{Calling: e164.MustParse("+442071234567"), Called: e164.MustParse("+13035550100")}
	if _, err := c.TerminationAttempt(context.Background(), ta); err != nil {
		t.Fatal(err)
	}
	got = <-ch
	if n, _, _ := got.Calling(); n != ta.Calling || got.CallingPartyID.V.NatureOfAddress != ain.NOAInternational {
		t.Fatalf("international calling %+v", got.CallingPartyID)
	}
	// No calling number: no CallingPartyID.
	if _, err := c.TerminationAttempt(context.Background(), ssp.TA{Called: p01.Called, Presentation: ssp.PresentationUnavailable}); err != nil {
		t.Fatal(err)
	}
	if got = <-ch; got.CallingPartyID.Set {
		t.Fatalf("anonymous call carried %+v", got.CallingPartyID)
	}
	if _, err := c.TerminationAttempt(context.Background(), ssp.TA{Calling: p01.Calling}); !errors.Is(err, ssp.ErrNoCalled) {
		t.Fatalf("no called number: %v", err)
	}
}

func acgFor(code string, interval uint8, dur ain.GapDuration) *ain.AcgArg {
	gta, _ := ain.AppendGlobalTitleAddress(nil, code)
	return &ain.AcgArg{ControlCauseIndicator: 1, GapDuration: dur,
		GapInterval: ain.GapInterval{Value: interval}, GlobalTitleAddress: gta}
}

// The SCP's acg is honoured like a switch does: calls to the controlled
// code are not queried within the gap, one passes when it runs out, other
// codes are unaffected, and "remove" lifts the control.
func TestACGHonoured(t *testing.T) {
	var acg atomic.Pointer[ain.AcgArg]
	scp := startSCP(t, func(ta *ain.TerminationAttemptArg) ssptest.Reply {
		return ssptest.Reply{ACG: acg.Swap(nil)}
	})
	c := dial(t, scp.Addr(), nil)
	ctx := context.Background()
	acg.Store(acgFor("303555", ain.NationalGap500ms, ain.GapDuration16s))
	a, err := c.TerminationAttempt(ctx, p01)
	if err != nil || a.Operation != "authorizeTermination" || len(a.ACG) != 1 {
		t.Fatalf("first call: %v %+v", err, a)
	}
	if g := a.ACG[0]; g.Code != "303555" || g.Gap != 500*time.Millisecond || g.For != 16*time.Second {
		t.Fatalf("acg %+v", g)
	}
	before := scp.Queries()
	for i := 0; i < 5; i++ {
		a, err := c.TerminationAttempt(ctx, ssp.TA{Calling: p01.Calling, Called: e164.MustParse(fmt.Sprintf("+1303555%04d", i))})
		if err != nil || a.Operation != ssp.OutcomeGapped {
			t.Fatalf("call %d under control: %v %s", i, err, a.Operation)
		}
	}
	other := ssp.TA{Calling: p01.Calling, Called: e164.MustParse("+13035560100")}
	if a, err := c.TerminationAttempt(ctx, other); err != nil || a.Operation != "authorizeTermination" {
		t.Fatalf("other code: %v %s", err, a.Operation)
	}
	if q := scp.Queries() - before; q != 1 {
		t.Fatalf("SCP saw %d queries during the gap, want 1 (the other code)", q)
	}
	time.Sleep(550 * time.Millisecond)
	if a, _ := c.TerminationAttempt(ctx, p01); a.Operation != "authorizeTermination" {
		t.Fatalf("after the gap: %s, want one call through", a.Operation)
	}
	if a, _ := c.TerminationAttempt(ctx, p01); a.Operation != ssp.OutcomeGapped {
		t.Fatalf("right after the passed call: %s, want gapped", a.Operation)
	}
	ctl := c.Gaps().Controls(time.Now())
	if len(ctl) != 1 || ctl[0].Gapped != 6 || ctl[0].Allowed != 1 {
		t.Fatalf("controls %+v", ctl)
	}
	// The SCP lifts the control (with a call to another code).
	acg.Store(acgFor("303555", ain.NationalGapRemove, ain.GapDuration1s))
	if _, err := c.TerminationAttempt(ctx, other); err != nil {
		t.Fatal(err)
	}
	if a, _ := c.TerminationAttempt(ctx, p01); a.Operation != "authorizeTermination" {
		t.Fatalf("after removal: %s", a.Operation)
	}
	if st := c.Stats(); st.Gapped != 6 || st.ACG != 2 {
		t.Fatalf("stats %+v", st)
	}
}

func TestTimeoutAndLateAnswer(t *testing.T) {
	var mode atomic.Int32
	scp := startSCP(t, func(ta *ain.TerminationAttemptArg) ssptest.Reply {
		switch mode.Load() {
		case 1:
			return ssptest.Reply{Drop: true}
		case 2:
			return ssptest.Reply{Delay: 400 * time.Millisecond}
		}
		return ssptest.Reply{}
	})
	c := dial(t, scp.Addr(), func(cfg *ssp.Config) { cfg.Timeout = 150 * time.Millisecond })
	mode.Store(1)
	start := time.Now()
	a, err := c.TerminationAttempt(context.Background(), p01)
	if !errors.Is(err, ssp.ErrTimeout) || a.Operation != ssp.OutcomeTimeout {
		t.Fatalf("dropped query: %v %s", err, a.Operation)
	}
	if el := time.Since(start); el < 150*time.Millisecond {
		t.Fatalf("timed out after %v", el)
	}
	mode.Store(2)
	if _, err := c.TerminationAttempt(context.Background(), p01); !errors.Is(err, ssp.ErrTimeout) {
		t.Fatalf("delayed answer: %v", err)
	}
	// A context deadline sooner than the timeout wins.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := c.TerminationAttempt(ctx, p01); err == nil {
		t.Fatal("no error with an expired context")
	}
	deadline := time.Now().Add(3 * time.Second)
	for c.Stats().Late < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if st := c.Stats(); st.Late < 2 || st.Timeouts < 2 || c.Outstanding() != 0 {
		t.Fatalf("stats %+v outstanding %d", st, c.Outstanding())
	}
	mode.Store(0)
	if a, err := c.TerminationAttempt(context.Background(), p01); err != nil || a.Operation != "authorizeTermination" {
		t.Fatalf("after timeouts: %v %s", err, a.Operation)
	}
}

// Many goroutines at once: every answer reaches the caller whose query it
// answers (the SCP echoes the called number as the routing number).
func TestConcurrentCalls(t *testing.T) {
	scp := startSCP(t, func(ta *ain.TerminationAttemptArg) ssptest.Reply {
		return ssptest.Reply{Op: ain.OpForwardCall, Arg: &ain.ForwardCallArg{CalledPartyID: ta.CalledPartyID}}
	})
	c := dial(t, scp.Addr(), nil)
	const workers, each = 32, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				called := e164.MustParse(fmt.Sprintf("+1303%03d%04d", 200+w, i))
				a, err := c.TerminationAttempt(context.Background(), ssp.TA{Calling: p01.Calling, Called: called})
				if err != nil {
					errs <- err
					continue
				}
				f, ok := a.Arg.(*ain.ForwardCallArg)
				if !ok {
					errs <- fmt.Errorf("answer %s %T", a.Operation, a.Arg)
					continue
				}
				if n, _ := f.CalledPartyID.V.E164(); n != called {
					errs <- fmt.Errorf("call to %s got the answer for %s", called, n)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if st := c.Stats(); st.Answered != workers*each || st.Late != 0 || c.Outstanding() != 0 {
		t.Fatalf("stats %+v outstanding %d", st, c.Outstanding())
	}
}

// The capture written as a pcap reads back and tshark decodes the AIN
// operations in it.
func TestCapturePcapTshark(t *testing.T) {
	scp := startSCP(t, func(ta *ain.TerminationAttemptArg) ssptest.Reply {
		return ssptest.Reply{Op: ain.OpForwardCall, Arg: &ain.ForwardCallArg{CalledPartyID: ain.Some(digits(t, "+17205550123"))}}
	})
	var seen atomic.Int32
	c := dial(t, scp.Addr(), func(cfg *ssp.Config) {
		cfg.Capture = true
		cfg.OnMessage = func(ssp.Captured) { seen.Add(1) }
	})
	if _, err := c.TerminationAttempt(context.Background(), p01); err != nil {
		t.Fatal(err)
	}
	all := c.Capture()
	// The association's management comes first: ASP Up from the switch,
	// its ack, ... then the query and its answer.
	var msgs []ssp.Captured
	for _, m := range all {
		if m.IsData() {
			msgs = append(msgs, m)
		}
	}
	if len(all) < 6 || all[0].Direction != ssp.Sent || all[0].Message[2] != 3 || all[0].Message[3] != 1 ||
		int(seen.Load()) != len(all) {
		t.Fatalf("captured %d messages (%d seen by OnMessage), first %x", len(all), seen.Load(), all[0].Message)
	}
	if len(msgs) != 2 || msgs[0].Direction != ssp.Sent || msgs[1].Direction != ssp.Received {
		t.Fatalf("captured %d DATA messages", len(msgs))
	}
	var buf bytes.Buffer
	if err := ssp.WritePcap(&buf, all); err != nil {
		t.Fatal(err)
	}
	back, err := pcap.Read(bytes.NewReader(buf.Bytes()))
	if err != nil || len(back) != len(all) || !bytes.Equal(back[0].Payload, all[0].Message) {
		t.Fatalf("read back %d messages: %v", len(back), err)
	}
	path := filepath.Join(t.TempDir(), "call.pcap")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	// tshark decodes the whole association: the ASP management as M3UA,
	// the DATA down to AIN.
	if out := tsharktest.Run(t, path, "-T", "fields", "-e", "m3ua.message_class", "-e", "m3ua.message_type"); !strings.HasPrefix(out, "3\t1\n3\t4\n") {
		t.Errorf("tshark, M3UA classes and types: want ASPUP then ASPUP ACK first:\n%s", out)
	}
	out := tsharktest.Run(t, path, "-Y", "ansi_tcap", "-T", "fields", "-e", "ansi_tcap.private", "-e", "m3ua.routing_context", "-e", "ain.bcd_digits")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "25605\t10\t") || !strings.HasPrefix(lines[1], "27137\t10\t") ||
		!strings.Contains(lines[1], "7205550123") {
		t.Fatalf("tshark:\n%s", out)
	}
}

func TestDialFailsClearly(t *testing.T) {
	_, err := ssp.Dial(context.Background(), ssp.Config{Connect: []string{"127.0.0.1:1"}, ConnectTimeout: 300 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "not ASP-ACTIVE") {
		t.Fatalf("dial to nothing: %v", err)
	}
	if _, err := ssp.Dial(context.Background(), ssp.Config{}); err == nil {
		t.Fatal("dial without an address succeeded")
	}
}

// While the SG reports the SCP's point code unavailable, calls fail fast
// instead of being sent; DAVA brings it back.
func TestDestinationUnavailable(t *testing.T) {
	scp := startSCP(t, nil)
	c := dial(t, scp.Addr(), nil)
	scp.Endpoint().SetAvailable(uint32(ssp.DefaultDPC), false)
	deadline := time.Now().Add(3 * time.Second)
	var err error
	for time.Now().Before(deadline) {
		if _, err = c.TerminationAttempt(context.Background(), p01); errors.Is(err, ssp.ErrUnavailable) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !errors.Is(err, ssp.ErrUnavailable) {
		t.Fatalf("after DUNA: %v", err)
	}
	scp.Endpoint().SetAvailable(uint32(ssp.DefaultDPC), true)
	for time.Now().Before(deadline) {
		if _, err = c.TerminationAttempt(context.Background(), p01); err == nil {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("after DAVA: %v", err)
}

// A switch behind a mated STP pair: one STP reporting the SCP's point
// code unavailable (DUNA) does not stop the calls (RFC 4666 §4.5.1: the
// destination is learnt per SG, and the other STP still reaches it); they
// go through the other one, and the load summary names the STP that
// cannot reach the SCP.
func TestDestinationUnavailableThroughOneSG(t *testing.T) {
	sg1, sg2 := startSCP(t, nil), startSCP(t, nil)
	c := dial(t, sg1.Addr(), func(cfg *ssp.Config) { cfg.Connect = append(cfg.Connect, sg2.Addr()) })
	// Both SGs must see the switch's ASP active: an SG tells only its
	// active ASPs about a destination.
	deadline := time.Now().Add(3 * time.Second)
	for (c.Endpoint().ActiveCount() < 2 || sg1.Endpoint().ActiveCount() == 0 || sg2.Endpoint().ActiveCount() == 0) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	sg1.Endpoint().SetAvailable(uint32(ssp.DefaultDPC), false)
	for len(c.UnavailableVia()) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if via := c.UnavailableVia(); len(via) != 1 || via[0] != sg1.Addr() {
		t.Fatalf("UnavailableVia %v, want [%s]", via, sg1.Addr())
	}
	for i := range 20 {
		if _, err := c.TerminationAttempt(context.Background(), p01); err != nil {
			t.Fatalf("call %d with the SCP reachable through the other SG: %v", i, err)
		}
	}
	sum, err := c.Load(context.Background(), ssp.LoadConfig{Concurrency: 16, Calls: 200, Scenarios: []ssp.Scenario{{TA: p01}}})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Answered != 200 || sum.NotSent != 0 {
		t.Fatalf("load: answered %d not sent %d, errors %v", sum.Answered, sum.NotSent, sum.ErrorSamples)
	}
	if len(sum.UnavailableVia) != 1 || sum.UnavailableVia[0] != sg1.Addr() {
		t.Fatalf("summary UnavailableVia %v", sum.UnavailableVia)
	}
	for _, p := range c.Peers() {
		if p.Address == sg1.Addr() && p.Sent != 0 {
			t.Fatalf("%d queries sent through the SG that reported the SCP unavailable", p.Sent)
		}
	}
}

// A switch behind an STP audits the SCP's point code with DAUD once its
// association is active (RFC 4666 §4.5.3), and tshark reads the DAUD and
// the SG's answer as M3UA SSNM for that point code, in the routing
// context, with nothing to complain about.
func TestAuditDAUDDecodedByTshark(t *testing.T) {
	scp := startSCP(t, nil)
	scp.Endpoint().SetAvailable(uint32(ssp.DefaultDPC), true)
	c := dial(t, scp.Addr(), func(cfg *ssp.Config) { cfg.Capture = true })
	deadline := time.Now().Add(3 * time.Second)
	answered := func() bool {
		for _, m := range c.Capture() {
			if m.Direction == ssp.Received && m.Message[2] == 2 && m.Message[3] == 2 {
				return true
			}
		}
		return false
	}
	for !answered() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if !answered() {
		t.Fatal("no DAVA answering the switch's DAUD")
	}
	if s, known := c.Endpoint().Destination(uint32(ssp.DefaultDPC)); !known || !s.Available {
		t.Fatalf("the SCP's point code after the audit: %+v, known %v", s, known)
	}
	var buf bytes.Buffer
	if err := ssp.WritePcap(&buf, c.Capture()); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "audit.pcap")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	rows := tsharktest.Fields(t, path, "m3ua.message_class == 2", "m3ua.message_type", "m3ua.affected_point_code_mask",
		"m3ua.affected_point_code_pc", "m3ua.routing_context")
	pc := fmt.Sprint(uint32(ssp.DefaultDPC))
	if len(rows) != 2 || strings.Join(rows[0], " ") != "3 0 "+pc+" 10" || strings.Join(rows[1], " ") != "2 0 "+pc+" 10" {
		t.Fatalf("tshark, SSNM (type, mask, point code, RC): want DAUD then DAVA for %s in RC 10, got %q", pc, rows)
	}
	if exp := tsharktest.Expert(t, path); len(exp) != 0 {
		t.Fatalf("tshark expert info:\n%s", strings.Join(exp, "\n"))
	}
}
