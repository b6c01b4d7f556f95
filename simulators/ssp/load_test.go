package ssp_test

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"

	"callgate/e164"
	"callgate/scp/ain"
	"callgate/simulators/ssp"
	"callgate/simulators/ssp/ssptest"
)

// A one-second run at a modest rate: every call is sent, answered and
// classified, the mix and the number ranges reach the SCP, and the latency
// summary is ordered.
func TestLoadShortRun(t *testing.T) {
	var mu sync.Mutex
	calledSeen := map[e164.Number]int{}
	callingSeen := map[e164.Number]int{}
	scp := startSCP(t, func(ta *ain.TerminationAttemptArg) ssptest.Reply {
		called, err1 := ta.Called()
		calling, _, err2 := ta.Calling()
		mu.Lock()
		defer mu.Unlock()
		if err1 != nil || err2 != nil || ta.UserID.DN.String() != mustNational(called) {
			return ssptest.Reply{Op: ain.OpContinue} // flags a bad query
		}
		calledSeen[called]++
		callingSeen[calling]++
		if calling == e164.MustParse("+17195551212") {
			return ssptest.Reply{Op: ain.OpDisconnect}
		}
		return ssptest.Reply{}
	})
	c := dial(t, scp.Addr(), nil)
	cr, _ := ssp.ParseRange("+1303555xxxx")
	gr, _ := ssp.ParseRange("+14155550000-+14155550099")
	var progress []ssp.Progress
	sum, err := c.Load(context.Background(), ssp.LoadConfig{
		Rate: 1000, Concurrency: 32, Duration: time.Second, ProgressEvery: 200 * time.Millisecond,
		Progress: func(p ssp.Progress) { progress = append(progress, p) },
		Scenarios: []ssp.Scenario{
			{Name: "ranges", Weight: 3, TA: ssp.TA{}, Called: &cr, Calling: &gr},
			{Name: "blocked", Weight: 1, TA: p01},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("summary: %+v", *sum)
	if sum.Sent < 500 || sum.Sent > 1100 {
		t.Errorf("sent %d in 1 s at 1000/s", sum.Sent)
	}
	if sum.Answered != sum.Sent || sum.Timeouts != 0 || sum.Errors != 0 || sum.Calls != sum.Sent {
		t.Errorf("sent %d answered %d timeouts %d errors %d calls %d", sum.Sent, sum.Answered, sum.Timeouts, sum.Errors, sum.Calls)
	}
	if sum.Operations["continue"] != 0 {
		t.Errorf("%d malformed queries reached the SCP", sum.Operations["continue"])
	}
	at, dc := sum.Operations["authorizeTermination"], sum.Operations["disconnect"]
	if at+dc != sum.Answered || dc < sum.Answered/5 || dc > sum.Answered/3 {
		t.Errorf("mix 3:1 gave authorize %d disconnect %d", at, dc)
	}
	l := sum.Latency
	if l.Count != uint64(sum.Answered) || !(l.Min <= l.P50 && l.P50 <= l.P90 && l.P90 <= l.P99 && l.P99 <= l.P999 && l.P999 <= l.Max) || l.Max > 3*time.Second {
		t.Errorf("latency %+v", l)
	}
	if len(progress) < 2 || progress[len(progress)-1].Sent == 0 {
		t.Errorf("progress callbacks %+v", progress)
	}
	mu.Lock()
	defer mu.Unlock()
	// Ranges are walked in order: distinct numbers, all inside the range.
	for n := range calledSeen {
		if n != p01.Called && (n < cr.First || n > cr.Last) {
			t.Errorf("called %s outside %s", n, cr)
		}
	}
	if want := int(at); len(calledSeen) < want { // p01.Called adds one entry
		t.Errorf("%d distinct called numbers for %d range calls", len(calledSeen), want)
	}
	if len(callingSeen) != 101 {
		t.Errorf("%d distinct calling numbers, want 100 from the range + 1", len(callingSeen))
	}
	if c.Outstanding() != 0 {
		t.Errorf("%d outstanding after the run", c.Outstanding())
	}
}

func mustNational(n e164.Number) string { s, _ := n.National(); return s }

// Timeouts, gapped calls and a closed loop (rate 0) in one run: the SCP
// drops every 10th query and answers the first with an acg on one code.
func TestLoadTimeoutsAndACG(t *testing.T) {
	var mu sync.Mutex
	n := 0
	scp := startSCP(t, func(ta *ain.TerminationAttemptArg) ssptest.Reply {
		mu.Lock()
		defer mu.Unlock()
		n++
		switch {
		case n == 1:
			return ssptest.Reply{ACG: acgFor("3035550100", ain.NationalGap60s, ain.GapDuration16s)}
		case n%10 == 0:
			return ssptest.Reply{Drop: true}
		}
		return ssptest.Reply{}
	})
	c := dial(t, scp.Addr(), func(cfg *ssp.Config) { cfg.Timeout = 200 * time.Millisecond })
	other, _ := ssp.ParseRange("+1720555xxxx")
	sum, err := c.Load(context.Background(), ssp.LoadConfig{Concurrency: 8, Calls: 400,
		Scenarios: []ssp.Scenario{{TA: p01}, {Called: &other, TA: ssp.TA{Calling: p01.Calling}}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("summary: %+v", *sum)
	if sum.Calls != 400 || sum.Gapped < 190 || sum.Sent+sum.Gapped != 400 {
		t.Errorf("calls %d sent %d gapped %d", sum.Calls, sum.Sent, sum.Gapped)
	}
	if sum.Timeouts < sum.Sent/10-2 || sum.Timeouts > sum.Sent/10+2 || sum.Answered+sum.Timeouts != sum.Sent {
		t.Errorf("sent %d answered %d timeouts %d", sum.Sent, sum.Answered, sum.Timeouts)
	}
	if len(sum.ACG) != 1 || sum.ACG[0].Code != "3035550100" || sum.ACG[0].Gapped != sum.Gapped {
		t.Errorf("acg controls %+v", sum.ACG)
	}
}

func TestLoadConfigErrors(t *testing.T) {
	scp := startSCP(t, nil)
	c := dial(t, scp.Addr(), nil)
	for _, cfg := range []ssp.LoadConfig{
		{Duration: time.Second},
		{Scenarios: []ssp.Scenario{{TA: p01}}},
		{Duration: time.Second, Rate: -1, Scenarios: []ssp.Scenario{{TA: p01}}},
		{Duration: time.Second, Scenarios: []ssp.Scenario{{TA: ssp.TA{Calling: p01.Calling}}}},
	} {
		if _, err := c.Load(context.Background(), cfg); err == nil {
			t.Errorf("config %+v accepted", cfg)
		}
	}
}

// BenchmarkLoadAgainstTrivialSCP measures how many calls per second the
// generator and a trivial in-process responder sustain together (closed
// loop, 256 outstanding). Both run in this process, so the figure bounds
// the generator's own cost from above.
func BenchmarkLoadAgainstTrivialSCP(b *testing.B) {
	scp := startSCP(b, nil)
	c := dial(b, scp.Addr(), nil)
	b.ReportAllocs()
	b.ResetTimer()
	sum, err := c.Load(context.Background(), ssp.LoadConfig{Concurrency: 256, Calls: int64(b.N),
		Scenarios: []ssp.Scenario{{TA: p01}}})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(sum.AnswerRate, "calls/s")
	b.ReportMetric(float64(sum.Latency.P99)/1e6, "p99-ms")
}

// TestPacedLoadMakesNoGarbage: a paced run (the generator sleeps between
// bursts) allocates next to nothing per call, so the generator's own GC
// cycles, and their pauses, stay out of the runs it measures. Each pacing
// sleep allocated a timer (time.After), up to 10,000 a second.
func TestPacedLoadMakesNoGarbage(t *testing.T) {
	scp := startSCP(t, nil)
	c := dial(t, scp.Addr(), nil)
	run := func(calls int64) *ssp.Summary {
		sum, err := c.Load(context.Background(), ssp.LoadConfig{Rate: 20000, Concurrency: 256, Calls: calls,
			Scenarios: []ssp.Scenario{{TA: p01}}})
		if err != nil {
			t.Fatal(err)
		}
		return sum
	}
	run(2000) // buffers and tables grow to their size once
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	const calls = 10000
	sum := run(calls)
	runtime.ReadMemStats(&after)
	if sum.Answered != calls {
		t.Fatalf("%d of %d calls answered", sum.Answered, calls)
	}
	// The run's fixed set-up (histogram, timeline, slots) is a few dozen
	// allocations; a per-call or per-sleep allocation is thousands.
	n := after.Mallocs - before.Mallocs
	t.Logf("%d allocations for %d paced calls", n, calls)
	if n > calls/20 {
		t.Errorf("%d allocations for %d paced calls, want under %d", n, calls, calls/20)
	}
}
