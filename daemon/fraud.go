package daemon

import (
	"context"
	"fmt"
	"net/http"
	"sync"

	"callgate/fraud"
	"callgate/internal/config"
	"callgate/policy"
)

// The toll-fraud monitor (package fraud, the fraud: section) in the
// daemon:
//
//   - openFraud, right after the store: the monitor over the store (its
//     state kept in the store's fraud keys), before the engine, because
//     the engine asks its rate table what a dialled number is
//     (engineOptions: policy.WithClassifier);
//   - wrapFraud: the decision hook (fraud.Wrap) around the engine, outside
//     the decision log so the log records Call.FraudLocked: both tiers'
//     originating calls (AIN Info_Analyzed/Info_Collected, SIP INVITEs
//     from fraud.sip_outbound_sources) go through it;
//   - startFraud, once the metrics exist: callgate_fraud_* in /metrics,
//     the recompute loop (which also reads back, every
//     fraud.sync_interval, the locks and rate table other nodes stored:
//     with store.backend etcd every node shares the monitor's state, its
//     share of the spend kept under cluster.name) and the CDR file tails;
//   - mountFraud: POST /fraud/cdrs on the admin listener;
//   - closeFraud, at shutdown before the store closes: the loop and tails
//     stop (a last checkpoint) and the webhook delivers what is queued.
//
// The operator commands (callgate fraud ...) reach the monitor through
// Files.Fraud.
type fraudPart struct {
	m    *fraud.Monitor
	hook *fraud.Webhook
	stop context.CancelFunc
	wg   sync.WaitGroup
}

// openFraud builds the monitor when fraud.enabled.
func (d *Daemon) openFraud() error {
	fc := &d.cfg.Fraud
	if !fc.Enabled {
		return nil
	}
	mc, err := fc.MonitorConfig()
	if err != nil {
		return err
	}
	if d.cfg.Store.Backend == config.BackendEtcd {
		// Every node of the cluster shares the monitor's state: each keeps
		// its share of the spend and its audit numbering under its name
		// and reads back the others' locks every fraud.sync_interval
		// (MonitorConfig: package fraud, cluster.go).
		mc.Node = NodeName(&d.cfg)
	}
	log := d.log.With("signal", "fraud")
	opts := []fraud.Option{fraud.WithLogger(log)}
	f := &fraudPart{}
	wc, err := fc.WebhookConfig()
	if err != nil {
		return err
	}
	if wc != nil {
		if f.hook, err = fraud.NewWebhook(*wc, log); err != nil {
			return fmt.Errorf("fraud.webhook: %w", err)
		}
		opts = append(opts, fraud.WithNotifier(f.hook))
	}
	if f.m, err = fraud.New(mc, d.st, fraud.StoreState(d.st), opts...); err != nil {
		if f.hook != nil {
			_ = f.hook.Close(context.Background())
		}
		return err
	}
	d.fraud = f
	d.undo = append(d.undo, func() {
		ctx, cancel := context.WithTimeout(context.Background(), d.cfg.ShutdownTimeout)
		defer cancel()
		_ = d.closeFraud(ctx)
	})
	if t := f.m.Rates(); t == nil {
		log.Warn("fraud: no rate table imported: every call is priced at fraud.unrated_price_per_minute, so no group's spend grows. Import one: callgate fraud rates import FILE")
	} else {
		log.Info("fraud monitor on", "rates_version", t.Version, "rates_rows", t.Len(), "locked_groups", len(f.m.Locks()),
			"interval", mc.Interval.String(), "sync_interval", mc.SyncInterval.String(), "webhook", wc != nil)
	}
	return nil
}

// engineOptions are the engine's options the monitor adds.
func (d *Daemon) engineOptions() []policy.Option {
	if d.fraud == nil {
		return nil
	}
	return []policy.Option{policy.WithClassifier(d.fraud.m)}
}

// wrapFraud puts the decision hook around dec.
func (d *Daemon) wrapFraud(dec policy.Decider) policy.Decider {
	if d.fraud == nil {
		return dec
	}
	return fraud.Wrap(dec, d.fraud.m)
}

// startFraud exports the metrics and starts the recompute loop and the
// CDR file tails.
func (d *Daemon) startFraud() error {
	f := d.fraud
	if f == nil {
		return nil
	}
	if err := d.m.Registry().Register(f.m.Collector()); err != nil {
		return fmt.Errorf("fraud metrics: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	f.stop = cancel
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		f.m.Run(ctx)
	}()
	for _, path := range d.cfg.Fraud.CDRFiles {
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			_ = f.m.Tail(ctx, path, d.cfg.Fraud.CDRPoll)
		}()
	}
	return nil
}

// mountFraud serves POST /fraud/cdrs: CDR batches from a mediation
// system (package fraud's CDRHandler). Like /metrics it answers whoever
// reaches the admin listener: keep it on loopback or a management network.
func (d *Daemon) mountFraud(mux *http.ServeMux) {
	if d.fraud != nil {
		mux.Handle("POST /fraud/cdrs", d.fraud.m.CDRHandler())
	}
}

// closeFraud stops the monitor's goroutines (the loop writes a last
// checkpoint) and lets the webhook deliver what is queued, within ctx.
// Safe to call twice.
func (d *Daemon) closeFraud(ctx context.Context) error {
	f := d.fraud
	if f == nil {
		return nil
	}
	if f.stop != nil {
		f.stop()
		f.wg.Wait()
		f.stop = nil
	} else if err := f.m.Flush(); err != nil {
		return err
	}
	if f.hook != nil {
		return f.hook.Close(ctx)
	}
	return nil
}

// Fraud is the daemon's fraud monitor (nil when fraud.enabled is off).
func (d *Daemon) Fraud() *fraud.Monitor {
	if d.fraud == nil {
		return nil
	}
	return d.fraud.m
}
