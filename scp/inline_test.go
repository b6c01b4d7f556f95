package scp

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"callgate/e164"
	"callgate/policy"
	"callgate/sigtran/m3ua"
	"callgate/simulators/ssp"
)

// TestInlineUntilSlow: queries are decided on the reader while the engine
// is fast; a slow spell sends the following ones to the workers, and the
// reader decides again once the spell is over and no query waits for a
// worker.
func TestInlineUntilSlow(t *testing.T) {
	var slow atomic.Bool
	d := decideFunc(func(context.Context, policy.Call) policy.Decision {
		if slow.Load() {
			time.Sleep(40 * time.Millisecond)
		}
		return policy.Decision{Action: policy.ActionAllow}
	})
	cfg := testConfig()
	cfg.Workers = 2
	h := newHarness(t, cfg, d)
	s, w := h.s, newWorker(-1)
	if s.cfg.InlineLimit != time.Millisecond {
		t.Fatalf("default inline limit %v, want 1ms", s.cfg.InlineLimit)
	}
	feed := func() {
		var m m3ua.Data
		if err := m.UnmarshalBinary(vectorM3UA(t, "P-02Q")); err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		if !s.decideInline(now) {
			t.Fatal("not decided inline")
		}
		s.handleInline(w, h.out, &m.ProtocolData, now)
		decodeAnswer(t, h.out.one(t))
	}
	for range 20 {
		feed()
	}
	if !s.decideInline(time.Now()) {
		t.Fatal("fast decisions: queries should stay on the reader")
	}
	slow.Store(true)
	feed() // one 40 ms decision: a stall, not a slow engine
	if !s.decideInline(time.Now()) {
		t.Fatal("one slow query moved the queries to the workers")
	}
	for n := 2; s.decideInline(time.Now()); n++ {
		if n > 5 {
			t.Fatal("after five 40 ms decisions in a row the next query is still decided on the reader")
		}
		feed() // a run of slow ones: the engine is slow
	}
	if !s.decideInline(time.Now().Add(inlineHoldoff + 50*time.Millisecond)) {
		t.Fatal("the reader does not decide again after the hold-off")
	}
	s.pending.Add(1) // a query waiting for a worker
	if s.decideInline(time.Now().Add(inlineHoldoff + 50*time.Millisecond)) {
		t.Fatal("deciding inline while a query waits for a worker could reorder a dialogue")
	}
	s.pending.Add(-1)

	// Pool only, and inline only.
	cfg.InlineLimit = -1
	if newHarness(t, cfg, d).s.decideInline(time.Now()) {
		t.Error("InlineLimit < 0: queries must go to the workers")
	}
	cfg.InlineLimit, cfg.Inline = 0, true
	if !newHarness(t, cfg, d).s.decideInline(time.Now()) {
		t.Error("Inline: queries must be decided on the reader")
	}
}

// TestStuckInlineDecideReleased: a decision that does not return, taken on
// the association's reader, holds up nothing for long: the ticker has a
// new reader take over, later queries are answered, and the stuck one is
// answered (with the safe answer, late) when the decision returns; the
// shutdown waits for it.
func TestStuckInlineDecideReleased(t *testing.T) {
	stuck := e164.MustParse("+13035550199")
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	d := decideFunc(func(_ context.Context, c policy.Call) policy.Decision {
		if c.Called == stuck {
			entered <- struct{}{}
			<-release
		}
		return policy.Decision{Action: policy.ActionBlock}
	})
	for _, inline := range []bool{false, true} {
		name := "adaptive"
		if inline {
			name = "inline"
		}
		t.Run(name, func(t *testing.T) {
			cfg := testConfig()
			cfg.Inline = inline
			cfg.TimeBudget = 100 * time.Millisecond
			svc, cl, _ := startSCP(t, cfg, d)
			ctx := context.Background()
			first := make(chan ssp.Answer, 1)
			go func() {
				ans, _ := cl.TerminationAttempt(ctx, ssp.TA{Calling: e164.MustParse("+17195551212"), Called: stuck})
				first <- ans
			}()
			<-entered
			for i := range 3 {
				ans, err := cl.TerminationAttempt(ctx, ssp.TA{Calling: e164.MustParse("+17195551212"), Called: e164.MustParse("+13035550100")})
				if err != nil || ans.Operation != "disconnect" {
					t.Fatalf("query %d behind the stuck decision: %s %v, want its disconnect", i, ans.Operation, err)
				}
			}
			if n := svc.inlineBusy(); n != 1 {
				t.Errorf("%d readers busy, want the released one", n)
			}
			drained := make(chan error, 1)
			go func() { drained <- svc.Drain(ctx) }()
			select {
			case err := <-drained:
				t.Fatalf("Drain returned (%v) while a query is being decided", err)
			case <-time.After(150 * time.Millisecond):
			}
			close(release)
			if ans := <-first; ans.Operation != "authorizeTermination" {
				t.Errorf("the stuck query was answered %q, want the safe authorizeTermination (late)", ans.Operation)
			}
			if err := <-drained; err != nil {
				t.Errorf("Drain: %v", err)
			}
		})
		release = make(chan struct{})
	}
}

