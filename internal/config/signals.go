package config

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"callgate/policy"
)

// Keys configures spoof protection by call keys (package keys): enterprises
// register each outbound call (POST /api/v1/keys on the management API's
// listener and on the admin listener, or SIP enrolment), and a call from an enrolled number without a key
// matching its window is blocked as spoofed on both tiers.
type Keys struct {
	// Enabled checks the call keys of calls from enrolled numbers (on by
	// default: a platform without enterprises checks nothing).
	Enabled bool `yaml:"enabled"`
	// Dir holds the keys' snapshot and log, so keys survive a restart
	// within their window; "" = data_dir/keys. Relative paths are
	// relative to the configuration file's folder.
	Dir string `yaml:"dir"`
	// MaxKeys bounds the keys held at once (memory: about 44 bytes a key,
	// allocated at start); a registration beyond it is refused (503).
	MaxKeys int `yaml:"max_keys"`
	// DefaultWindow is a key's window when the registration gives no end.
	DefaultWindow time.Duration `yaml:"default_window"`
	// MaxWindow bounds a window's length.
	MaxWindow time.Duration `yaml:"max_window"`
	// SingleUse: a key serves one call (its retransmissions within Grace
	// included); otherwise every call of its two numbers in the window.
	SingleUse bool          `yaml:"single_use"`
	Grace     time.Duration `yaml:"grace"`
	// ClockSkew is how far an enterprise's clock, on which it sets a
	// key's window, may be off the node's: a key matches from this much
	// before its window through this much after (whole seconds; 0 = none,
	// at most 5m).
	ClockSkew time.Duration `yaml:"clock_skew"`
	// FlushInterval: how often registrations are written and fsynced (a
	// crash loses at most this much of those the REST API has not
	// acknowledged yet; it acknowledges after the fsync).
	FlushInterval time.Duration `yaml:"flush_interval"`
	// SnapshotInterval: how often the log is folded into a snapshot (and
	// keys past their window swept).
	SnapshotInterval time.Duration `yaml:"snapshot_interval"`
	// SIPEnrolmentUser is the user part of the SIP tier's enrolment
	// address: an INVITE to sip:USER@... from an enterprise's trunk
	// registers its call key and is redirected to the enterprise's onward
	// route ('callgate enterprise enrolment'); "" = SIP enrolment off.
	SIPEnrolmentUser string `yaml:"sip_enrolment_user"`
	// OnMissing is what a call from an enrolled number without a
	// matching key gets: block (the default), screen (the subscriber's
	// screening), or continue (the rest of the chain decides; the trace's
	// key=missing tags it, e.g. to watch before blocking). The platform
	// default: a provider may set its own (callgate provider signals).
	OnMissing string `yaml:"on_missing"`
	// Replicate shares the keys among the nodes of a platform through
	// etcd (needs store.backend etcd): a key registered on one node
	// matches calls on every node, a single-use key used on one stops
	// matching on the others. The keys live under their own etcd prefix,
	// store.etcd.prefix with ".keys/" in place of its final '/', each
	// only for its window (package keys/keysync).
	Replicate bool `yaml:"replicate"`
}

