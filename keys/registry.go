package keys

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	"callgate/e164"
	"callgate/policy"
	"callgate/store"
)

// Enterprises is what the registry reads of the store: which enterprise
// enrolled a calling number, and that enterprise's settings. *store.Store
// implements it; both lookups are hot-path safe (an in-memory index, no
// allocation).
type Enterprises interface {
	Enterprise(calling e164.Number) (uint32, bool)
	EnterpriseInfo(id uint32) (*store.Enterprise, bool)
}

// Config sets up a Registry. The zero value of a field takes its default.
type Config struct {
	// Dir holds the snapshot and the log; "" keeps keys in memory only
	// (lost at a restart).
	Dir string
	// MaxKeys bounds the keys held at once (default 1,000,000; 32 bytes
	// each, plus a third for probing room). A registration beyond it is
	// refused (ErrFull) after keys that ended are swept.
	MaxKeys int
	// Shards splits the table (a power of two, default 256) so
	// concurrent registrations and lookups rarely share a lock.
	Shards int
	// DefaultWindow is a key's window when a registration gives no end
	// (default 60 s from its start, which defaults to now).
	DefaultWindow time.Duration
	// MaxWindow bounds a window's length (default 24 h): a key is a
	// promise about one call, not a standing permission.
	MaxWindow time.Duration
	// SingleUse: a key matches one call (and its retransmissions within
	// Grace); otherwise every call of its numbers within the window.
	SingleUse bool
	// Grace: how long a used single-use key still matches, so a
	// retransmitted INVITE or a re-asked query of the same call is not
	// taken for a spoof (default 32 s, SIP's Timer B; negative = none).
	Grace time.Duration
	// ClockSkew: how far the enterprise's clock, on which it set a key's
	// window, may be off this node's: a key matches from ClockSkew before
	// its not_before through ClockSkew after its not_after (default 5 s,
	// as sip.stir.skew; negative = none). Without it a key registered
	// "from now" by a clock a second ahead blocks its own call as spoofed.
	ClockSkew time.Duration
	// FlushInterval: how often pending changes are written and synced
	// (default 100 ms): the most a crash can lose of registrations that
	// did not wait (RegisterWait).
	FlushInterval time.Duration
	// SnapshotInterval: how often a snapshot replaces the log (default
	// 5 min); MaxLogBytes takes one sooner when the log grows past it
	// (default 64 MiB).
	SnapshotInterval time.Duration
	MaxLogBytes      int64
	// Logger receives the registry's warnings (nil: discarded).
	Logger *slog.Logger
	// Now is the clock (tests); nil = time.Now.
	Now func() time.Time
}

// Defaults.
const (
	DefaultMaxKeys          = 1_000_000
	DefaultShards           = 256
	DefaultWindow           = 60 * time.Second
	DefaultMaxWindow        = 24 * time.Hour
	DefaultGrace            = 32 * time.Second
	DefaultClockSkew        = 5 * time.Second
	MaxClockSkew            = 5 * time.Minute
	DefaultFlushInterval    = 100 * time.Millisecond
	DefaultSnapshotInterval = 5 * time.Minute
	DefaultMaxLogBytes      = 64 << 20
)

func (c *Config) withDefaults() Config {
	o := *c
	def := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	if o.MaxKeys == 0 {
		o.MaxKeys = DefaultMaxKeys
	}
	if o.Shards == 0 {
		o.Shards = DefaultShards
	}
	def(&o.DefaultWindow, DefaultWindow)
	def(&o.MaxWindow, DefaultMaxWindow)
	def(&o.Grace, DefaultGrace)
	def(&o.ClockSkew, DefaultClockSkew)
	def(&o.FlushInterval, DefaultFlushInterval)
	def(&o.SnapshotInterval, DefaultSnapshotInterval)
	if o.MaxLogBytes == 0 {
		o.MaxLogBytes = DefaultMaxLogBytes
	}
	if o.Grace < 0 {
		o.Grace = 0
	}
	if o.ClockSkew < 0 {
		o.ClockSkew = 0
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Validate reports every problem of c at once, naming the field.
func (c *Config) Validate() error {
	var errs []error
	if c.MaxKeys < 0 || c.MaxKeys > 1<<31 {
		errs = append(errs, fmt.Errorf("max_keys %d: want 1 .. %d (0 = the default %d)", c.MaxKeys, 1<<31, DefaultMaxKeys))
	}
	if s := c.Shards; s < 0 || s > 1<<16 || s&(s-1) != 0 {
		errs = append(errs, fmt.Errorf("shards %d: want a power of two up to 65536 (0 = the default %d)", s, DefaultShards))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"default_window", c.DefaultWindow}, {"max_window", c.MaxWindow}, {"flush_interval", c.FlushInterval}, {"snapshot_interval", c.SnapshotInterval}} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("%s %s: want a positive duration (0 = the default)", d.name, d.v))
		}
	}
	if c.ClockSkew > MaxClockSkew {
		errs = append(errs, fmt.Errorf("clock_skew %s: at most %s (a key is a promise about one call; set the enterprise's clock right)", c.ClockSkew, MaxClockSkew))
	}
	if c.MaxWindow > 0 && c.DefaultWindow > c.MaxWindow {
		errs = append(errs, fmt.Errorf("default_window %s is longer than max_window %s", c.DefaultWindow, c.MaxWindow))
	}
	if c.MaxLogBytes < 0 {
		errs = append(errs, fmt.Errorf("max_log_bytes %d: want a positive size (0 = the default)", c.MaxLogBytes))
	}
	return errors.Join(errs...)
}

