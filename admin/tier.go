package admin

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"callgate/fraud"
	"callgate/policy"
	"callgate/policy/decisionlog"
	"callgate/store"
)

// Config is the tier's configuration (the daemon maps its api: section
// onto it).
type Config struct {
	// Listen is host:port; the daemon's default is loopback. "" serves
	// the socket only.
	Listen string
	// Socket is the path of the owner's unix socket (socket.go); "" = none.
	Socket string
	// TLSCert and TLSKey, both or neither, are PEM files: with them the API
	// is served over TLS.
	TLSCert, TLSKey string
	// MaxBody bounds a request body in bytes (default 64 MiB: bulk CSV).
	MaxBody int64
	// MaxImport bounds the body of a subscriber import, which is streamed
	// into the store, not held (default 4 GiB: some 100M subscribers).
	MaxImport int64
	// SessionIdle ends a web UI session not used for this long (default
	// 15 minutes).
	SessionIdle time.Duration
	// LoginBurst and LoginEvery limit login attempts per client address:
	// a burst of LoginBurst, then one per LoginEvery (defaults 10, 6s).
	LoginBurst int
	LoginEvery time.Duration
}

// Decide asks the engine about one call without recording it (the
// daemon's signal stage and engine as `callgate decide` runs them),
// filling c's signals as the stage found them (or as g gives them).
type Decide func(ctx context.Context, c *policy.Call, g Given) policy.Decision

// Given are signals a decide request gives by hand instead of the signal
// stage finding them (nil: found as for a live call): what-if questions,
// or a logged call reproduced.
type Given struct {
	Key        *policy.KeyMatch   // the call-key check's answer
	Reputation *policy.Reputation // the caller's spam-risk band
}

// Option configures the tier.
type Option func(*Tier)

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(t *Tier) { t.log = l } }

// WithDecisionLog lets the API search the decision log.
func WithDecisionLog(l *decisionlog.Log) Option { return func(t *Tier) { t.dlog = l } }

// WithDecide lets the API answer POST /api/v1/decide.
func WithDecide(d Decide) Option { return func(t *Tier) { t.decide = d } }

// WithClock sets the clock of web sessions and login limits (tests).
func WithClock(now func() time.Time) Option { return func(t *Tier) { t.now = now } }

// WithFail sets the function told about a failure after Start.
func WithFail(f func(error)) Option { return func(t *Tier) { t.fail = f } }

// Tier serves the admin API.
type Tier struct {
	cfg    Config
	st     *store.Store
	log    *slog.Logger
	dlog   *decisionlog.Log
	decide Decide
	fraud  *fraud.Monitor // fraud.go; nil: no monitor
	keys   http.Handler   // keys.go: the enterprises' /api/v1/keys; nil: keys are off
	revoke KeyRevoker     // keys.go: the operator's revocation; nil: keys are off
	// platformSignals are the engine's signal defaults
	// (provider_signals.go); nil: not told.
	platformSignals *PlatformSignals
	fail            func(error)
	now             func() time.Time

	sessions *sessions
	limiter  *loginLimiter

	handler  http.Handler
	srv      *http.Server
	ln       net.Listener
	draining atomic.Bool
	done     chan struct{}

	cert       *tls.Certificate   // api.tls_cert and tls_key, read by New; nil: plain http
	sock       *socket            // the owner's socket (socket.go); nil when off
	ownerUID   uint32             // who may use the socket (and root)
	storeCheck func(string) error // WithStoreCheck
}

