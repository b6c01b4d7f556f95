package reputation

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"callgate/e164"
	"callgate/policy"
	repsim "callgate/simulators/reputation"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var (
	lowCaller  = e164.MustParse("+16175550142")
	highCaller = e164.MustParse("+19005550111")
)

func startSim(t *testing.T, cfg repsim.Config) *repsim.Sim {
	t.Helper()
	s, err := repsim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newChecker(t *testing.T, sim *repsim.Sim, cfg Config) *Checker {
	t.Helper()
	p, err := NewHTTPProvider(HTTPConfig{BaseURL: sim.URL(), APIKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	c, err := NewChecker(p, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// settle waits until no look-up is in flight (background refreshes and
// look-ups that outlived their call's wait).
func settle(c *Checker) {
	for c.Stats().InFlight > 0 {
		time.Sleep(time.Millisecond)
	}
}

func call(n e164.Number) *policy.Call {
	return &policy.Call{Calling: n, Called: e164.MustParse("+13035550100")}
}

func TestExemptNeverAsked(t *testing.T) {
	sim := startSim(t, repsim.Config{APIKey: "k"})
	c := newChecker(t, sim, Config{})
	for _, tc := range []struct {
		name string
		call policy.Call
		why  policy.ReputationWhy
	}{
		{"anonymous", policy.Call{}, policy.WhyAnonymous},
		{"private", policy.Call{Calling: lowCaller, Presentation: policy.PresentationRestricted}, policy.WhyPrivate},
		{"unavailable", policy.Call{Calling: lowCaller, Presentation: policy.PresentationUnavailable}, policy.WhyPrivate},
		{"non-NANP", policy.Call{Calling: e164.MustParse("+442079460000")}, policy.WhyNonNANP},
	} {
		band, look := c.Check(context.Background(), &tc.call)
		if band != policy.ReputationExempt || look.Why != tc.why || look.Cache != policy.CacheNone {
			t.Errorf("%s: %v %+v, want exempt why=%v", tc.name, band, look, tc.why)
		}
	}
	if n := sim.Total(); n != 0 {
		t.Errorf("the provider was asked %d times for exempt calls", n)
	}
}

func TestMissThenCachedThenStale(t *testing.T) {
	sim := startSim(t, repsim.Config{APIKey: "k", Bands: map[e164.Number]string{highCaller: "high"}})
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	c := newChecker(t, sim, Config{Budget: time.Minute, FreshFor: time.Hour, StaleFor: 2 * time.Hour, Now: clk.Now})

	band, look := c.Check(context.Background(), call(highCaller))
	if band != policy.ReputationHigh || look.Cache != policy.CacheMiss || look.Why != policy.WhyNone || look.Latency <= 0 {
		t.Fatalf("first call: %v %+v, want high from a miss", band, look)
	}
	band, look = c.Check(context.Background(), call(highCaller))
	if band != policy.ReputationHigh || look.Cache != policy.CacheFresh {
		t.Fatalf("second call: %v %+v, want high from the cache", band, look)
	}
	if n := sim.Requests(highCaller); n != 1 {
		t.Fatalf("provider asked %d times, want 1", n)
	}
	// Past its freshness the answer is still given, and refreshed.
	sim.SetBand(highCaller, "medium")
	clk.add(90 * time.Minute)
	band, look = c.Check(context.Background(), call(highCaller))
	if band != policy.ReputationHigh || look.Cache != policy.CacheStale {
		t.Fatalf("stale call: %v %+v, want the stale high", band, look)
	}
	settle(c)
	if band, look = c.Check(context.Background(), call(highCaller)); band != policy.ReputationMedium || look.Cache != policy.CacheFresh {
		t.Fatalf("after the refresh: %v %+v, want the refreshed medium", band, look)
	}
	// Past StaleFor it is a miss again.
	clk.add(3 * time.Hour)
	if _, look = c.Check(context.Background(), call(highCaller)); look.Cache != policy.CacheMiss {
		t.Fatalf("expired entry: %+v, want a miss", look)
	}
}

// TestSlowProvider: a provider slower than the budget gives the unknown
// branch (why=timeout); its answer still lands in the cache for the next
// call.
func TestSlowProvider(t *testing.T) {
	sim := startSim(t, repsim.Config{APIKey: "k", Latency: 200 * time.Millisecond})
	c := newChecker(t, sim, Config{Budget: 5 * time.Millisecond})
	band, look := c.Check(context.Background(), call(lowCaller))
	if band != policy.ReputationUnknown || look.Why != policy.WhyTimeout || look.Cache != policy.CacheMiss {
		t.Fatalf("slow provider: %v %+v, want unknown why=timeout", band, look)
	}
	settle(c)
	if band, look = c.Check(context.Background(), call(lowCaller)); band != policy.ReputationLow || look.Cache != policy.CacheFresh {
		t.Fatalf("next call: %v %+v, want low from the cache the slow answer filled", band, look)
	}
}

// TestDeadlineBoundsWait: the call's own deadline (less the reserve)
// bounds the wait, even under a long budget: had the call waited for the
// look-up, it would have ended with the look-up's own time-out (100 ms,
// why=error), not why=timeout.
func TestDeadlineBoundsWait(t *testing.T) {
	sim := startSim(t, repsim.Config{APIKey: "k", Latency: time.Hour})
	c := newChecker(t, sim, Config{Budget: time.Hour, Reserve: time.Millisecond, Timeout: 100 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if band, look := c.Check(ctx, call(lowCaller)); band != policy.ReputationUnknown || look.Why != policy.WhyTimeout {
		t.Fatalf("%v %+v, want unknown why=timeout", band, look)
	}
}

func TestSingleFlight(t *testing.T) {
	sim := startSim(t, repsim.Config{APIKey: "k", Latency: 50 * time.Millisecond})
	c := newChecker(t, sim, Config{Budget: time.Minute, MaxWaiting: 20})
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if band, _ := c.Check(context.Background(), call(lowCaller)); band != policy.ReputationLow {
				t.Errorf("band %v", band)
			}
		}()
	}
	wg.Wait()
	if n := sim.Requests(lowCaller); n != 1 {
		t.Errorf("20 concurrent calls asked the provider %d times, want 1", n)
	}
}

// TestBreaker: failures in a row open the breaker (the provider is not
// asked), and one trial after the open period closes it again.
func TestBreaker(t *testing.T) {
	sim := startSim(t, repsim.Config{APIKey: "k"})
	sim.SetDown(true)
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	c := newChecker(t, sim, Config{Budget: time.Minute, BreakerFailures: 3, BreakerOpen: 10 * time.Second, Now: clk.Now})
	for i := range 3 {
		if band, look := c.Check(context.Background(), call(lowCaller+e164.Number(i))); band != policy.ReputationUnknown || look.Why != policy.WhyError {
			t.Fatalf("failure %d: %v %+v, want unknown why=error", i+1, band, look)
		}
	}
	asked := sim.Total()
	if _, look := c.Check(context.Background(), call(lowCaller+10)); look.Why != policy.WhyCircuitOpen {
		t.Fatalf("after 3 failures: %+v, want why=circuit-open", look)
	}
	if sim.Total() != asked || !c.Stats().BreakerOpen {
		t.Fatal("the provider was asked while the breaker was open")
	}
	sim.SetDown(false)
	clk.add(11 * time.Second)
	if band, look := c.Check(context.Background(), call(lowCaller+11)); band != policy.ReputationLow || look.Why != policy.WhyNone {
		t.Fatalf("trial after the open period: %v %+v, want low", band, look)
	}
	if c.Stats().BreakerOpen {
		t.Error("breaker still open after a good trial")
	}
}

func TestBusy(t *testing.T) {
	sim := startSim(t, repsim.Config{APIKey: "k", Latency: 300 * time.Millisecond})
	c := newChecker(t, sim, Config{Budget: time.Millisecond, MaxInFlight: 1})
	c.Check(context.Background(), call(lowCaller))
	if band, look := c.Check(context.Background(), call(highCaller)); band != policy.ReputationUnknown || look.Why != policy.WhyBusy {
		t.Fatalf("%v %+v, want unknown why=busy", band, look)
	}
	settle(c)
}

// TestMaxWaiting: past MaxWaiting calls waiting, a miss does not wait
// (why=busy), so a slow provider cannot hold every worker of a tier.
func TestMaxWaiting(t *testing.T) {
	sim := startSim(t, repsim.Config{APIKey: "k", Latency: 300 * time.Millisecond})
	c := newChecker(t, sim, Config{Budget: time.Minute, MaxWaiting: 1})
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Check(context.Background(), call(lowCaller))
	}()
	for c.waiting.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	if band, look := c.Check(context.Background(), call(highCaller)); band != policy.ReputationUnknown || look.Why != policy.WhyBusy {
		t.Errorf("a second waiter: %v %+v, want unknown why=busy", band, look)
	}
	<-done
	settle(c)
	if _, look := c.Check(context.Background(), call(highCaller)); look.Cache != policy.CacheFresh {
		t.Errorf("the look-up the busy call started did not fill the cache: %+v", look)
	}
}

// TestWouldWait: WouldWait says yes only when Check would wait for the
// provider, starts that look-up without counting it, and the Check that
// follows joins it (the provider is asked once).
func TestWouldWait(t *testing.T) {
	sim := startSim(t, repsim.Config{APIKey: "k", Latency: 100 * time.Millisecond})
	c := newChecker(t, sim, Config{Budget: time.Minute, MaxWaiting: 1})
	ctx := context.Background()
	private := call(lowCaller)
	private.Presentation = policy.PresentationRestricted
	if c.WouldWait(ctx, private) {
		t.Error("an exempt caller would wait")
	}
	if !c.WouldWait(ctx, call(lowCaller)) {
		t.Fatal("a new caller would not wait")
	}
	if s := c.Stats(); s.InFlight != 1 || s.Miss != 0 || s.Exempt != 0 {
		t.Errorf("after WouldWait: %+v, want one look-up started and nothing counted", s)
	}
	if band, look := c.Check(ctx, call(lowCaller)); band != policy.ReputationLow || look.Cache != policy.CacheMiss {
		t.Fatalf("Check after WouldWait: %v %+v, want low from the started look-up", band, look)
	}
	if n := sim.Requests(lowCaller); n != 1 {
		t.Errorf("provider asked %d times, want once", n)
	}
	if c.WouldWait(ctx, call(lowCaller)) {
		t.Error("a cached caller would wait")
	}
	c.waiting.Store(1) // the one waiting place taken: Check would answer busy at once
	if c.WouldWait(ctx, call(highCaller)) {
		t.Error("would wait with no waiting place free")
	}
	c.waiting.Store(0)
	dl, stop := context.WithTimeout(ctx, time.Millisecond) // less than the 5 ms reserve
	defer stop()
	if c.WouldWait(dl, call(highCaller)) {
		t.Error("would wait with no time left before the call's deadline")
	}
	settle(c)
}

type panicky struct{}

func (panicky) Lookup(context.Context, e164.Number) (policy.Reputation, error) { panic("boom") }

func TestProviderPanicIsAnError(t *testing.T) {
	c, err := NewChecker(panicky{}, Config{Budget: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if band, look := c.Check(context.Background(), call(lowCaller)); band != policy.ReputationUnknown || look.Why != policy.WhyError {
		t.Fatalf("%v %+v", band, look)
	}
}

func TestCachedCheckAllocatesNothing(t *testing.T) {
	p := ProviderFunc(func(context.Context, e164.Number) (policy.Reputation, error) { return policy.ReputationLow, nil })
	c, _ := NewChecker(p, Config{Budget: time.Minute})
	cl := call(lowCaller)
	c.Check(context.Background(), cl)
	ctx := context.Background()
	if n := testing.AllocsPerRun(1000, func() { c.Check(ctx, cl) }); n != 0 {
		t.Errorf("a cached check allocates %v times", n)
	}
}

func TestConfigValidate(t *testing.T) {
	cfg := Config{Budget: -1, CacheSize: -1, FreshFor: time.Hour, StaleFor: time.Minute}
	err := cfg.Validate()
	for _, want := range []string{"budget", "cache_size", "stale_for"} {
		if err == nil || !contains(err.Error(), want) {
			t.Errorf("Validate: %v, want it to name %s", err, want)
		}
	}
	if _, err := NewHTTPProvider(HTTPConfig{BaseURL: "ftp://x"}); err == nil {
		t.Error("an ftp base URL was accepted")
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func FuzzDecodeAnswer(f *testing.F) {
	f.Add([]byte(`{"number":"13035550100","band":"low","score":10}`))
	f.Add([]byte(`{"band":"purple"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		band, err := decodeAnswer(b, e164.MustParse("+13035550100"))
		if err == nil && (band < policy.ReputationLow || band > policy.ReputationHigh) {
			t.Fatalf("band %v accepted", band)
		}
		if err != nil && !errors.Is(err, ErrBadAnswer) {
			t.Fatalf("error not wrapping ErrBadAnswer: %v", err)
		}
	})
}

// TestAnswerForAnotherNumber: a band the provider gives for another
// number than the one asked is refused (why=error), not cached as the
// caller's; "number" with or without '+', or absent, is accepted.
func TestAnswerForAnotherNumber(t *testing.T) {
	asked := e164.MustParse("+13035550100")
	for body, ok := range map[string]bool{
		`{"number":"13035550100","band":"high"}`:  true,
		`{"number":"+13035550100","band":"high"}`: true,
		`{"band":"high"}`:                         true,
		`{"number":"13035550101","band":"low"}`:   false,
		`{"number":"","band":"low"}`:              true,
	} {
		_, err := decodeAnswer([]byte(body), asked)
		if (err == nil) != ok || (err != nil && !errors.Is(err, ErrBadAnswer)) {
			t.Errorf("%s: %v, want accepted=%v", body, err, ok)
		}
	}
}
