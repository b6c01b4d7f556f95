package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"callgate/internal/config"
	"callgate/internal/metrics"
	"callgate/policy"
	"callgate/policy/decisionlog"
	"callgate/store"
)

// Tier is a protocol front end the daemon runs over the shared decision
// engine: the SIP redirect server, the AIN SCP, later the B2BUA and the
// admin API. serve starts the tiers in the order of tierFactories once the
// store, the decision log and the metrics are up, and shuts them down in
// reverse order before flushing the log and closing the store.
type Tier interface {
	// Name is the tier's short name for logs ("sip", "scp").
	Name() string
	// Start opens the tier's sockets and starts serving in the background.
	// It returns once the tier accepts work, or with the reason it cannot
	// (a busy port, a bad certificate): the daemon then stops. A failure
	// after Start returned is reported through tierDeps.Fail.
	Start(ctx context.Context) error
	// Shutdown stops accepting new work, lets in-flight work finish and
	// returns; ctx bounds the wait (the shutdown timeout).
	Shutdown(ctx context.Context) error
}

// tierDeps is what a tier is built from.
type tierDeps struct {
	Config  *config.Config
	Store   *store.Store     // the list store (read it through the Decider on the call path)
	Decider policy.Decider   // the engine, wrapped to log every decision and count it in metrics
	Metrics *metrics.Metrics // register the tier's own collectors here
	// DecisionLog is where a tier records answers it gives without the
	// engine (safe answers under overload); decisions made through Decider
	// are already recorded.
	DecisionLog *decisionlog.Log
	Logger      *slog.Logger
	// Fail reports a fatal error of a running tier; the daemon shuts down.
	Fail func(error)
}

// tierFactory builds a tier from the configuration; it returns nil, nil
// when the tier is disabled there.
type tierFactory func(d *tierDeps) (Tier, error)

// tierFactories are the tiers serve runs, in start order.
var tierFactories = []tierFactory{
	newSIPTier,
	newSCPTier,
}

// describer is implemented by tiers that can say where they listen, for
// the start-up summary.
type describer interface{ Describe() string }

// server is one running daemon.
type server struct {
	cfg     config.Config
	log     *slog.Logger
	st      *store.Store
	stFile  os.FileInfo // the store file as opened, to recognise it by identity
	dlog    *decisionlog.Log
	decider policy.Decider
	m       *metrics.Metrics
	admin   *http.Server
	adminLn net.Listener
	tiers   []Tier
	ready   atomic.Bool
	failc   chan error
}

// AdminAddr is the bound admin listener address ("" when disabled).
func (s *server) AdminAddr() string {
	if s.adminLn == nil {
		return ""
	}
	return s.adminLn.Addr().String()
}

func (e *env) serveCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "serve [--config FILE] [--data DIR]",
		Short: "Run the daemon: the protocol tiers, metrics and health endpoints",
		Long: `Serves the configured tiers (SIP redirect server by default; the AIN SCP when enabled) over
one decision engine and one store, with Prometheus metrics at /metrics and health at
/healthz and /readyz on the admin listener. Without --config everything listens on loopback
and the store is DATA/callgate.db. SIGTERM or Ctrl-C shuts down gracefully (in-flight work
finishes, the decision log is flushed, the store closed); a second signal exits at once.`,
		Example: `  callgate serve
  callgate serve --config /etc/callgate/callgate.yaml`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := e.loadConfig()
			if err != nil {
				return err
			}
			return e.serve(cmd.Context(), cfg)
		},
	}
}

