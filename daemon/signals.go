package daemon

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"callgate/e164"
	"callgate/internal/config"
	"callgate/internal/metrics"
	"callgate/keys"
	"callgate/keys/keysync"
	"callgate/policy"
	"callgate/redirect"
	"callgate/reputation"
	"callgate/store"
)

// The signals (keys/, reputation/) fill Call.KeyMatch, Call.Brand,
// Call.Reputation and Call.ReputationLookup before the engine runs, for
// every tier in one place: a Decider decorator the daemon puts between
// the metrics and the decision log, so both tiers stay translators, the
// decision log records the filled call, and the look-up runs under the
// Guard's Budget (the call's deadline is its context).
//
//	tier -> Guard -> metrics -> signals -> decision log -> engine

// Signals is the signal stage as a process opened it: the call keys and
// the reputation checker of the configuration, over the store. The daemon
// opens it for serving (openSignals); `callgate decide` without a daemon
// opens it read-only (OpenSignalsReadOnly); both ask it the same way
// (Fill), so a one-off decision runs the stage serve runs.
type Signals struct {
	keys    *keys.Registry      // nil: keys.enabled off
	sync    *keysync.Sync       // nil: keys.replicate off
	rep     *reputation.Checker // nil: reputation.enabled off
	repHTTP *reputation.HTTPProvider
	st      *store.Store
}

// openSignals opens the configured signals over st.
func openSignals(cfg *config.Config, st *store.Store, d *Daemon) (*Signals, error) {
	return openSignalsWith(cfg, st, d, keys.Open)
}

// OpenSignalsReadOnly opens the configured signals for a process that
// only asks (`callgate decide` while no daemon runs): the call keys saved
// in keys.dir, read without changing a file (keys.OpenReadOnly), and the
// configured reputation provider. Close it when done.
func OpenSignalsReadOnly(cfg *config.Config, st *store.Store) (*Signals, error) {
	return openSignalsWith(cfg, st, nil, keys.OpenReadOnly)
}

func openSignalsWith(cfg *config.Config, st *store.Store, d *Daemon, open func(keys.Config, keys.Enterprises) (*keys.Registry, error)) (*Signals, error) {
	s := &Signals{st: st}
	if cfg.Keys.Enabled {
		r, err := open(keysConfig(cfg, d), st)
		if err != nil {
			return nil, fmt.Errorf("keys: %w", err)
		}
		s.keys = r
		if cfg.Keys.Replicate && d != nil {
			if err := s.replicate(cfg, d); err != nil {
				s.Close()
				return nil, err
			}
		}
	}
	if cfg.Reputation.Enabled {
		p, c, err := newReputation(cfg, d)
		if err != nil {
			s.Close()
			return nil, err
		}
		s.repHTTP, s.rep = p, c
	}
	return s, nil
}

// RevokeSavedKeys revokes every call key of enterprise ent saved in
// keys.dir while no daemon runs (`callgate enterprise revoke-keys` on the
// store file): the revocations are logged there, and the daemon loads
// them when it starts. With keys.replicate it refuses: the keys are in
// etcd too, where only a running node carries the revocation.
func RevokeSavedKeys(cfg *config.Config, st *store.Store, ent uint32) (int, error) {
	if !cfg.Keys.Enabled {
		return 0, errors.New("keys.enabled is off in the configuration: there are no call keys to revoke")
	}
	if cfg.Keys.Replicate {
		return 0, errors.New("keys.replicate is on: revoke through a running daemon (callgate serve), which carries the revocation to the other nodes")
	}
	r, err := keys.Open(keysConfig(cfg, nil), st)
	if err != nil {
		return 0, fmt.Errorf("keys: %w", err)
	}
	n, err := r.RevokeAll(context.Background(), ent)
	if cerr := r.Close(); err == nil {
		err = cerr
	}
	return n, err
}

func keysConfig(cfg *config.Config, d *Daemon) keys.Config {
	k := &cfg.Keys
	kc := keys.Config{Dir: cfg.KeysDir(), MaxKeys: k.MaxKeys, DefaultWindow: k.DefaultWindow, MaxWindow: k.MaxWindow,
		SingleUse: k.SingleUse, Grace: k.Grace, ClockSkew: k.ClockSkew, FlushInterval: k.FlushInterval, SnapshotInterval: k.SnapshotInterval}
	if k.Grace == 0 {
		kc.Grace = -1 // configured 0: no grace (the package's 0 means its default)
	}
	if k.ClockSkew == 0 {
		kc.ClockSkew = -1 // configured 0: none
	}
	if d != nil {
		kc.Logger = d.log
	}
	return kc
}

