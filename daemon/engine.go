package daemon

import (
	"fmt"

	"callgate/internal/config"
	"callgate/policy"
	"callgate/store"
)

// NewEngine is the decision engine as the configuration sets it up, over
// view. serve and `callgate decide` both build their engine here, so a
// one-off decision is the decision the tiers would get. extra are options
// of signals the daemon opened before the engine (the fraud monitor's
// classifier).
func NewEngine(cfg *config.Config, view store.View, extra ...policy.Option) (*policy.Engine, error) {
	fb, err := policy.ParseFallback(cfg.Engine.NoRouteFallback)
	if err != nil {
		return nil, fmt.Errorf("engine.no_route_fallback: %w", err)
	}
	sig, err := engineSignalOptions(cfg)
	if err != nil {
		return nil, err
	}
	opts := append([]policy.Option{policy.WithDefaultAnnouncement(cfg.Engine.DefaultAnnouncement), policy.WithNoRouteFallback(fb)}, sig...)
	opts = append(opts, extra...)
	return policy.New(view, opts...), nil
}

// DefaultRoute says whether a call asked as origin may use a way to the
// B2BUA of the tier's own (sip.screening_uri) when its egress route has
// none, as the running tier would; `callgate decide` sets Call.DefaultRoute
// from it.
func DefaultRoute(cfg *config.Config, origin policy.Origin) bool {
	return origin == policy.OriginSIP && cfg.SIP.ScreeningURI != ""
}

// tierReach says, per enabled tier, whether it has its own way to the
// B2BUA (the route audit's input, policy.Engine.WatchRoutes).
func tierReach(cfg *config.Config) []policy.TierReach {
	var r []policy.TierReach
	if cfg.SCP.Enabled {
		r = append(r, policy.TierReach{Origin: policy.OriginAIN})
	}
	if cfg.SIP.Enabled {
		r = append(r, policy.TierReach{Origin: policy.OriginSIP, DefaultRoute: DefaultRoute(cfg, policy.OriginSIP)})
	}
	return r
}
