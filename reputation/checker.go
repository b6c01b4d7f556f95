package reputation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"callgate/e164"
	"callgate/policy"
)

// Config sets up a Checker. The zero value of a field takes its default.
type Config struct {
	// Budget is the longest a call waits for a look-up that is not
	// cached (default 20 ms). The wait also ends Reserve before the
	// call's own deadline (the SCP's time budget), whichever is first.
	Budget time.Duration
	// Reserve is left of the call's deadline for the engine and the
	// answer (default 5 ms).
	Reserve time.Duration
	// Timeout bounds one look-up in the background (default 2 s): a
	// slow answer still fills the cache for the next call.
	Timeout time.Duration
	// FreshFor: a cached band is used as it is this long (default 1 h);
	// StaleFor: after that, until this age, it is still used but
	// refreshed in the background (default 24 h). Older is a miss.
	FreshFor, StaleFor time.Duration
	// CacheSize bounds the numbers cached (default 1,000,000).
	CacheSize int
	// MaxInFlight bounds the look-ups running at once (default 256): past
	// it a miss is not asked (why=busy), so a slow provider cannot pile
	// up goroutines and connections.
	MaxInFlight int
	// MaxWaiting bounds the calls waiting for a look-up at once (default
	// half the CPUs, at least 1): past the bound a miss does not wait
	// (why=busy; the look-up still runs and fills the cache). A tier that
	// decides on few goroutines either moves a call that would wait to
	// one of its own first (WouldWait, policy.Defer: the SCP, the SIP
	// tier's UDP readers) or lets it hold the goroutine it was read on
	// (past the tier's bound on deferred calls); either way a slow provider
	// delays at most this many calls by up to Budget at a time.
	MaxWaiting int
	// BreakerFailures look-ups failing in a row open the circuit breaker
	// (default 5; negative = no breaker) for BreakerOpen (default 10 s).
	BreakerFailures int
	BreakerOpen     time.Duration
	// Logger receives warnings (rate-limited); nil discards them.
	Logger *slog.Logger
	// Now is the clock (tests); nil = time.Now.
	Now func() time.Time
}

// Defaults.
const (
	DefaultBudget          = 20 * time.Millisecond
	DefaultReserve         = 5 * time.Millisecond
	DefaultTimeout         = 2 * time.Second
	DefaultFreshFor        = time.Hour
	DefaultStaleFor        = 24 * time.Hour
	DefaultCacheSize       = 1_000_000
	DefaultMaxInFlight     = 256
	DefaultBreakerFailures = 5
	DefaultBreakerOpen     = 10 * time.Second
)

// Validate reports every problem of c at once, naming the field.
func (c *Config) Validate() error {
	var errs []error
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"budget", c.Budget}, {"reserve", c.Reserve}, {"timeout", c.Timeout}, {"fresh_for", c.FreshFor},
		{"stale_for", c.StaleFor}, {"breaker_open", c.BreakerOpen}} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("%s %s: want a positive duration (0 = the default)", d.name, d.v))
		}
	}
	if c.CacheSize < 0 || c.MaxInFlight < 0 || c.MaxWaiting < 0 {
		errs = append(errs, fmt.Errorf("cache_size %d, max_in_flight %d, max_waiting %d: want positive numbers (0 = the default)", c.CacheSize, c.MaxInFlight, c.MaxWaiting))
	}
	if c.StaleFor != 0 && c.FreshFor != 0 && c.StaleFor < c.FreshFor {
		errs = append(errs, fmt.Errorf("stale_for %s is shorter than fresh_for %s", c.StaleFor, c.FreshFor))
	}
	return errors.Join(errs...)
}