// newReputation builds the configured provider and its checker.
func newReputation(cfg *config.Config, d *Daemon) (*reputation.HTTPProvider, *reputation.Checker, error) {
	r := &cfg.Reputation
	var key string
	if r.APIKeyFile != "" {
		b, err := os.ReadFile(r.APIKeyFile)
		if err != nil {
			return nil, nil, fmt.Errorf("reputation.api_key_file: %w", err)
		}
		key = strings.TrimSpace(string(b))
	}
	p, err := reputation.NewHTTPProvider(reputation.HTTPConfig{BaseURL: r.BaseURL, APIKey: key, Timeout: r.Timeout})
	if err != nil {
		return nil, nil, err
	}
	rc := reputation.Config{Budget: r.Budget, Reserve: r.Reserve, Timeout: r.Timeout, FreshFor: r.FreshFor, StaleFor: r.StaleFor,
		CacheSize: r.CacheSize, MaxInFlight: r.MaxInFlight, MaxWaiting: r.MaxWaiting, BreakerFailures: r.BreakerFailures, BreakerOpen: r.BreakerOpen}
	if d != nil {
		rc.Logger = d.log
	}
	c, err := reputation.NewChecker(p, rc)
	if err != nil {
		return nil, nil, err
	}
	return p, c, nil
}

// PlatformSignals is the platform's signal policy from the
// configuration (reputation.actions, keys.on_missing): what the engine
// does for a provider that left a setting at default
// (store.ProviderSignals), and for calls to numbers nobody subscribed.
func PlatformSignals(cfg *config.Config) (policy.ReputationPolicy, policy.ReputationAction, error) {
	p, err := cfg.Reputation.Actions.Policy()
	if err != nil {
		return p, 0, err
	}
	miss, err := policy.ParseReputationAction(cfg.Keys.OnMissing)
	if err != nil {
		return p, 0, fmt.Errorf("keys.on_missing: %w", err)
	}
	return p, miss, nil
}

// engineSignalOptions are the engine's options from the signal sections
// (NewEngine): the platform defaults.
func engineSignalOptions(cfg *config.Config) ([]policy.Option, error) {
	p, miss, err := PlatformSignals(cfg)
	if err != nil {
		return nil, err
	}
	return []policy.Option{policy.WithReputationPolicy(p), policy.WithKeyMissing(miss)}, nil
}

// replicate shares the call keys with the other nodes through the
// store's etcd (keys.replicate): it loads what the cluster holds before
// the node serves a call.
func (s *Signals) replicate(cfg *config.Config, d *Daemon) error {
	if d.etcd == nil {
		return errors.New("keys.replicate: needs store.backend etcd")
	}
	sy, err := keysync.Start(context.Background(), keysync.Config{Client: d.etcd.Client(), Prefix: cfg.KeysPrefix(),
		Timeout: cfg.Store.Etcd.RequestTimeout, Logger: d.log}, s.keys)
	if err != nil {
		return fmt.Errorf("keys.replicate: %w", err)
	}
	s.sync = sy
	d.log.Info("call keys shared through etcd", "prefix", cfg.KeysPrefix(), "loaded", sy.Stats().Loaded)
	return nil
}

// Close writes the keys still pending and drops the provider's
// connections.
func (s *Signals) Close() error {
	if s == nil {
		return nil
	}
	var err error
	if s.sync != nil {
		s.sync.Close()
	}
	if s.keys != nil {
		err = s.keys.Close()
	}
	if s.repHTTP != nil {
		s.repHTTP.Close()
	}
	return err
}

// wrap puts the signal stage in front of next.
func (s *Signals) wrap(next policy.Decider) policy.Decider {
	return SignalStage(next, s.keys, s.rep, s.st)
}

// SignalStage returns next with the signal stage in front of it: call
// keys from k and reputation from r (either may be nil: that signal is
// off), enterprises and subscribers from st. The daemon installs it
// (between the metrics and the decision log); tests of both tiers use it
// to run the same stage.
func SignalStage(next policy.Decider, k *keys.Registry, r *reputation.Checker, st *store.Store) policy.Decider {
	if k == nil && r == nil {
		return next
	}
	return &signalled{next: next, s: &Signals{keys: k, rep: r, st: st}}
}

type signalled struct {
	next policy.Decider
	s    *Signals
}

// Decide fills the signals of an incoming call (fill) and asks next,
// unless fill deferred the decision (policy.Defer). The named result
// receives next's Decision in place: returning a local would copy the
// Decision once more at every stage of the chain.
func (w *signalled) Decide(ctx context.Context, c policy.Call) (d policy.Decision) {
	if !w.s.fill(ctx, &c, true, WhatIf{}) {
		return d
	}
	d = w.next.Decide(ctx, c)
	return d
}

