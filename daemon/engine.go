package daemon

import (
	"callgate/internal/config"
	"callgate/policy"
	"callgate/store"
)

// NewEngine is the decision engine as the configuration sets it up, over
// view. serve and `callgate decide` both build their engine here, so a
// one-off decision is the decision the tiers would get.
func NewEngine(cfg *config.Config, view store.View) *policy.Engine {
	return policy.New(view, policy.WithDefaultAnnouncement(cfg.Engine.DefaultAnnouncement))
}
