package reputation

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"callgate/e164"
	"callgate/policy"
	repsim "callgate/simulators/reputation"
)

// logBuffer is a logger's output, safe for the checker's goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *logBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// TestBreakerLogged: the provider failing is never silent. The failure
// warnings are rate-limited (three failures within a second log one), so
// the opening of the breaker, from which calls get the unknown branch
// without the provider being asked, is logged on its own, once, and
// counted; its closing too. A look-up the call's budget does not wait
// for is logged as well as counted.
func TestBreakerLogged(t *testing.T) {
	sim := startSim(t, repsim.Config{APIKey: "k"})
	sim.SetDown(true)
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	var out logBuffer
	log := slog.New(slog.NewTextHandler(&out, nil))
	c := newChecker(t, sim, Config{Budget: time.Minute, BreakerFailures: 3, BreakerOpen: 10 * time.Second, Now: clk.Now, Logger: log})
	for i := range 4 {
		c.Check(context.Background(), call(lowCaller+20+e164.Number(i)))
	}
	logged := out.String()
	if n := strings.Count(logged, "circuit breaker open"); n != 1 || !strings.Contains(logged, "level=ERROR") || !strings.Contains(logged, "breaker_open=10s") {
		t.Fatalf("breaker opened: logged %d times, want once at ERROR with breaker_open:\n%s", n, logged)
	}
	if s := c.Stats(); s.BreakerOpened != 1 || s.CircuitOpen != 1 {
		t.Errorf("stats %+v: want the opening and the call not asked counted", s)
	}
	sim.SetDown(false)
	clk.add(11 * time.Second)
	if band, _ := c.Check(context.Background(), call(lowCaller)); band != policy.ReputationLow {
		t.Fatalf("trial: %v", band)
	}
	if !strings.Contains(out.String(), "circuit breaker closed") {
		t.Errorf("recovery not logged:\n%s", out.String())
	}

	slow := startSim(t, repsim.Config{APIKey: "k", Latency: 200 * time.Millisecond})
	out = logBuffer{}
	c = newChecker(t, slow, Config{Budget: time.Millisecond, Logger: slog.New(slog.NewTextHandler(&out, nil))})
	if _, look := c.Check(context.Background(), call(highCaller)); look.Why != policy.WhyTimeout {
		t.Fatalf("slow provider: %+v, want why=timeout", look)
	}
	settle(c)
	if !strings.Contains(out.String(), "not answered within the call's budget") {
		t.Errorf("timeout not logged:\n%s", out.String())
	}
}