func (c *Config) withDefaults() Config {
	o := *c
	def := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	def(&o.Budget, DefaultBudget)
	def(&o.Reserve, DefaultReserve)
	def(&o.Timeout, DefaultTimeout)
	def(&o.FreshFor, DefaultFreshFor)
	def(&o.StaleFor, DefaultStaleFor)
	def(&o.BreakerOpen, DefaultBreakerOpen)
	if o.StaleFor < o.FreshFor {
		o.StaleFor = o.FreshFor
	}
	if o.CacheSize == 0 {
		o.CacheSize = DefaultCacheSize
	}
	if o.MaxInFlight == 0 {
		o.MaxInFlight = DefaultMaxInFlight
	}
	if o.MaxWaiting == 0 {
		o.MaxWaiting = max(1, runtime.GOMAXPROCS(0)/2)
	}
	if o.BreakerFailures == 0 {
		o.BreakerFailures = DefaultBreakerFailures
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Checker finds a calling number's band for the call path. Safe for
// concurrent use.
type Checker struct {
	cfg   Config
	p     Provider
	cache *cache
	br    breaker
	limit policy.LogLimiter

	mu      sync.Mutex
	flights map[e164.Number]*flight
	waiting atomic.Int32 // calls waiting for a look-up (MaxWaiting)

	stats struct {
		exempt, fresh, stale, miss, answered, timeouts, errors, circuitOpen, busy, refreshes atomic.Uint64
	}
}

// flight is one look-up in progress; everyone asking for the number
// meanwhile waits for it (single flight).
type flight struct {
	done chan struct{}
	band policy.Reputation
	err  error
}

// NewChecker checks cfg and builds a Checker over p.
func NewChecker(p Provider, cfg Config) (*Checker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("reputation: %w", err)
	}
	if p == nil {
		return nil, errors.New("reputation: no provider")
	}
	c := cfg.withDefaults()
	return &Checker{cfg: c, p: p, cache: newCache(c.CacheSize),
		br:      breaker{threshold: c.BreakerFailures, openFor: c.BreakerOpen},
		flights: make(map[e164.Number]*flight)}, nil
}

// Exempt says whether a call is exempt from the look-up, and why: no
// calling number (anonymous), a withheld one (private), or one outside
// the North American Numbering Plan (a provider scores NANP numbers
// only).
func Exempt(c *policy.Call) policy.ReputationWhy {
	switch {
	case c.Calling == 0:
		return policy.WhyAnonymous
	case c.Presentation != policy.PresentationAllowed:
		return policy.WhyPrivate
	case !c.Calling.IsNANP():
		return policy.WhyNonNANP
	}
	return policy.WhyNone
}

// Check finds the band of c's calling number, within ctx's deadline (less
// Config.Reserve) and Config.Budget. It never fails: an exempt call gets
// ReputationExempt, a look-up that gives no band in time
// ReputationUnknown, each with the reason in the lookup. A cached answer
// costs no allocation and no wait.
func (k *Checker) Check(ctx context.Context, c *policy.Call) (policy.Reputation, policy.ReputationLookup) {
	if why := Exempt(c); why != policy.WhyNone {
		k.stats.exempt.Add(1)
		return policy.ReputationExempt, policy.ReputationLookup{Why: why}
	}
	start := k.cfg.Now()
	now := start.UnixNano()
	n := c.Calling
	if e, ok := k.cache.get(n); ok {
		age := time.Duration(now - e.at)
		switch {
		case age <= k.cfg.FreshFor:
			k.stats.fresh.Add(1)
			return e.band, policy.ReputationLookup{Cache: policy.CacheFresh, Latency: k.since(start)}
		case age <= k.cfg.StaleFor:
			k.stats.stale.Add(1)
			if k.joinFlight(n) == nil && k.br.allow(now) {
				switch f, started := k.start(n); {
				case f == nil:
					k.br.release()
				case started:
					k.stats.refreshes.Add(1)
				}
			}
			return e.band, policy.ReputationLookup{Cache: policy.CacheStale, Latency: k.since(start)}
		}
		k.cache.drop(n)
	}
	k.stats.miss.Add(1)
	look := policy.ReputationLookup{Cache: policy.CacheMiss}
	f := k.joinFlight(n)
	if f == nil {
		if !k.br.allow(now) {
			k.stats.circuitOpen.Add(1)
			look.Why, look.Latency = policy.WhyCircuitOpen, k.since(start)
			return policy.ReputationUnknown, look
		}
		f, _ = k.start(n)
		if f == nil {
			k.br.release()
			k.stats.busy.Add(1)
			k.warn("reputation look-ups at their bound (reputation.max_in_flight): calls get the unknown branch", "max_in_flight", k.cfg.MaxInFlight)
			look.Why, look.Latency = policy.WhyBusy, k.since(start)
			return policy.ReputationUnknown, look
		}
	}
	wait := k.waitFor(ctx, start)
	waited := false
	if wait > 0 {
		if n := k.waiting.Add(1); n <= int32(k.cfg.MaxWaiting) {
			waited = true
			t := time.NewTimer(wait)
			select {
			case <-f.done:
			case <-t.C:
			}
			t.Stop()
		}
		k.waiting.Add(-1)
	}
	look.Latency = k.since(start)
	select {
	case <-f.done:
	default:
		if !waited && wait > 0 {
			k.stats.busy.Add(1)
			look.Why = policy.WhyBusy
			return policy.ReputationUnknown, look
		}
		k.stats.timeouts.Add(1)
		k.warn("reputation look-up not answered within the call's budget (reputation.budget, the call's deadline less reputation.reserve): calls get the unknown branch", "budget", k.cfg.Budget.String())
		look.Why = policy.WhyTimeout
		return policy.ReputationUnknown, look
	}
	if f.err != nil {
		k.stats.errors.Add(1)
		look.Why = policy.WhyError
		return policy.ReputationUnknown, look
	}
	k.stats.answered.Add(1)
	return f.band, look
}

// waitFor is how long a call asking at start may wait for a look-up:
// Config.Budget, and never past ctx's deadline less Config.Reserve.
func (k *Checker) waitFor(ctx context.Context, start time.Time) time.Duration {
	wait := k.cfg.Budget
	if dl, ok := ctx.Deadline(); ok {
		if left := dl.Sub(start) - k.cfg.Reserve; left < wait {
			wait = left
		}
	}
	return wait
}

// WouldWait reports whether Check would now wait for a look-up of c's
// calling number (not exempt, nothing usable cached, the look-up not yet
// answered, a waiting place free, time left in ctx), and if so starts
// that look-up, so that it runs while the caller moves the call to where
// waiting holds up nothing else (policy.Defer) and calls Check there. It
// counts nothing and never waits: Check, called next, counts the call.
func (k *Checker) WouldWait(ctx context.Context, c *policy.Call) bool {
	if Exempt(c) != policy.WhyNone {
		return false
	}
	start := k.cfg.Now()
	now := start.UnixNano()
	n := c.Calling
	if e, ok := k.cache.get(n); ok && time.Duration(now-e.at) <= k.cfg.StaleFor {
		return false
	}
	if k.waiting.Load() >= int32(k.cfg.MaxWaiting) || k.waitFor(ctx, start) <= 0 {
		return false // Check would answer at once
	}
	f := k.joinFlight(n)
	if f == nil {
		if !k.br.allow(now) {
			return false
		}
		if f, _ = k.start(n); f == nil {
			k.br.release()
			return false
		}
	}
	select {
	case <-f.done:
		return false
	default:
		return true
	}
}

func (k *Checker) since(start time.Time) time.Duration {
	d := k.cfg.Now().Sub(start)
	if d <= 0 {
		d = 1 // a look-up happened: show it took time, if less than the clock's grain
	}
	return d
}

// joinFlight returns the look-up of n in progress, if any.
func (k *Checker) joinFlight(n e164.Number) *flight {
	k.mu.Lock()
	f := k.flights[n]
	k.mu.Unlock()
	return f
}

// start begins a look-up of n in the background, or joins the one in
// progress (started false). It returns nil when MaxInFlight look-ups are
// running.
func (k *Checker) start(n e164.Number) (*flight, bool) {
	k.mu.Lock()
	if f, ok := k.flights[n]; ok {
		k.mu.Unlock()
		return f, false
	}
	if len(k.flights) >= k.cfg.MaxInFlight {
		k.mu.Unlock()
		return nil, false
	}
	f := &flight{done: make(chan struct{})}
	k.flights[n] = f
	k.mu.Unlock()
	go k.lookup(n, f)
	return f, true
}

func (k *Checker) lookup(n e164.Number, f *flight) {
	ctx, cancel := context.WithTimeout(context.Background(), k.cfg.Timeout)
	band, err := k.safeLookup(ctx, n)
	cancel()
	if err == nil && (band < policy.ReputationLow || band > policy.ReputationHigh) {
		err = fmt.Errorf("%w: band value %d", ErrBadAnswer, band)
	}
	now := k.cfg.Now().UnixNano()
	if err == nil {
		k.cache.put(n, band, now)
	} else {
		k.warn("reputation look-up failed: calls get the unknown branch", "number", n.String(), "error", err.Error())
	}
	switch k.br.done(err == nil, now) {
	case opened:
		// Not rate-limited: once per opening, and the failure warnings
		// before it may all have been.
		k.cfg.Logger.Error("reputation provider failing: circuit breaker open, the provider is not asked for reputation.breaker_open; calls get the unknown branch (reputation.actions.unknown)",
			"failures_in_a_row", k.cfg.BreakerFailures, "breaker_open", k.cfg.BreakerOpen.String(), "error", err.Error())
	case closed:
		k.cfg.Logger.Info("reputation provider answers again: circuit breaker closed")
	}
	f.band, f.err = band, err
	k.mu.Lock()
	delete(k.flights, n)
	k.mu.Unlock()
	close(f.done)
}

// safeLookup turns a provider's panic into an error: it runs on a
// goroutine of its own, where a panic would end the process.
func (k *Checker) safeLookup(ctx context.Context, n e164.Number) (b policy.Reputation, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("reputation provider panicked: %v", r)
		}
	}()
	return k.p.Lookup(ctx, n)
}

