package daemon

import (
	"context"

	"callgate/admin"
	"callgate/internal/config"
	"callgate/keys"
	"callgate/policy"
)

// apiSpec is the management API (package admin). It always runs: on the
// owner's unix socket next to the store (api.socket, mode 0600), the way
// the CLI's operator commands reach a running daemon, acting as the
// platform owner named by the kernel's word for the connecting user; and,
// with api.enabled, on its own TCP listener too, where every request needs
// an API token or a web session. The admin listener (admin.go) stays apart:
// /metrics, /healthz and /readyz are unauthenticated for monitoring.
var apiSpec = tierSpec{
	name:    "api",
	section: "api",
	// decide runs NewEngine (engine.no_route_fallback) and shows the
	// platform's signal defaults (keys.on_missing, reputation.actions).
	reads:   []string{"engine", "keys", "reputation"},
	enabled: func(c *config.Config) bool { return true },
	listeners: func(c *config.Config) []listener {
		if !c.API.Enabled {
			return nil
		}
		return []listener{{"tcp", c.API.Listen, "api.listen"}}
	},
	build: func(c *config.Config, d *Deps) (Tier, error) {
		// POST /api/v1/decide answers as `callgate decide` does: the
		// signal stage and the engine serve runs, without the decision
		// log (and without using up a single-use call key).
		eng, err := NewEngine(c, d.View)
		if err != nil {
			return nil, err
		}
		decide := func(ctx context.Context, call *policy.Call, g admin.Given) policy.Decision {
			call.DefaultRoute = DefaultRoute(c, call.Origin)
			d.Signals.Fill(ctx, call, WhatIf{Key: g.Key, Reputation: g.Reputation})
			return eng.Decide(ctx, *call)
		}
		// The platform's signal defaults the engine runs with, shown with
		// each provider's signal policy (the CLI's `provider signals`
		// reads them here, not from its own configuration file).
		rep, miss, err := PlatformSignals(c)
		if err != nil {
			return nil, err
		}
		opts := []admin.Option{admin.WithLogger(d.Logger), admin.WithFail(d.Fail), admin.WithDecide(decide),
			admin.WithPlatformSignals(admin.PlatformSignals{Reputation: rep, KeyMissing: miss})}
		if d.DecisionLog != nil {
			opts = append(opts, admin.WithDecisionLog(d.DecisionLog))
		}
		if d.Fraud != nil {
			opts = append(opts, admin.WithFraud(d.Fraud))
		}
		if d.Keys != nil && d.Store != nil {
			// The enterprises' key registration, over TLS with the API
			// (as on the admin listener).
			opts = append(opts, admin.WithKeys(keys.Handler(d.Keys, d.Store), d.Keys))
		}
		if d.ServesStore != nil {
			opts = append(opts, admin.WithStoreCheck(d.ServesStore))
		}
		cfg := admin.Config{Socket: c.SocketPath(), TLSCert: c.API.TLSCert, TLSKey: c.API.TLSKey,
			SessionIdle: c.API.SessionIdle, LoginBurst: c.API.LoginBurst, LoginEvery: c.API.LoginEvery}
		if c.API.Enabled {
			cfg.Listen = c.API.Listen
		}
		t, err := admin.New(cfg, d.Store, opts...)
		if err != nil {
			return nil, err
		}
		return t, nil
	},
}