func newLogger(w io.Writer, c config.Log) *slog.Logger {
	lvl, _ := config.ParseLevel(c.Level) // validated with the config
	opts := &slog.HandlerOptions{Level: slog.Level(lvl)}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// syncWriterProc adds one P (GOMAXPROCS) for the decision log's writer
// when it fsyncs each batch, unless the operator set GOMAXPROCS. fdatasync
// blocks its thread for milliseconds, and a goroutine in a blocking system
// call keeps its P until the runtime's monitor notices and hands the P on,
// which under load takes up to a few milliseconds: on a 2-core machine
// half of the query path's capacity then stalls at every commit. Measured
// with bench/scp/run.sh at 50,000 AIN queries/s on 2 cores: p99 8.5 ms with
// 2 Ps, 2.2-2.9 ms with 3 (1.1 ms with the decision log off). The extra P
// costs nothing while the writer is not in the system call; the kernel
// time-slices when all three run. Under a cgroup CPU quota (the runtime then
// starts with fewer Ps than CPUs) a third busy P would be throttled by the
// quota instead, so nothing is added there. It is done once per process.
func syncWriterProc(cfg *config.Config, log *slog.Logger) {
	if !cfg.DecisionLog.Enabled || cfg.DecisionLog.NoSync || os.Getenv("GOMAXPROCS") != "" {
		return
	}
	syncProcOnce.Do(func() {
		n := runtime.GOMAXPROCS(0)
		if n < runtime.NumCPU() {
			log.Debug("CPU quota: no extra P for the decision log's fsync", "gomaxprocs", n, "cpus", runtime.NumCPU())
			return
		}
		runtime.GOMAXPROCS(n + 1)
		log.Debug("one more P for the decision log's fsync", "gomaxprocs", n+1, "cpus", n)
	})
}

var syncProcOnce sync.Once

// serve runs the daemon until ctx is done (a signal) or a tier fails.
func (e *env) serve(ctx context.Context, cfg config.Config) (err error) {
	log := newLogger(e.stderr, cfg.Log)
	syncWriterProc(&cfg, log)
	s := &server{cfg: cfg, log: log, failc: make(chan error, 4)}

	// Undo in reverse on any start-up failure.
	var undo []func()
	defer func() {
		if err != nil {
			for i := len(undo) - 1; i >= 0; i-- {
				undo[i]()
			}
		}
	}()

	storePath := cfg.StorePath()
	s.st, err = store.Open(storePath, store.Options{Timeout: cfg.Store.LockTimeout})
	if err != nil {
		if errors.Is(err, store.ErrDatabaseBusy) {
			return fmt.Errorf("%s is in use by another process: is another 'callgate serve' running, or an operator command (import) still working? Stop it, or give this daemon its own --data directory", storePath)
		}
		return err
	}
	undo = append(undo, func() { s.st.Close() })
	// Operator commands name the store by path; the daemon answers only for
	// the file it holds (the path may since point at a new file).
	if s.stFile, err = os.Stat(storePath); err != nil {
		return fmt.Errorf("store %s: %w", storePath, err)
	}

	eng, err := newEngine(s.st, &cfg)
	if err != nil {
		return err
	}
	var decider policy.Decider = eng
	if cfg.DecisionLog.Enabled {
		s.dlog, err = decisionlog.Open(cfg.DecisionLogPath(), decisionlog.Options{
			QueueSize: cfg.DecisionLog.QueueSize, BatchSize: cfg.DecisionLog.BatchSize,
			FlushInterval: cfg.DecisionLog.FlushInterval, MaxRecords: cfg.DecisionLog.MaxRecords,
			MaxAge: cfg.DecisionLog.MaxAge, NoSync: cfg.DecisionLog.NoSync, Logger: log,
		})
		if err != nil {
			return err
		}
		undo = append(undo, func() { s.dlog.Close() })
		decider = decisionlog.Wrap(decider, s.dlog)
	}
	s.m = metrics.New()
	s.decider = s.m.Wrap(decider)
	if s.dlog != nil {
		s.m.WatchDecisionLog(s.dlog.Stats)
	}
	// Counting is O(1) (store.Counts), so every scrape may be fresh; the
	// second only guards against scrape storms.
	s.m.WatchStore(func() (metrics.StoreSizes, error) { return storeSizes(s.st) }, time.Second)
	s.m.GaugeFunc("ready", "1 while every tier is serving, 0 while starting or shutting down.", nil, func() float64 {
		if s.ready.Load() {
			return 1
		}
		return 0
	})

	if cfg.Admin.Listen != "" {
		s.adminLn, err = net.Listen("tcp", cfg.Admin.Listen)
		if err != nil {
			return fmt.Errorf("admin listener (admin.listen): %w", err)
		}
		s.admin = &http.Server{Handler: s.adminMux(), ReadHeaderTimeout: 5 * time.Second}
		go func() {
			if err := s.admin.Serve(s.adminLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.fail(fmt.Errorf("admin listener: %w", err))
			}
		}()
		undo = append(undo, func() { s.admin.Close() })
	}

	deps := &tierDeps{Config: &s.cfg, Store: s.st, Decider: s.decider, Metrics: s.m, DecisionLog: s.dlog, Logger: log, Fail: s.fail}
	for _, f := range tierFactories {
		t, err := f(deps)
		if err != nil {
			return err
		}
		if t == nil {
			continue
		}
		if err := t.Start(ctx); err != nil {
			return fmt.Errorf("start %s tier: %w", t.Name(), err)
		}
		s.tiers = append(s.tiers, t)
		undo = append(undo, func() {
			sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
			defer cancel()
			_ = t.Shutdown(sctx)
		})
	}

	s.ready.Store(true)
	s.summary(storePath)
	// Calls to screen with no way to the B2BUA get the engine's no-route
	// fallback: say which providers now, and whenever routes change.
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	go eng.WatchRoutes(watchCtx, s.st, tierReach(&cfg), 10*time.Second, log)
	if e.serveHook != nil {
		e.serveHook(s)
	}

	select {
	case <-ctx.Done():
		log.Info("shutting down: signal received (a second signal exits at once)", "timeout", cfg.ShutdownTimeout.String())
	case ferr := <-s.failc:
		log.Error("shutting down: a tier failed", "error", ferr)
		err = ferr
	}
	if e.signalStop != nil {
		forceExitOnSignal(log)
	}
	if serr := s.shutdown(); serr != nil {
		if err == nil {
			err = serr
		} else {
			err = errors.Join(err, serr)
		}
	}
	undo = nil // everything is closed by shutdown
	return err
}

// tierReach says, per enabled tier, whether it has its own way to the
// B2BUA (the route audit's input).
func tierReach(cfg *config.Config) []policy.TierReach {
	var r []policy.TierReach
	if cfg.SCP.Enabled {
		r = append(r, policy.TierReach{Origin: policy.OriginAIN})
	}
	if cfg.SIP.Enabled {
		r = append(r, policy.TierReach{Origin: policy.OriginSIP, DefaultRoute: cfg.SIP.ScreeningURI != ""})
	}
	return r
}

// forceExitOnSignal makes the next SIGINT/SIGTERM end the process at once.
func forceExitOnSignal(log *slog.Logger) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		sig := <-ch
		log.Error("second signal: exiting without finishing the shutdown", "signal", sig.String())
		os.Exit(1)
	}()
}