// TestShardedCounters: the per-query counters, kept in shards per worker,
// are exported under their names with every label from the start, and sum
// what every worker counted.
func TestShardedCounters(t *testing.T) {
	h := newHarness(t, testConfig(), &recorder{d: policy.Decision{Action: policy.ActionBlock}})
	mfs, err := h.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	series := map[string]int{}
	for _, mf := range mfs {
		series[mf.GetName()] = len(mf.GetMetric())
	}
	for name, want := range map[string]int{
		"callgate_scp_queries_total": int(numIn) * int(numOut), "callgate_scp_safe_answers_total": int(numSafe) - 1,
		"callgate_scp_dropped_total": int(numDrop), "callgate_scp_acg_sent_total": 1,
		"callgate_scp_no_route_fallback_total": 1, "callgate_scp_answer_duration_seconds": 1,
	} {
		if series[name] != want {
			t.Errorf("%s: %d series before any query, want %d", name, series[name], want)
		}
	}
	workers := []*worker{h.w, newWorker(1), newWorker(2)}
	for i := range 30 {
		h.s.handle(workers[i%3], h.out, &dataOf(t, "P-02Q").ProtocolData, time.Now().Add(-300*time.Microsecond), safeNone)
	}
	if n := h.counter(t, "callgate_scp_queries_total", "operation", "terminationAttempt", "answer", "disconnect"); n != 30 {
		t.Errorf("queries_total{terminationAttempt,disconnect} = %v, want 30", n)
	}
	count, sum, buckets := histogram(t, h.reg, "callgate_scp_answer_duration_seconds")
	if count != 30 || sum < 30*300e-6 {
		t.Errorf("answer_duration_seconds count %d sum %v, want 30 answers of 300 µs or more", count, sum)
	}
	for le, n := range buckets {
		if le <= 250e-6 && n != 0 {
			t.Errorf("bucket le=%v holds %d answers that took over 300 µs", le, n)
		}
	}
}

func dataOf(t *testing.T, vector string) *m3ua.Data {
	t.Helper()
	var m m3ua.Data
	if err := m.UnmarshalBinary(vectorM3UA(t, vector)); err != nil {
		t.Fatal(err)
	}
	return &m
}

// histogram reads an unlabelled histogram: its count, sum and cumulative
// buckets.
func histogram(t *testing.T, reg *prometheus.Registry, name string) (uint64, float64, map[float64]uint64) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			h := mf.GetMetric()[0].GetHistogram()
			buckets := map[float64]uint64{}
			for _, b := range h.GetBucket() {
				buckets[b.GetUpperBound()] = b.GetCumulativeCount()
			}
			return h.GetSampleCount(), h.GetSampleSum(), buckets
		}
	}
	t.Fatalf("no histogram %s", name)
	return 0, 0, nil
}

// TestWorkersOnlyAnswerOverM3UA: with InlineLimit negative every query goes
// to the workers, and every one is answered on its dialogue.
func TestWorkersOnlyAnswerOverM3UA(t *testing.T) {
	cfg := testConfig()
	cfg.Workers, cfg.InlineLimit = 2, -1
	svc, cl, _ := startSCP(t, cfg, decideFunc(func(context.Context, policy.Call) policy.Decision {
		return policy.Decision{Action: policy.ActionBlock}
	}))
	called, err := ssp.ParseRange("+13035550100-+13035550199")
	if err != nil {
		t.Fatal(err)
	}
	sum, err := cl.Load(context.Background(), ssp.LoadConfig{Calls: 200, Concurrency: 32, Duration: time.Minute,
		Scenarios: []ssp.Scenario{{TA: ssp.TA{Calling: e164.MustParse("+17195551212")}, Called: &called}}})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Answered != 200 || sum.Operations["disconnect"] != 200 {
		t.Fatalf("answered %d (%v) of 200", sum.Answered, sum.Operations)
	}
	if n := svc.pending.Load(); n != 0 {
		t.Errorf("%d queries still pending", n)
	}
}
