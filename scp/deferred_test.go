package scp

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"callgate/e164"
	"callgate/policy"
	"callgate/simulators/ssp"
)

// TestDeferredDecisionHoldsUpNothing: a decision that would wait for a
// signal is deferred (policy.Defer) on the reader and on the workers
// alike: the queries read after it are answered while it waits, it is
// then asked once more, where waiting is allowed, and answered with that
// decision, not the safe answer; the shutdown waits for it, and no
// transaction is left open.
func TestDeferredDecisionHoldsUpNothing(t *testing.T) {
	waiting := e164.MustParse("+13035550199")
	for _, mode := range []string{"adaptive", "inline", "workers"} {
		t.Run(mode, func(t *testing.T) {
			release := make(chan struct{})
			var once sync.Once
			free := func() { once.Do(func() { close(release) }) }
			entered := make(chan struct{}, 1)
			var deferred, waited atomic.Int32
			d := decideFunc(func(ctx context.Context, c policy.Call) policy.Decision {
				if c.Called != waiting {
					return policy.Decision{Action: policy.ActionAllow}
				}
				if policy.CanDefer(ctx) {
					deferred.Add(1)
					policy.Defer(ctx)
					return policy.Decision{}
				}
				waited.Add(1)
				entered <- struct{}{}
				<-release
				return policy.Decision{Action: policy.ActionBlock}
			})
			cfg := testConfig()
			cfg.TimeBudget = 5 * time.Second
			switch mode {
			case "inline":
				cfg.Inline = true
			case "workers":
				cfg.InlineLimit = -1
				cfg.Workers = 1 // a wait on the worker would hold up every query
			}
			svc, cl, h := startSCP(t, cfg, d)
			t.Cleanup(free) // before the shutdown, which waits for the deferred query
			ctx := context.Background()
			first := make(chan ssp.Answer, 1)
			go func() {
				ans, _ := cl.TerminationAttempt(ctx, ssp.TA{Calling: e164.MustParse("+17195551212"), Called: waiting})
				first <- ans
			}()
			<-entered
			for i := range 5 {
				ans, err := cl.TerminationAttempt(ctx, ssp.TA{Calling: e164.MustParse("+17195551212"), Called: e164.MustParse("+13035550100")})
				if err != nil || ans.Operation != "authorizeTermination" {
					t.Fatalf("query %d behind the waiting decision: %s %v, want its authorizeTermination", i, ans.Operation, err)
				}
			}
			drained := make(chan error, 1)
			go func() { drained <- svc.Drain(ctx) }()
			select {
			case err := <-drained:
				t.Fatalf("Drain returned (%v) while a deferred query waits", err)
			case <-time.After(100 * time.Millisecond):
			}
			free()
			if ans := <-first; ans.Operation != "disconnect" {
				t.Errorf("the deferred query was answered %q, want the decision's disconnect", ans.Operation)
			}
			if err := <-drained; err != nil {
				t.Errorf("Drain: %v", err)
			}
			if deferred.Load() != 1 || waited.Load() != 1 {
				t.Errorf("asked %d times deferrable and %d times not, want once each", deferred.Load(), waited.Load())
			}
			if n := svc.tx.Len(); n != 0 {
				t.Errorf("%d transactions left open", n)
			}
			if n := h.counter(t, "callgate_scp_queries_total", "operation", "terminationAttempt", "answer", "disconnect"); n != 1 {
				t.Errorf("queries_total{terminationAttempt,disconnect} = %v, want the deferred query counted once", n)
			}
			var safe float64
			for r := safeTimeout; r < numSafe; r++ {
				safe += h.counter(t, "callgate_scp_safe_answers_total", "reason", safeNames[r])
			}
			if safe != 0 {
				t.Errorf("%v safe answers, want none", safe)
			}
		})
	}
}

// TestDeferredNoMoreThanTheBound: past maxDeferred queries deferred at
// once, a decision that would wait is not deferred (it waits where it is).
func TestDeferredNoMoreThanTheBound(t *testing.T) {
	h := newHarness(t, testConfig(), decideFunc(func(context.Context, policy.Call) policy.Decision {
		return policy.Decision{Action: policy.ActionAllow}
	}))
	w := newWorker(0)
	if !h.s.mayDefer(w) {
		t.Fatal("an idle service does not defer")
	}
	h.s.deferred.Store(maxDeferred)
	if h.s.mayDefer(w) {
		t.Error("deferred past maxDeferred")
	}
	h.s.deferred.Store(0)
	w.deferred = true
	if h.s.mayDefer(w) {
		t.Error("a deferred query deferred again")
	}
}
