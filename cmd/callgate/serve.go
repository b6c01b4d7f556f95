package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"callgate/daemon"
	"callgate/internal/config"
)

func (e *env) serveCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "serve [--config FILE] [--data DIR]",
		Short: "Run the daemon: the SIP redirect server, the AIN SCP and the B2BUA, metrics, health, operator commands",
		Long: `Runs the daemon: the SIP redirect server, the AIN SCP and the SIP B2BUA (all on by
default, on loopback: SIP on 127.0.0.1:5060 UDP and TCP, the SCP as an M3UA SG on TCP
127.0.0.1:2905, the B2BUA that screens with media on 127.0.0.1:5070 UDP and TCP) over one
decision engine and one store, with Prometheus metrics at /metrics
and health at /healthz and /readyz on the admin listener (127.0.0.1:9464). Without --config
the store is DATA/callgate.db and the decision log DATA/decisions.db.

While serve runs it holds those files, and serves the management API on a unix socket
next to the store (api.socket; mode 0600, only its user may connect): every other operator
command (provider, subscriber, enterprise, list, pin, treatment, route, import, export,
decide, log search, audit) goes through it, so changes take effect on the next call,
without a restart. The audit log names who made each change (cli:USER).

SIGTERM or Ctrl-C shuts down gracefully: /readyz turns 503, every tier stops taking new
work and answers what it received, the decision log is flushed and the store closed,
within shutdown_timeout; a second signal exits at once. SIGHUP is logged and ignored: there
is no configuration reload (store changes apply at once; restart for a changed configuration).`,
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

// serve runs the daemon until ctx is done (a signal) or a tier fails.
func (e *env) serve(ctx context.Context, cfg config.Config) error {
	log := daemon.NewLogger(e.stderr, cfg.Log)
	opts := daemon.Options{Logger: log}
	if e.signalStop != nil {
		opts.Stopping = func() { forceExitOnSignal(log) }
		defer ignoreHangup(log)()
	}
	d := daemon.New(cfg, opts)
	if err := d.Start(ctx); err != nil {
		return err
	}
	if e.serveHook != nil {
		e.serveHook(d)
	}
	err := d.Wait(ctx)
	if serr := d.Shutdown(); serr != nil {
		err = errors.Join(err, serr)
	}
	return err
}

// ignoreHangup keeps SIGHUP from ending the daemon until the returned
// function is called. Go's default for it is to exit at once, without a
// drain: in-flight queries lost, the decision log's queue unwritten. Many
// daemons reload on it, so an operator's "systemctl reload" (ExecReload=
// kill -HUP) or a closed terminal would otherwise take the node down; it
// is logged instead, since callgate has nothing to reload (store changes
// apply at once; a changed configuration needs a restart).
func ignoreHangup(log *slog.Logger) (stop func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-ch:
				log.Warn("SIGHUP ignored: callgate does not reload its configuration (changes to the store apply at once); restart it to apply a changed configuration (SIGTERM drains first)")
			case <-done:
				return
			}
		}
	}()
	return func() { signal.Stop(ch); close(done) }
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
