package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"callgate/internal/config"
	"callgate/internal/metrics"
	"callgate/policy"
	"callgate/policy/decisionlog"
	"callgate/store"
	"callgate/store/etcdkv"
)

// Options are what the program running the daemon (cmd/callgate) lends it.
type Options struct {
	// Logger is the process log; nil logs to standard error as the log:
	// section says.
	Logger *slog.Logger
	// Stopping, when set, is called once as shutdown begins (the CLI makes
	// a second signal exit at once from then on).
	Stopping func()
}

// Daemon is one running callgate: the store, the decision log, the
// metrics, the admin listener and the tiers. Build it with New, then Run
// (or Start, Wait and Shutdown).
type Daemon struct {
	cfg  config.Config
	opts Options
	log  *slog.Logger

	st       *store.Store
	etcd     *etcdkv.Backend // store.backend etcd; nil with bbolt
	stFile   os.FileInfo     // the store file (or etcd replica) as opened, to recognise it by identity
	hugeHeap int64           // bytes of heap collapsed into huge pages at start-up (procs.go)
	dlog     *decisionlog.Log
	decider  policy.Decider // the engine, logged and counted
	fraud    *fraudPart     // the toll-fraud monitor (fraud.go); nil when off
	guard    *policy.Guard  // decider, guarded: how tiers ask
	m        *metrics.Metrics
	admin    *http.Server
	adminLn  net.Listener
	tiers    []Tier
	sig      *Signals // call keys, reputation (signals.go)

	ready     atomic.Bool
	stopWatch context.CancelFunc // ends the route audit
	failc     chan error
	undo      []func() // start-up steps to undo, in order
	stopOnce  sync.Once
}

// New prepares a daemon for cfg; nothing is opened until Start.
func New(cfg config.Config, opts Options) *Daemon {
	log := opts.Logger
	if log == nil {
		log = NewLogger(os.Stderr, cfg.Log)
	}
	return &Daemon{cfg: cfg, opts: opts, log: log, failc: make(chan error, 4)}
}

// Run starts the daemon, serves until ctx ends (a signal) or a tier fails,
// and shuts down. It returns nil after a clean stop on ctx; the failure
// otherwise.
func (d *Daemon) Run(ctx context.Context) error {
	if err := d.Start(ctx); err != nil {
		return err
	}
	err := d.Wait(ctx)
	if serr := d.Shutdown(); serr != nil {
		err = errors.Join(err, serr)
	}
	return err
}