func (k *Checker) warn(msg string, args ...any) {
	if ok, n := k.limit.Allow(time.Now(), time.Second); ok {
		k.cfg.Logger.Warn(msg, append(args, "suppressed_since_last", n)...)
	}
}

// Stats are the checker's counters.
type Stats struct {
	Exempt, Fresh, Stale, Miss uint64 // calls: exempt; cache fresh, stale; not cached
	Answered, Timeouts, Errors uint64 // misses answered in budget; not in budget; provider errors
	CircuitOpen, Busy          uint64 // misses not asked: breaker open; too many in flight
	Refreshes                  uint64 // background refreshes of stale answers
	Cached                     int
	BreakerOpen                bool
	BreakerOpened              uint64 // times the breaker opened (each logged)
	InFlight                   int
}

// Stats returns the counters.
func (k *Checker) Stats() Stats {
	s := Stats{
		Exempt: k.stats.exempt.Load(), Fresh: k.stats.fresh.Load(), Stale: k.stats.stale.Load(), Miss: k.stats.miss.Load(),
		Answered: k.stats.answered.Load(), Timeouts: k.stats.timeouts.Load(), Errors: k.stats.errors.Load(),
		CircuitOpen: k.stats.circuitOpen.Load(), Busy: k.stats.busy.Load(), Refreshes: k.stats.refreshes.Load(),
		Cached: k.cache.len(), BreakerOpen: k.br.isOpen(k.cfg.Now().UnixNano()),
	}
	k.br.mu.Lock()
	s.BreakerOpened = k.br.opened
	k.br.mu.Unlock()
	k.mu.Lock()
	s.InFlight = len(k.flights)
	k.mu.Unlock()
	return s
}

// Config is the checker's configuration with its defaults filled in.
func (k *Checker) Config() Config { return k.cfg }