// Key is one registered call: the enterprise's calling number, the number
// it calls, and the window in which the call may arrive.
type Key struct {
	Calling   e164.Number `json:"calling"`
	Called    e164.Number `json:"called"`
	NotBefore time.Time   `json:"not_before"`
	NotAfter  time.Time   `json:"not_after"`
}

// Errors of registration (wrapped with the details).
var (
	ErrInvalid     = errors.New("keys: invalid key")
	ErrNotEnrolled = errors.New("keys: calling number not enrolled by this enterprise")
	ErrClosed      = errors.New("keys: registry closed")
)

// Registry holds the call keys: registration (Register, RegisterWait,
// the REST handler, SIP enrolment) and the check at termination (Check).
// It is safe for concurrent use.
type Registry struct {
	cfg  Config
	ents Enterprises
	t    *table
	w    *writer      // nil: memory only
	rep  *replication // nil: this node only (replicate.go)
	stop chan struct{}
}

// Open builds a registry over ents, loading the keys saved in cfg.Dir.
func Open(cfg Config, ents Enterprises) (*Registry, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	c := cfg.withDefaults()
	r := &Registry{cfg: c, ents: ents, stop: make(chan struct{}),
		t: newTable(c.MaxKeys, c.Shards, c.SingleUse, uint32(c.Grace/time.Second), c.Dir != "")}
	r.t.skew = uint32(c.ClockSkew / time.Second)
	if c.Dir == "" {
		// No writer to sweep with its snapshots: sweep on the same beat.
		go func() {
			t := time.NewTicker(c.SnapshotInterval)
			defer t.Stop()
			for {
				select {
				case <-r.stop:
					return
				case <-t.C:
					r.Sweep()
				}
			}
		}()
		return r, nil
	}
	now := c.Now()
	gen, n, err := recoverDir(c.Dir, r.t, unixSec(now), ents.Enterprise, c.Logger)
	if err != nil {
		return nil, err
	}
	w := &writer{dir: c.Dir, t: r.t, log: c.Logger, flush: c.FlushInterval, snapEach: c.SnapshotInterval,
		maxLog: c.MaxLogBytes, now: c.Now, gen: gen, lastSn: now,
		done: make(chan struct{}), kick: make(chan struct{}, 1), stop: make(chan struct{}), quit: make(chan struct{})}
	if err := w.openLog(); err != nil {
		return nil, err
	}
	if n > 0 {
		c.Logger.Info("call keys loaded", "folder", c.Dir, "keys", n)
	}
	r.w = w
	go w.run()
	return r, nil
}

// OpenReadOnly loads the keys saved in cfg.Dir into a registry that
// writes nothing: no log is started, no file is changed, and keys
// registered or used in it live only in memory. It is for a process that
// only asks (`callgate decide` without a daemon) beside the folder a
// daemon writes. A folder that does not exist holds no keys.
func OpenReadOnly(cfg Config, ents Enterprises) (*Registry, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	c := cfg.withDefaults()
	r := &Registry{cfg: c, ents: ents, stop: make(chan struct{}),
		t: newTable(c.MaxKeys, c.Shards, c.SingleUse, uint32(c.Grace/time.Second), false)}
	r.t.skew = uint32(c.ClockSkew / time.Second)
	if c.Dir == "" {
		return r, nil
	}
	if _, err := loadDir(c.Dir, r.t, unixSec(c.Now()), ents.Enterprise); err != nil {
		return nil, err
	}
	return r, nil
}