// Reputation configures spam-risk screening (package reputation): the
// calling number's risk band from an HTTP reputation provider, within the
// call's time budget, and what the engine does with each band.
type Reputation struct {
	// Enabled looks up callers to subscribers (off by default: it needs a
	// provider).
	Enabled bool `yaml:"enabled"`
	// BaseURL of the provider's API (GET {base_url}/v1/reputation/{digits}).
	BaseURL string `yaml:"base_url"`
	// APIKeyFile holds the provider's API key (sent as a bearer token);
	// "" = none. A file, so the key stays out of the configuration.
	APIKeyFile string `yaml:"api_key_file"`
	// Timeout bounds one look-up in the background (a late answer still
	// fills the cache).
	Timeout time.Duration `yaml:"timeout"`
	// Budget is the longest a call waits for a look-up that is not cached;
	// Reserve is left of the call's own deadline (scp.time_budget,
	// sip.decide_timeout) for the rest of the decision.
	Budget  time.Duration `yaml:"budget"`
	Reserve time.Duration `yaml:"reserve"`
	// FreshFor / StaleFor: a cached band is used as it is, then used while
	// refreshed in the background, then looked up again.
	FreshFor time.Duration `yaml:"fresh_for"`
	StaleFor time.Duration `yaml:"stale_for"`
	// CacheSize bounds the numbers cached; MaxInFlight the look-ups
	// running at once (past it a miss is not asked: the unknown branch).
	CacheSize   int `yaml:"cache_size"`
	MaxInFlight int `yaml:"max_in_flight"`
	// MaxWaiting bounds the calls waiting for a look-up at once (0 = half
	// the CPUs, at least 1): past it a miss takes the unknown branch at
	// once (why=busy) while the look-up fills the cache. (The SCP and the
	// SIP tier's stateless UDP readers defer a call that would wait to a
	// goroutine of its own: scp/deferred.go, redirect/deferred.go.)
	MaxWaiting int `yaml:"max_waiting"`
	// BreakerFailures failures in a row stop asking the provider for
	// BreakerOpen (the unknown branch, why=circuit-open); -1 = no breaker.
	BreakerFailures int           `yaml:"breaker_failures"`
	BreakerOpen     time.Duration `yaml:"breaker_open"`
	// Actions maps this provider's answers to the engine's actions.
	Actions ReputationActions `yaml:"actions"`
}

// ReputationActions is the band -> action mapping: each of continue (the
// subscriber's own treatments decide), allow, challenge (the B2BUA's DTMF
// challenge), block, screen.
type ReputationActions struct {
	Low     string `yaml:"low"`
	Medium  string `yaml:"medium"`
	High    string `yaml:"high"`
	Exempt  string `yaml:"exempt"`  // private, anonymous and non-NANP callers: never looked up
	Unknown string `yaml:"unknown"` // no band within the call's budget (slow, failing or busy provider)
}

// defaultKeys and defaultReputation are Default's signal sections.
func defaultKeys() Keys {
	return Keys{Enabled: true, OnMissing: "block", MaxKeys: 1_000_000, DefaultWindow: 60 * time.Second, MaxWindow: 24 * time.Hour,
		Grace: 32 * time.Second, ClockSkew: 5 * time.Second, FlushInterval: 100 * time.Millisecond, SnapshotInterval: 5 * time.Minute}
}

func defaultReputation() Reputation {
	return Reputation{Timeout: 2 * time.Second, Budget: 20 * time.Millisecond, Reserve: 5 * time.Millisecond,
		FreshFor: time.Hour, StaleFor: 24 * time.Hour, CacheSize: 1_000_000, MaxInFlight: 256,
		BreakerFailures: 5, BreakerOpen: 10 * time.Second,
		Actions: ReputationActions{Low: "allow", Medium: "challenge", High: "challenge", Exempt: "continue", Unknown: "continue"}}
}

// KeysDir is where the call keys are saved.
func (c *Config) KeysDir() string {
	if c.Keys.Dir != "" {
		return c.Keys.Dir
	}
	return filepath.Join(c.DataDir, "keys")
}

