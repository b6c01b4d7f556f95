package main

import (
	"fmt"

	"callgate/scp"
)

// newSCPTier builds the AIN SCP from the scp: section. The safe answer
// "forward" sends undecidable calls to the platform's default egress route,
// read once at start-up (changing routes needs a restart of serve anyway,
// since the store file is held by it).
func newSCPTier(d *tierDeps) (Tier, error) {
	if !d.Config.SCP.Enabled {
		return nil, nil
	}
	r, _ := d.Store.EgressRoute(0)
	cfg, err := scp.FromConfig(&d.Config.SCP, r.RoutingNumber, d.Logger)
	if err != nil {
		return nil, fmt.Errorf("scp tier (config section scp:): %w", err)
	}
	return scp.New(cfg, d.Decider, scp.WithRegisterer(d.Metrics.Registry()), scp.WithDecisionLog(d.DecisionLog))
}