func (s *server) fail(err error) {
	select {
	case s.failc <- err:
	default:
	}
}

// shutdown stops the tiers (new work refused, in-flight finished), then the
// admin listener, flushes and closes the decision log and closes the store,
// all within the shutdown timeout.
func (s *server) shutdown() error {
	s.ready.Store(false)
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	var errs []error
	for i := len(s.tiers) - 1; i >= 0; i-- {
		t := s.tiers[i]
		if err := t.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop %s tier: %w", t.Name(), err))
		} else {
			s.log.Info("tier stopped", "tier", t.Name())
		}
	}
	if s.admin != nil {
		if err := s.admin.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop admin listener: %w", err))
			s.admin.Close()
		}
	}
	if s.dlog != nil {
		// Close writes everything queued; bound it by the same deadline.
		done := make(chan error, 1)
		go func() { done <- s.dlog.Close() }()
		select {
		case err := <-done:
			if err != nil {
				errs = append(errs, err)
			}
			st := s.dlog.Stats()
			s.log.Info("decision log closed", "path", s.dlog.Path(), "written", st.Written, "dropped", st.Dropped, "stored", st.Stored)
		case <-ctx.Done():
			errs = append(errs, fmt.Errorf("decision log %s: not flushed within the shutdown timeout %s", s.dlog.Path(), s.cfg.ShutdownTimeout))
		}
	}
	if err := s.st.Close(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		s.log.Info("stopped cleanly", "store", s.st.Path())
	}
	return errors.Join(errs...)
}

// summary logs what runs where.
func (s *server) summary(storePath string) {
	sz, err := storeSizes(s.st)
	if err != nil {
		s.log.Warn("cannot count the store", "error", err)
	}
	attrs := []any{
		"store", storePath, "providers", sz.Providers, "subscribers", sz.Subscribers,
		"list_entries", sz.ListEntries, "enterprises", sz.Enterprises,
	}
	if s.dlog != nil {
		attrs = append(attrs, "decision_log", s.dlog.Path())
	} else {
		attrs = append(attrs, "decision_log", "off")
	}
	attrs = append(attrs, "gomaxprocs", runtime.GOMAXPROCS(0))
	if a := s.AdminAddr(); a != "" {
		attrs = append(attrs, "metrics", "http://"+a+"/metrics", "health", "http://"+a+"/healthz")
	}
	names := make([]string, 0, len(s.tiers))
	for _, t := range s.tiers {
		names = append(names, t.Name())
		if d, ok := t.(describer); ok {
			s.log.Info("tier serving", "tier", t.Name(), "listen", d.Describe())
		}
	}
	if len(names) == 0 {
		names = append(names, "none")
	}
	attrs = append(attrs, "tiers", strings.Join(names, ","))
	if sz.Subscribers == 0 {
		s.log.Warn("the store has no subscribers: every call is allowed. Seed the demo with 'callgate demo' or create tenants (callgate provider create ...)")
	}
	s.log.Info("callgate serving", attrs...)
}

// storeSizes reports the store's tenants and list rows. store.Counts is
// O(1) from the in-memory index, so neither a scrape nor start-up walks the
// subscribers, however many there are.
func storeSizes(st *store.Store) (metrics.StoreSizes, error) {
	c := st.Counts()
	sz := metrics.StoreSizes{
		Providers:   c.Providers,
		Subscribers: c.Subscribers,
		Enterprises: c.Enterprises,
		ListEntries: c.ListEntries(),
	}
	if fb, err := st.FileSize(); err == nil {
		sz.FileBytes = fb
	}
	return sz, nil
}

// adminMux serves /metrics, /healthz, /readyz and, with admin.debug, the
// endpoint that runs read-only operator commands for the CLI while the
// daemon holds the store (forward.go).
func (s *server) adminMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.m.Handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if !s.ready.Load() {
			http.Error(w, "not ready: starting or shutting down", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	if s.cfg.Admin.Debug {
		mux.HandleFunc("POST /debug/cli", s.serveCLI)
		mux.HandleFunc("GET /debug/capture", s.serveCapture)
		// Go's profiler, for finding where a loaded server spends its time
		// (go tool pprof http://127.0.0.1:9464/debug/pprof/profile?seconds=20).
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	return mux
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