// New validates cfg and builds the tier over st; it opens no socket.
// `config check` builds it without a store (nil), which Start refuses.
func New(cfg Config, st *store.Store, opts ...Option) (*Tier, error) {
	if cfg.Listen == "" && cfg.Socket == "" {
		return nil, errors.New("api.listen: empty (want host:port, e.g. 127.0.0.1:8480)")
	}
	if cfg.Listen != "" {
		if _, _, err := net.SplitHostPort(cfg.Listen); err != nil {
			return nil, fmt.Errorf("api.listen %q: %v (want host:port)", cfg.Listen, err)
		}
	}
	if cfg.Socket != "" {
		if err := checkSocketPath(cfg.Socket); err != nil {
			return nil, err
		}
	}
	if (cfg.TLSCert == "") != (cfg.TLSKey == "") {
		return nil, errors.New("api.tls_cert and api.tls_key: give both or neither")
	}
	// The certificate is read here, not in Start, so `config check` (which
	// builds the tier and never starts it) reports a missing or mismatched
	// file as serve would.
	var cert *tls.Certificate
	if cfg.TLSCert != "" && cfg.Listen != "" {
		c, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("api.tls_cert %s / api.tls_key %s: %w (want a PEM certificate and its key)", cfg.TLSCert, cfg.TLSKey, err)
		}
		cert = &c
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 64 << 20
	}
	if cfg.MaxImport <= 0 {
		cfg.MaxImport = 4 << 30
	}
	if cfg.SessionIdle <= 0 {
		cfg.SessionIdle = 15 * time.Minute
	}
	if cfg.LoginBurst <= 0 {
		cfg.LoginBurst = 10
	}
	if cfg.LoginEvery <= 0 {
		cfg.LoginEvery = 6 * time.Second
	}
	t := &Tier{cfg: cfg, st: st, log: slog.Default(), fail: func(error) {}, done: make(chan struct{}), now: time.Now,
		ownerUID: uint32(os.Geteuid()), cert: cert}
	for _, o := range opts {
		o(t)
	}
	t.sessions = &sessions{m: map[string]*session{}, idle: cfg.SessionIdle, now: t.now}
	t.limiter = &loginLimiter{buckets: map[string]*bucket{}, burst: float64(cfg.LoginBurst), every: cfg.LoginEvery, now: t.now}
	t.handler = t.routes()
	return t, nil
}

// Handler is the API's handler (tests serve it without a socket).
func (t *Tier) Handler() http.Handler { return t.handler }

// Name implements the daemon's Tier.
func (t *Tier) Name() string { return "api" }

// Start opens the socket and the listener and serves in the background.
func (t *Tier) Start(ctx context.Context) error {
	if t.st == nil {
		return errors.New("admin API: no store")
	}
	if err := t.startSocket(); err != nil {
		return err
	}
	if t.cfg.Listen == "" {
		return nil
	}
	ln, err := net.Listen("tcp", t.cfg.Listen)
	if err != nil {
		t.stopSocket(ctx)
		return fmt.Errorf("api.listen %s: %w", t.cfg.Listen, err)
	}
	if t.cert != nil {
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{*t.cert}, MinVersion: tls.VersionTLS12})
	}
	t.ln = ln
	t.srv = &http.Server{Handler: t.handler, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	go func() {
		defer close(t.done)
		if err := t.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.fail(fmt.Errorf("api: %w", err))
		}
	}()
	return nil
}

// Ready reports whether the API serves.
func (t *Tier) Ready() error {
	if t.ln == nil && t.sock == nil {
		return errors.New("not started")
	}
	if t.draining.Load() {
		return errors.New("draining")
	}
	return nil
}

// Drain stops accepting requests and waits for those in progress.
func (t *Tier) Drain(ctx context.Context) error {
	t.draining.Store(true)
	err := t.drainSocket(ctx)
	if t.srv == nil {
		return err
	}
	return errors.Join(err, t.srv.Shutdown(ctx))
}

// Stop closes the listener.
func (t *Tier) Stop(ctx context.Context) error {
	err := t.stopSocket(ctx)
	if t.srv == nil {
		return err
	}
	err = errors.Join(err, t.srv.Close())
	select {
	case <-t.done:
	case <-ctx.Done():
		return errors.Join(err, ctx.Err())
	}
	return err
}

// Describe says where the API listens: its URL on TCP, else its socket
// (the daemon names the socket in its start-up summary).
func (t *Tier) Describe() string {
	if t.cfg.Listen == "" {
		return "unix:" + t.cfg.Socket
	}
	scheme := "http"
	if t.cfg.TLSCert != "" {
		scheme = "https"
	}
	addr := t.cfg.Listen
	if t.ln != nil {
		addr = t.ln.Addr().String()
	}
	return fmt.Sprintf("%s://%s/api/v1", scheme, addr)
}
