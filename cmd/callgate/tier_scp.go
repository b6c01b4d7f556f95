package main

import (
	"fmt"

	"callgate/e164"
	"callgate/scp"
)

// newSCPTier builds the AIN SCP from the scp: section. The safe answer
// "forward" sends undecidable calls to the platform's default egress route,
// as the live store has it at each safe answer (operators change routes
// while serve runs).
func newSCPTier(d *tierDeps) (Tier, error) {
	if !d.Config.SCP.Enabled {
		return nil, nil
	}
	r, _ := d.Store.EgressRoute(0)
	cfg, err := scp.FromConfig(&d.Config.SCP, r.RoutingNumber, d.Logger)
	if err != nil {
		return nil, fmt.Errorf("scp tier (config section scp:): %w", err)
	}
	route := func() e164.Number { r, _ := d.Store.EgressRoute(0); return r.RoutingNumber }
	return scp.New(cfg, d.Decider, scp.WithRegisterer(d.Metrics.Registry()), scp.WithDecisionLog(d.DecisionLog),
		scp.WithSafeForwardRoute(route))
}