// Close writes what is pending and stops the writer.
func (r *Registry) Close() error {
	select {
	case <-r.stop:
		return nil
	default:
	}
	close(r.stop)
	if r.w == nil {
		return nil
	}
	close(r.w.stop)
	<-r.w.quit
	r.w.mu.Lock()
	defer r.w.mu.Unlock()
	return r.w.lastErr
}

// unixSec is t in whole unix seconds, clamped to the uint32 range.
func unixSec(t time.Time) uint32 {
	s := t.Unix()
	if s < 0 {
		return 0
	}
	if s > math.MaxUint32 {
		return math.MaxUint32
	}
	return uint32(s)
}

// unixSecCeil rounds t up to a whole second.
func unixSecCeil(t time.Time) uint32 {
	s := unixSec(t)
	if t.Nanosecond() != 0 && s < math.MaxUint32 {
		s++
	}
	return s
}

// Normalize fills a key's defaults (start now, end start+DefaultWindow)
// and checks it, without registering it. Windows have second resolution:
// the start is rounded down and the end up.
func (r *Registry) Normalize(k Key) (Key, error) {
	now := r.cfg.Now()
	if k.NotBefore.IsZero() {
		k.NotBefore = now
	}
	if k.NotAfter.IsZero() {
		k.NotAfter = k.NotBefore.Add(r.cfg.DefaultWindow)
	}
	k.NotBefore = k.NotBefore.Truncate(time.Second).UTC()
	if t := k.NotAfter.Truncate(time.Second); !t.Equal(k.NotAfter) {
		k.NotAfter = t.Add(time.Second)
	}
	k.NotAfter = k.NotAfter.UTC()
	switch {
	case k.Calling == 0:
		return k, invalid("calling", "calling number missing")
	case k.Called == 0:
		return k, invalid("called", "called number missing")
	case !k.NotAfter.After(k.NotBefore):
		return k, invalid("not_after", "not_after %s is not after not_before %s", k.NotAfter.Format(time.RFC3339), k.NotBefore.Format(time.RFC3339))
	case k.NotAfter.Before(now.Add(-r.cfg.ClockSkew).Truncate(time.Second)):
		return k, invalid("not_after", "not_after %s has passed (now %s, keys.clock_skew %s)", k.NotAfter.Format(time.RFC3339), now.UTC().Format(time.RFC3339), r.cfg.ClockSkew)
	case k.NotAfter.Sub(k.NotBefore) > r.cfg.MaxWindow:
		return k, invalid("not_after", "window %s..%s is %s long, longer than keys.max_window %s",
			k.NotBefore.Format(time.RFC3339), k.NotAfter.Format(time.RFC3339), k.NotAfter.Sub(k.NotBefore), r.cfg.MaxWindow)
	case k.NotBefore.Unix() < 0:
		return k, invalid("not_before", "not_before %s is before 1970", k.NotBefore.Format(time.RFC3339))
	case k.NotAfter.Unix() > math.MaxUint32:
		return k, invalid("not_after", "not_after %s is after 2106", k.NotAfter.Format(time.RFC3339))
	}
	return k, nil
}

// Register records a key for enterprise ent (internal ID), whose enrolled
// number the key's calling number must be. It returns the key as stored
// (defaults filled, second resolution). The key matches at once; it is on
// disk within the flush interval (RegisterWait waits for that).
// Registering a key that is already there (same numbers, window and
// enterprise) is no error and adds nothing, so a retried registration is
// safe; one that was revoked is ErrRevoked (register another window).
// The key is the enterprise's: it matches only while ent enrols its
// calling number.
func (r *Registry) Register(ent uint32, k Key) (Key, error) {
	k, added, err := r.register(ent, k)
	if err == nil && added && r.rep != nil {
		r.rep.queue(slot{calling: k.Calling, called: k.Called, notBefore: unixSec(k.NotBefore), notAfter: unixSec(k.NotAfter), ent: ent})
	}
	return k, err
}