// WhatIf gives answers of the signal stage by hand, for what-if questions
// (`callgate decide --key, --reputation`): a set field stands in for the
// check or the look-up, which is then not made.
type WhatIf struct {
	Key        *policy.KeyMatch   // the call-key check's answer; KeyMatched brings the enrolling enterprise's brand
	Reputation *policy.Reputation // the caller's band (or exempt, unknown); the look-up says why=given
}

// Fill puts the signals of an incoming call into c as the serving stage
// does, for a one-off decision: the same key check (Peek: a single-use key
// is not used up by asking) and reputation look-up (cache, provider,
// budget from ctx), unless w gives an answer by hand. A nil s fills only
// what w gives.
func (s *Signals) Fill(ctx context.Context, c *policy.Call, w WhatIf) {
	if s == nil {
		s = &Signals{}
	}
	s.fill(ctx, c, false, w)
}

// fill fills the signals of an incoming call:
//
//   - KeyMatch (and Brand on a match) for a calling number some
//     enterprise enrolled (use: a matching single-use key is used up, as
//     a real call does);
//   - Reputation, for a call to a subscriber whose caller is not an
//     enrolled enterprise (an enterprise's own calls are vouched for by
//     their keys): exempt callers are not looked up, a look-up waits at
//     most reputation.budget and never past ctx's deadline less
//     reputation.reserve.
//
// Outgoing calls (originating triggers) have no such signals.
//
// A look-up that would wait is deferred when ctx allows it
// (policy.Defer): fill then reports false, having changed nothing that
// asking again would see (a key check that finds the caller not enrolled
// uses up nothing; the look-up it started is joined).
func (s *Signals) fill(ctx context.Context, c *policy.Call, use bool, w WhatIf) bool {
	if c.Direction != policy.DirectionTerminating {
		return true
	}
	switch {
	case w.Key != nil:
		c.KeyMatch = *w.Key
		if c.KeyMatch == policy.KeyMatched && s.st != nil {
			if id, ok := s.st.Enterprise(c.Calling); ok {
				s.brand(c, id)
			}
		}
	case s.keys != nil:
		var m policy.KeyMatch
		var ent uint32
		now, ok := policy.Started(ctx) // the decision's start: close enough for a key's window
		if !ok {
			now = time.Now()
		}
		m, ent = s.checkKey(c.Calling, c.Called, now, use)
		if m == policy.KeyMissing && forwardedByTheNetwork(c) {
			m, ent = s.checkKey(c.Calling, c.OriginalCalled, now, use)
		}
		c.KeyMatch = m
		if m == policy.KeyMatched {
			s.brand(c, ent)
		}
	}
	switch {
	case w.Reputation != nil:
		c.Reputation, c.ReputationLookup = *w.Reputation, policy.ReputationLookup{Why: policy.WhyGiven}
	case s.rep != nil && c.KeyMatch == policy.KeyNotChecked && c.Called != 0:
		if _, ok := s.st.Subscriber(c.Called); ok {
			if policy.CanDefer(ctx) && s.rep.WouldWait(ctx, c) {
				policy.Defer(ctx)
				return false
			}
			c.Reputation, c.ReputationLookup = s.rep.Check(ctx, c)
		}
	}
	return true
}

// checkKey asks the registry about a key of calling -> called: Check
// (a single-use key is used up) when use, else Peek.
func (s *Signals) checkKey(calling, called e164.Number, now time.Time, use bool) (policy.KeyMatch, uint32) {
	if use {
		return s.keys.Check(calling, called, now)
	}
	return s.keys.Peek(calling, called, now)
}

// forwardedByTheNetwork says whether c is a call the carrier's own switch
// forwarded from the number first dialled, c.OriginalCalled: an
// enterprise's key names the number it dialled, so a call it placed to a
// subscriber who forwards it elsewhere is matched against that number,
// not taken for a spoof. Only the AIN tier's OriginalCalledPartyID (or
// RedirectingPartyID) counts: the SSP sets it, while a SIP Diversion or
// History-Info header can come from any peer and would let a caller who
// forges one spend a live key on another destination.
func forwardedByTheNetwork(c *policy.Call) bool {
	return c.Origin == policy.OriginAIN && c.OriginalCalled != 0 && c.OriginalCalled != c.Called
}

// brand puts enterprise ent's brand on the call.
func (s *Signals) brand(c *policy.Call, ent uint32) {
	if e, ok := s.st.EnterpriseInfo(ent); ok {
		c.Brand = e.Signals.Brand
	}
}

// mount puts the enterprises' /api/v1/keys (POST, DELETE) and
// /api/v1/keys/{calling}/{called} (DELETE) on the admin listener
// (enterprises authenticate with their API token; see keys.Handler).
func (s *Signals) mount(mux *http.ServeMux) {
	if s == nil || s.keys == nil {
		return
	}
	h := keys.Handler(s.keys, s.st)
	mux.Handle("/api/v1/keys", h)
	mux.Handle("/api/v1/keys/", h)
}

