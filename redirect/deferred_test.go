package redirect

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"callgate/e164"
	"callgate/policy"
)

// waitingDecider stands in for an engine whose signal stage would wait
// for a look-up about one caller: under a Budget that allows it the
// decision is deferred (policy.Defer); otherwise it waits until released,
// then gives next's decision.
type waitingDecider struct {
	next     policy.Decider
	caller   e164.Number
	release  chan struct{}
	entered  chan struct{}
	deferred atomic.Int32 // asked under a Budget that allows deferring
	waited   atomic.Int32 // asked under one that does not
}

func newWaitingDecider(caller e164.Number) *waitingDecider {
	return &waitingDecider{next: constDecider{newFakeDecider()}, caller: caller,
		release: make(chan struct{}), entered: make(chan struct{}, 1)}
}

func (d *waitingDecider) Decide(ctx context.Context, c policy.Call) policy.Decision {
	if c.Calling == d.caller {
		if policy.CanDefer(ctx) {
			d.deferred.Add(1)
			policy.Defer(ctx)
			return policy.Decision{}
		}
		d.waited.Add(1)
		d.entered <- struct{}{}
		<-d.release
	}
	return d.next.Decide(ctx, c)
}

// TestDeferredInviteHoldsUpNothing: on the stateless UDP path, with one
// reader (a wait on it would hold up every INVITE), a decision that would
// wait for a signal is deferred: the INVITEs read after it are answered
// while it waits; once released it is answered with its decision (603 for
// the blocked caller, 302 for the VIP, by the scanner's path and the
// fallback parser's), having been asked exactly twice (once deferrable,
// once not); Drain waits for it, and it is counted once.
func TestDeferredInviteHoldsUpNothing(t *testing.T) {
	for _, tc := range []struct {
		name     string
		caller   e164.Number
		from     string
		status   int
		fallback bool
	}{
		{"scanned, 603", blockedCall, "<sip:+12125550102@sbc.example;user=phone>;tag=w1", 603, false},
		// White space before ';': outside the scanner's subset, so the
		// fallback parser reads it.
		{"fallback, 302", vipCaller, "<sip:+12125550101@sbc.example;user=phone> ;tag=w2", 302, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newWaitingDecider(tc.caller)
			var once sync.Once
			free := func() { once.Do(func() { close(d.release) }) }
			cfg := testConfig()
			cfg.TCP = ""
			cfg.UDPReaders = 1
			reg := prometheus.NewRegistry()
			s, err := New(cfg, d, WithRegisterer(reg))
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if err := s.Start(ctx); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				free() // before Stop, which waits for the deferred INVITE
				if err := s.Stop(ctx); err != nil {
					t.Errorf("Stop: %v", err)
				}
			})
			waiting := newUDPClient(t, s)
			waiting.send(req{from: tc.from, callID: "waiting@test"}.String())
			<-d.entered // it waits now, where it was decided the second time
			others := newUDPClient(t, s)
			for i := range 5 {
				others.send(req{}.String()) // an unknown caller: 302 to the B2BUA
				if res := others.read(5 * time.Second); res == nil || res.StatusCode != 302 {
					t.Fatalf("INVITE %d read after the waiting one: %v, want its 302 while the other waits", i, res)
				}
			}
			drained := make(chan error, 1)
			go func() { drained <- s.Drain(ctx) }()
			select {
			case err := <-drained:
				t.Fatalf("Drain returned (%v) while a deferred INVITE waits", err)
			case <-time.After(100 * time.Millisecond):
			}
			free()
			res := waiting.read(5 * time.Second)
			if res == nil {
				t.Fatal("the deferred INVITE was not answered")
			}
			if res.StatusCode != tc.status || string(*res.CallID()) != "waiting@test" || !strings.Contains(header(res, "To"), ";tag=") {
				t.Errorf("the deferred INVITE got %d (Call-ID %s, To %s), want its decision's %d", res.StatusCode, *res.CallID(), header(res, "To"), tc.status)
			}
			if err := <-drained; err != nil {
				t.Errorf("Drain: %v", err)
			}
			if n, m := d.deferred.Load(), d.waited.Load(); n != 1 || m != 1 {
				t.Errorf("asked %d times deferrable and %d times not, want once each", n, m)
			}
			st := s.Stats()
			if st.Invites != 6 || st.Deferred != 1 || st.Deferring != 0 || st.Declined+st.Redirects+st.Screened != 6 {
				t.Errorf("stats %+v: want 6 INVITEs answered by their decisions, 1 deferred, none being decided", st)
			}
			if n := gathered(t, reg, "callgate_sip_deferred_total"); n != 1 {
				t.Errorf("callgate_sip_deferred_total = %v, want 1", n)
			}
			if (st.Fallback == 1) != tc.fallback {
				t.Errorf("%d datagrams by the fallback parser, want the waiting INVITE's: %v", st.Fallback, tc.fallback)
			}
			if n := s.inflight.Load(); n != 0 {
				t.Errorf("%d decisions still in flight", n)
			}
		})
	}
}

// TestDeferredNoMoreThanTheBound: past maxDeferred INVITEs deferred at
// once a decision is not deferred but made on the reader, as before;
// below it, only a stateless reader's decision may be.
func TestDeferredNoMoreThanTheBound(t *testing.T) {
	d := newWaitingDecider(blockedCall)
	close(d.release) // answers at once when not deferred
	cfg := testConfig()
	cfg.TCP = ""
	cfg.UDPReaders = 1
	s := startServer(t, cfg, d)
	s.deferring.Store(maxDeferred)
	c := newUDPClient(t, s)
	if res := c.exchange(req{from: "<sip:+12125550102@sbc.example;user=phone>;tag=b"}.String()); res.StatusCode != 603 {
		t.Errorf("status %d, want 603", res.StatusCode)
	}
	if n, m := d.deferred.Load(), d.waited.Load(); n != 0 || m != 1 {
		t.Errorf("past the bound: asked %d times deferrable and %d times not, want 0 and 1", n, m)
	}
	if st := s.Stats(); st.Deferred != 0 {
		t.Errorf("%d deferred past the bound", st.Deferred)
	}
	s.deferring.Store(0)
	reader := &answer{defers: true}
	if !s.mayDefer(reader) || s.mayDefer(&answer{}) {
		t.Error("below the bound: a reader's decision may not be deferred, or another's may")
	}
}