// register adds the key to the table and says whether it is new.
func (r *Registry) register(ent uint32, k Key) (Key, bool, error) {
	k, err := r.Normalize(k)
	if err != nil {
		return k, false, err
	}
	if id, ok := r.ents.Enterprise(k.Calling); !ok || id != ent {
		name := fmt.Sprint(ent)
		if e, ok := r.ents.EnterpriseInfo(ent); ok {
			name = e.Name
		}
		return k, false, &FieldError{Field: "calling", Err: fmt.Errorf("%w: %s is not a number of enterprise %s (enrol it: callgate enterprise create/--number)", ErrNotEnrolled, k.Calling, name)}
	}
	select {
	case <-r.stop:
		return k, false, ErrClosed
	default:
	}
	added, err := r.t.add(k.Calling, k.Called, ent, unixSec(k.NotBefore), unixSec(k.NotAfter), unixSec(r.cfg.Now()))
	if errors.Is(err, ErrRevoked) {
		return k, false, &FieldError{Field: "not_before", Err: fmt.Errorf("%w: %s -> %s %s..%s (a revocation is not undone by registering the key again; register another window)",
			err, k.Calling, k.Called, k.NotBefore.Format(time.RFC3339), k.NotAfter.Format(time.RFC3339))}
	}
	if err != nil {
		return k, false, fmt.Errorf("%w (keys.max_keys %d); raise it or shorten the windows", err, r.cfg.MaxKeys)
	}
	return k, added, nil
}

// RegisterWait is Register, returning once the key is on disk (or the
// write failed: the key still matches, but would not survive a restart)
// and, when the registry replicates (Replicate), once the cluster holds
// it. Concurrent waits share one fdatasync. A retried registration of a
// key already here is published again (the first attempt may have failed
// to reach the cluster); publishing is idempotent.
func (r *Registry) RegisterWait(ctx context.Context, ent uint32, k Key) (Key, error) {
	k, _, err := r.register(ent, k)
	if err != nil {
		return k, err
	}
	if r.w != nil {
		if err := r.w.wait(ctx.Done()); err != nil {
			return k, err
		}
	}
	if r.rep != nil {
		return k, r.publish(ctx, Change{Key: k, Enterprise: ent})
	}
	return k, nil
}

// Check is the spoof-protection check of a call at termination, for the
// call path: KeyNotChecked when no enterprise enrolled calling,
// KeyMatched (with the enterprise) when a key of calling -> called that
// this enterprise registered matches now, else KeyMissing (a key another
// enterprise registered before the number moved matches nothing). It neither allocates nor blocks beyond a
// shard lock; in single-use mode a match uses the key.
func (r *Registry) Check(calling, called e164.Number, now time.Time) (policy.KeyMatch, uint32) {
	return r.check(calling, called, now, true)
}

// Peek is Check without its side effect: a matching single-use key is not
// used up. It answers what-if questions (`callgate decide`), which must
// not spend the key of the call they ask about.
func (r *Registry) Peek(calling, called e164.Number, now time.Time) (policy.KeyMatch, uint32) {
	return r.check(calling, called, now, false)
}

func (r *Registry) check(calling, called e164.Number, now time.Time, use bool) (policy.KeyMatch, uint32) {
	if calling == 0 {
		return policy.KeyNotChecked, 0
	}
	ent, ok := r.ents.Enterprise(calling)
	if !ok {
		return policy.KeyNotChecked, 0
	}
	if called != 0 && r.t.check(calling, called, ent, unixSec(now), use) {
		return policy.KeyMatched, ent
	}
	return policy.KeyMissing, ent
}

// Stats are the registry's counters and sizes.
type Stats struct {
	Live, Held, Capacity   int // keys whose window has not passed; held (incl. passed, not swept); most that fit
	Flushes, FlushedBytes  uint64
	WriteErrors, Snapshots uint64
	SnapshotErrors         uint64
	// Replication (Replicate): changes sent to the cluster, sends that
	// failed, changes dropped because the queue was full.
	Replicated, ReplicationErrors, ReplicationDropped uint64
}

// Stats counts the keys (a scan of the table: for metrics scrapes and
// tests, not the call path).
func (r *Registry) Stats() Stats {
	var s Stats
	s.Live, s.Held, s.Capacity = r.t.live(unixSec(r.cfg.Now()))
	if w := r.w; w != nil {
		s.Flushes, s.FlushedBytes = w.stats.flushes.Load(), w.stats.bytes.Load()
		s.WriteErrors, s.Snapshots, s.SnapshotErrors = w.stats.syncErrors.Load(), w.stats.snapshots.Load(), w.stats.snapErrors.Load()
	}
	if p := r.rep; p != nil {
		s.Replicated, s.ReplicationErrors, s.ReplicationDropped = p.sent.Load(), p.errors.Load(), p.dropped.Load()
	}
	return s
}

// Sweep removes the keys that have ended (the table also does it when a
// shard fills up); the daemon runs it now and then so lookups of keys
// that are not there stay short.
func (r *Registry) Sweep() int { return r.t.sweepAll(unixSec(r.cfg.Now())) }

// Config is the registry's configuration with its defaults filled in.
func (r *Registry) Config() Config { return r.cfg }