// Start opens, in order, the store, the decision log, the metrics, the
// admin listener and the tiers of the tier list, and logs the start-up
// summary. On failure everything it opened is closed again (in reverse)
// and the error names the step.
func (d *Daemon) Start(ctx context.Context) (err error) {
	defer func() {
		if err != nil {
			for i := len(d.undo) - 1; i >= 0; i-- {
				d.undo[i]()
			}
			d.undo = nil
		}
	}()
	cfg := &d.cfg
	// The one check New cannot make: two sockets of different tiers on one
	// port (the second bind would fail with a less helpful message).
	if err := errors.Join(checkListeners(cfg)...); err != nil {
		return err
	}
	addWriterProc(cfg, d.log)
	setGCPercent(cfg, d.log)

	storePath, err := d.openStore()
	if err != nil {
		return err
	}
	// The CLI names the store by path on the API's socket; the daemon
	// answers only for the file it holds (storeident.go).
	if d.stFile, err = os.Stat(storePath); err != nil {
		return fmt.Errorf("store %s: %w", storePath, err)
	}

	if err := d.openFraud(); err != nil {
		return err
	}
	eng, err := NewEngine(cfg, d.st, d.engineOptions()...)
	if err != nil {
		return err
	}
	var decider policy.Decider = eng
	if cfg.DecisionLog.Enabled {
		dl := &cfg.DecisionLog
		slice := dl.WriterSlice
		if slice == 0 {
			slice = -1 // the configuration's 0 is no pauses, the package's the default
		}
		d.dlog, err = decisionlog.Open(cfg.DecisionLogPath(), decisionlog.Options{
			QueueSize: dl.QueueSize, BatchSize: dl.BatchSize,
			FlushInterval: dl.FlushInterval, MaxRecords: dl.MaxRecords,
			MaxAge: dl.MaxAge, NoSync: dl.NoSync, WriterNice: dl.WriterNice, WriterIdle: dl.WriterIdle,
			WriterSlice: slice, Logger: d.log,
		})
		if err != nil {
			return err
		}
		d.undo = append(d.undo, func() { d.dlog.Close() })
		decider = decisionlog.Wrap(decider, d.dlog)
	}
	decider = d.wrapFraud(decider)
	if d.sig, err = openSignals(cfg, d.st, d); err != nil {
		return err
	}
	d.undo = append(d.undo, func() { d.sig.Close() })
	decider = d.sig.wrap(decider)

	d.m = metrics.New()
	d.sig.watch(d.m)
	if err := d.startFraud(); err != nil {
		return err
	}
	d.decider = d.m.Wrap(decider)
	d.guard = policy.NewGuard(d.decider, d.log)
	if d.dlog != nil {
		d.m.WatchDecisionLog(d.dlog.Stats)
	}
	// Counting is O(1) (store.Counts), so every scrape may be fresh; the
	// second only guards against scrape storms.
	d.m.WatchStore(func() (metrics.StoreSizes, error) { return storeSizes(d.st), nil }, time.Second)
	d.watchStoreHealth(d.m)
	d.m.GaugeFunc("ready", "1 while every tier is serving, 0 while starting or shutting down.", nil, func() float64 {
		if d.ready.Load() {
			return 1
		}
		return 0
	})

	if cfg.Admin.Listen != "" {
		d.adminLn, err = net.Listen("tcp", cfg.Admin.Listen)
		if err != nil {
			return fmt.Errorf("admin listener (admin.listen): %w", err)
		}
		d.admin = &http.Server{Handler: d.adminMux(), ReadHeaderTimeout: 5 * time.Second}
		go func() {
			if err := d.admin.Serve(d.adminLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
				d.fail(fmt.Errorf("admin listener: %w", err))
			}
		}()
		d.undo = append(d.undo, func() { d.admin.Close() })
	}

	deps := &Deps{
		View: d.st, Decider: d.decider, Guard: d.guard, Registerer: d.m.Registry(),
		DecisionLog: d.dlog, Logger: d.log, Fail: d.fail, Keys: d.sig.keys, Signals: d.sig, Store: d.st,
		Fraud:       d.Fraud(),
		ServesStore: d.servesStore,
	}
	for _, spec := range tierList {
		if !spec.enabled(cfg) {
			continue
		}
		t, err := buildTier(spec, cfg, deps)
		if err != nil {
			return err
		}
		if err := t.Start(ctx); err != nil {
			// Stop undoes whatever a failed Start left open.
			d.stopTier(t)
			return fmt.Errorf("start %s tier: %w", t.Name(), err)
		}
		d.tiers = append(d.tiers, t)
		d.undo = append(d.undo, func() { d.stopTier(t) })
	}

	d.hugeHeap = hugeHeap(cfg, d.log)
	d.ready.Store(true)
	d.summary(storePath)
	// Calls to screen with no way to the B2BUA get the engine's no-route
	// fallback: say which providers now, and whenever routes change.
	wctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	d.stopWatch = stop
	go eng.WatchRoutes(wctx, d.st, tierReach(cfg), 10*time.Second, d.log)
	return nil
}

// stopTier drains and stops t within the shutdown timeout, for a start-up
// that failed after t started.
func (d *Daemon) stopTier(t Tier) {
	ctx, cancel := context.WithTimeout(context.Background(), d.cfg.ShutdownTimeout)
	defer cancel()
	_ = t.Drain(ctx)
	_ = t.Stop(ctx)
}