// watch registers the signals' metrics.
func (s *Signals) watch(m *metrics.Metrics) {
	if s == nil {
		return
	}
	if r := s.keys; r != nil {
		m.GaugeFunc("keys_live", "Call keys held whose window has not passed (a scan of the key table per scrape).", nil,
			func() float64 { return float64(r.Stats().Live) })
		m.GaugeFunc("keys_capacity", "Most call keys the table holds (keys.max_keys).", nil,
			func() float64 { return float64(r.Stats().Capacity) })
		m.CounterFunc("keys_write_errors_total", "Writes of the call keys' log that failed (keys stay in memory; a snapshot is retried).", nil,
			func() float64 { return float64(r.Stats().WriteErrors) })
		m.CounterFunc("keys_snapshots_total", "Snapshots of the call keys written.", nil,
			func() float64 { return float64(r.Stats().Snapshots) })
		if sy := s.sync; sy != nil {
			m.CounterFunc("keys_replicated_total", "Call-key changes (registrations, uses of single-use keys) sent to the other nodes through etcd.", nil,
				func() float64 { return float64(r.Stats().Replicated) })
			m.CounterFunc("keys_replication_errors_total", "Call-key changes that did not reach etcd (they hold on this node only).", nil,
				func() float64 { return float64(r.Stats().ReplicationErrors) })
			m.CounterFunc("keys_replication_dropped_total", "Call-key changes dropped because the replication queue was full.", nil,
				func() float64 { return float64(r.Stats().ReplicationDropped) })
			m.CounterFunc("keys_replicated_applied_total", "Call-key changes of other nodes applied here (loaded at start or watched).", nil,
				func() float64 { return float64(sy.Stats().Applied) })
		}
	}
	if c := s.rep; c != nil {
		for _, f := range []struct {
			name, help string
			v          func(reputation.Stats) uint64
		}{
			{"exempt", "calls not looked up: private, anonymous or non-NANP caller", func(s reputation.Stats) uint64 { return s.Exempt }},
			{"fresh", "answered from the cache", func(s reputation.Stats) uint64 { return s.Fresh }},
			{"stale", "answered from the cache past its freshness (refreshed in the background)", func(s reputation.Stats) uint64 { return s.Stale }},
			{"answered", "not cached: answered by the provider within the call's budget", func(s reputation.Stats) uint64 { return s.Answered }},
			{"timeout", "not cached: no answer within the call's budget (unknown branch)", func(s reputation.Stats) uint64 { return s.Timeouts }},
			{"error", "not cached: the provider failed (unknown branch)", func(s reputation.Stats) uint64 { return s.Errors }},
			{"circuit_open", "not cached: not asked, the circuit breaker is open (unknown branch)", func(s reputation.Stats) uint64 { return s.CircuitOpen }},
			{"busy", "not cached: not asked, reputation.max_in_flight look-ups running (unknown branch)", func(s reputation.Stats) uint64 { return s.Busy }},
		} {
			v := f.v
			_ = f.help // the outcomes are explained in the README's metrics table
			m.CounterFunc("reputation_checks_total", "Reputation checks of calls to subscribers, by outcome (exempt, fresh, stale, answered; timeout, error, circuit_open, busy take the unknown branch).", map[string]string{"outcome": f.name},
				func() float64 { return float64(v(c.Stats())) })
		}
		m.CounterFunc("reputation_breaker_opened_total", "Times the reputation provider's circuit breaker opened (each logged at ERROR): from then calls got the unknown branch without the provider being asked.", nil,
			func() float64 { return float64(c.Stats().BreakerOpened) })
		m.GaugeFunc("reputation_breaker_open", "1 while the reputation provider is not asked (circuit breaker open).", nil, func() float64 {
			if c.Stats().BreakerOpen {
				return 1
			}
			return 0
		})
	}
}

// checkSignals is what `config check` runs of the signals: the provider's
// settings (URL, key file) as serve would build them.
func checkSignals(cfg *config.Config) error {
	var errs []error
	if cfg.Reputation.Enabled {
		if _, _, err := newReputation(cfg, nil); err != nil {
			errs = append(errs, err)
		}
	}
	if cfg.Keys.Enabled {
		kc := keysConfig(cfg, nil)
		if err := kc.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("keys: %w", err))
		}
	}
	return errors.Join(errs...)
}

// sipEnrolment is the SIP tier's enrolment option (keys.sip_enrolment_user),
// when keys are on.
func sipEnrolment(c *config.Config, d *Deps) []redirect.Option {
	if c.Keys.SIPEnrolmentUser == "" || d.Keys == nil {
		return nil
	}
	return []redirect.Option{redirect.WithEnroller(c.Keys.SIPEnrolmentUser, d.Keys)}
}