// Policy is the engine's mapping of the configured actions.
func (a *ReputationActions) Policy() (policy.ReputationPolicy, error) {
	var p policy.ReputationPolicy
	var errs []string
	for _, f := range []struct {
		name string
		v    string
		dst  *policy.ReputationAction
	}{{"low", a.Low, &p.Low}, {"medium", a.Medium, &p.Medium}, {"high", a.High, &p.High},
		{"exempt", a.Exempt, &p.Exempt}, {"unknown", a.Unknown, &p.Unknown}} {
		v, err := policy.ParseReputationAction(f.v)
		if err != nil {
			errs = append(errs, "reputation.actions."+f.name+": "+err.Error())
		}
		*f.dst = v
	}
	if errs != nil {
		return p, fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return p, nil
}

// validateSignals checks the keys and reputation sections.
func (c *Config) validateSignals() []error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	k := &c.Keys
	if k.MaxKeys <= 0 || k.MaxKeys > 1<<31 {
		bad("keys.max_keys", "%d: want 1 .. %d", k.MaxKeys, 1<<31)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"keys.default_window", k.DefaultWindow}, {"keys.max_window", k.MaxWindow}, {"keys.flush_interval", k.FlushInterval},
		{"keys.snapshot_interval", k.SnapshotInterval}} {
		if d.v <= 0 {
			bad(d.name, "%s is not positive", d.v)
		}
	}
	if k.Grace < 0 {
		bad("keys.grace", "%s is negative (0 = a used key matches no retransmission)", k.Grace)
	}
	if k.ClockSkew < 0 || k.ClockSkew > 5*time.Minute {
		bad("keys.clock_skew", "%s: want 0 (none) to 5m (a key is a promise about one call; set the enterprise's clock right)", k.ClockSkew)
	}
	for _, ch := range k.SIPEnrolmentUser {
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_' || ch == '.') || k.SIPEnrolmentUser[0] == '+' {
			bad("keys.sip_enrolment_user", "%q: want a SIP user name of letters, digits, '-', '_', '.' (not a telephone number), e.g. enrol", k.SIPEnrolmentUser)
			break
		}
	}
	if m := k.OnMissing; m != "block" && m != "screen" && m != "continue" {
		bad("keys.on_missing", "%q: want block, screen or continue", m)
	}
	if k.Replicate && c.Store.Backend != BackendEtcd {
		bad("keys.replicate", "needs store.backend etcd (the keys are shared through it); with %s there is one node", c.Store.Backend)
	}
	if k.MaxWindow > 0 && k.DefaultWindow > k.MaxWindow {
		bad("keys.default_window", "%s is longer than keys.max_window %s", k.DefaultWindow, k.MaxWindow)
	}
	r := &c.Reputation
	if r.Enabled {
		if u, err := url.Parse(r.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("reputation.base_url", "%q: want the provider's http:// or https:// URL (needed with reputation.enabled)", r.BaseURL)
		}
		if r.APIKeyFile != "" {
			if _, err := os.Stat(r.APIKeyFile); err != nil {
				bad("reputation.api_key_file", "%v", err)
			}
		}
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"reputation.timeout", r.Timeout}, {"reputation.budget", r.Budget}, {"reputation.reserve", r.Reserve},
		{"reputation.fresh_for", r.FreshFor}, {"reputation.stale_for", r.StaleFor}, {"reputation.breaker_open", r.BreakerOpen}} {
		if d.v <= 0 {
			bad(d.name, "%s is not positive", d.v)
		}
	}
	if r.StaleFor < r.FreshFor {
		bad("reputation.stale_for", "%s is shorter than reputation.fresh_for %s", r.StaleFor, r.FreshFor)
	}
	if r.CacheSize <= 0 || r.MaxInFlight <= 0 || r.MaxWaiting < 0 {
		bad("reputation", "cache_size (%d) and max_in_flight (%d) must be positive, max_waiting (%d) not negative", r.CacheSize, r.MaxInFlight, r.MaxWaiting)
	}
	if r.BreakerFailures == 0 || r.BreakerFailures < -1 {
		bad("reputation.breaker_failures", "%d: want a positive count, or -1 for no breaker", r.BreakerFailures)
	}
	if r.Enabled && c.SCP.Enabled && c.SCP.TimeBudget > 0 && r.Reserve >= c.SCP.TimeBudget {
		bad("reputation.reserve", "%s leaves nothing of scp.time_budget %s for a look-up", r.Reserve, c.SCP.TimeBudget)
	}
	if _, err := r.Actions.Policy(); err != nil {
		errs = append(errs, err)
	}
	return errs
}

// KeysPrefix is the etcd prefix of the replicated call keys (Keys.Replicate):
// beside the store's prefix, never under it, so the store's replica on each
// node holds no record per call key.
func (c *Config) KeysPrefix() string {
	return strings.TrimSuffix(c.Store.Etcd.Prefix, "/") + ".keys/"
}