// Wait blocks until ctx ends (nil) or a tier or the admin listener fails
// (the failure).
func (d *Daemon) Wait(ctx context.Context) error {
	select {
	case <-ctx.Done():
		d.log.Info("shutting down: signal received (a second signal exits at once)", "timeout", d.cfg.ShutdownTimeout.String())
		return nil
	case err := <-d.failc:
		d.log.Error("shutting down: a tier failed", "error", err)
		return err
	}
}

func (d *Daemon) fail(err error) {
	select {
	case d.failc <- err:
	default:
	}
}

// Shutdown takes the daemon down in the reverse order of Start, within
// shutdown_timeout: /readyz turns 503; every tier is drained (it stops
// taking new work, tells its peers, answers what it received), last
// started first; then every tier is stopped in the same order; then the
// admin listener closes, the decision log writes everything queued and
// the store closes. Draining all tiers before stopping any lets the peers
// of every tier move their traffic at once.
func (d *Daemon) Shutdown() error {
	var errs []error
	d.stopOnce.Do(func() {
		if d.opts.Stopping != nil {
			d.opts.Stopping()
		}
		d.ready.Store(false)
		if d.stopWatch != nil {
			d.stopWatch()
		}
		ctx, cancel := context.WithTimeout(context.Background(), d.cfg.ShutdownTimeout)
		defer cancel()
		for i := len(d.tiers) - 1; i >= 0; i-- {
			if err := d.tiers[i].Drain(ctx); err != nil {
				errs = append(errs, fmt.Errorf("drain %s tier: %w", d.tiers[i].Name(), err))
			}
		}
		for i := len(d.tiers) - 1; i >= 0; i-- {
			t := d.tiers[i]
			if err := t.Stop(ctx); err != nil {
				errs = append(errs, fmt.Errorf("stop %s tier: %w", t.Name(), err))
			} else {
				d.log.Info("tier stopped", "tier", t.Name())
			}
		}
		if d.admin != nil {
			if err := d.admin.Shutdown(ctx); err != nil {
				errs = append(errs, fmt.Errorf("stop admin listener: %w", err))
				d.admin.Close()
			}
		}
		if err := d.sig.Close(); err != nil {
			errs = append(errs, fmt.Errorf("call keys: %w", err))
		}
		errs = append(errs, d.closeFraud(ctx))
		if d.dlog != nil {
			errs = append(errs, d.closeDecisionLog(ctx))
		}
		if err := d.st.Close(); err != nil {
			errs = append(errs, err)
		}
		// The store does not own the etcd backend (openStore made it):
		// close it here, or its sync loop would go on writing the replica,
		// hold the replica's file lock and keep the session lease alive.
		if d.etcd != nil {
			if err := d.etcd.Close(); err != nil {
				errs = append(errs, fmt.Errorf("store: close %s: %w", d.etcd, err))
			}
		}
		d.undo = nil
		if errors.Join(errs...) == nil {
			d.log.Info("stopped cleanly", "store", d.st.Path())
		}
	})
	return errors.Join(errs...)
}

// closeDecisionLog writes everything queued, bounded by ctx.
func (d *Daemon) closeDecisionLog(ctx context.Context) error {
	done := make(chan error, 1)
	go func() { done <- d.dlog.Close() }()
	select {
	case err := <-done:
		st := d.dlog.Stats()
		d.log.Info("decision log closed", "path", d.dlog.Path(), "written", st.Written, "dropped", st.Dropped, "stored", st.Stored)
		return err
	case <-ctx.Done():
		return fmt.Errorf("decision log %s: not flushed within the shutdown timeout %s", d.dlog.Path(), d.cfg.ShutdownTimeout)
	}
}

// AdminAddr is the bound admin listener address ("" when disabled).
func (d *Daemon) AdminAddr() string {
	if d.adminLn == nil {
		return ""
	}
	return d.adminLn.Addr().String()
}

// Tiers are the running tiers, in start order.
func (d *Daemon) Tiers() []Tier { return d.tiers }

// Store is the daemon's open store.
func (d *Daemon) Store() *store.Store { return d.st }
