package daemon

import (
	"context"

	"callgate/admin"
	"callgate/internal/config"
	"callgate/policy"
)

// apiSpec is the management API (package admin), from the api: section.
// It has its own listener, apart from the admin listener (admin.go): the
// API needs a token for every request, while /metrics, /healthz and
// /readyz stay unauthenticated for monitoring.
var apiSpec = tierSpec{
	name:    "api",
	section: "api",
	enabled: func(c *config.Config) bool { return c.API.Enabled },
	listeners: func(c *config.Config) []listener {
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
		decide := func(ctx context.Context, call policy.Call) policy.Decision {
			call.DefaultRoute = DefaultRoute(c, call.Origin)
			d.Signals.Fill(ctx, &call, WhatIf{})
			return eng.Decide(ctx, call)
		}
		opts := []admin.Option{admin.WithLogger(d.Logger), admin.WithFail(d.Fail), admin.WithDecide(decide)}
		if d.DecisionLog != nil {
			opts = append(opts, admin.WithDecisionLog(d.DecisionLog))
		}
		if d.Fraud != nil {
			opts = append(opts, admin.WithFraud(d.Fraud))
		}
		t, err := admin.New(admin.Config{Listen: c.API.Listen, TLSCert: c.API.TLSCert, TLSKey: c.API.TLSKey}, d.Store, opts...)
		if err != nil {
			return nil, err
		}
		return t, nil
	},
}
