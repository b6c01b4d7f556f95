package policy

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"callgate/store"
)

// The route audit finds, before any call does, the providers whose calls to
// screen would get the no-route fallback (see Engine.route): the daemon runs
// WatchRoutes, which warns at start-up and again whenever the set of such
// providers changes (operators change routes while serve runs).

// RouteSource is what the audit reads: every provider, and the egress route
// each resolves to (its own, else the platform default). *store.Store
// implements it.
type RouteSource interface {
	EgressRoute(provider uint32) (store.Route, bool)
	ListProviders() []store.Provider
}

// TierReach describes one asking tier to the audit: the Origin it sets on
// its calls and whether it has its own way to the B2BUA (it sets
// Call.DefaultRoute: the SIP tier with sip.screening_uri).
type TierReach struct {
	Origin       Origin
	DefaultRoute bool
}

// RouteGap is one provider whose calls to screen, asked by one tier, have
// no way to the B2BUA.
type RouteGap struct {
	Origin   Origin
	Provider string
	Route    string // the route it resolves to; "" when it has none
}

func (g RouteGap) String() string {
	if g.Route == "" {
		return fmt.Sprintf("%s: provider %s has no egress route", g.Origin, g.Provider)
	}
	half := "routing number"
	if g.Origin == OriginSIP {
		half = "SIP URI"
	}
	return fmt.Sprintf("%s: provider %s uses route %s, which has no %s", g.Origin, g.Provider, g.Route, half)
}

// AuditRoutes lists the route gaps for the given tiers, by tier then
// provider name. A tier with a default of its own has none.
func AuditRoutes(src RouteSource, tiers []TierReach) []RouteGap {
	provs := src.ListProviders()
	var gaps []RouteGap
	for _, t := range tiers {
		if t.DefaultRoute {
			continue
		}
		for i := range provs {
			r, ok := src.EgressRoute(provs[i].ID)
			if ok && routeUsable(&r, t.Origin) {
				continue
			}
			g := RouteGap{Origin: t.Origin, Provider: provs[i].Name}
			if ok {
				g.Route = r.Name
			}
			gaps = append(gaps, g)
		}
	}
	slices.SortStableFunc(gaps, func(a, b RouteGap) int {
		if a.Origin != b.Origin {
			return int(a.Origin) - int(b.Origin)
		}
		return strings.Compare(a.Provider, b.Provider)
	})
	return gaps
}

// maxGapsLogged bounds the gaps named in one log line (the count says how
// many there are).
const maxGapsLogged = 10

// WatchRoutes audits the routes now and then every interval until ctx ends.
// It logs a warning naming the gaps (and the fallback they get) when there
// are any at start-up and whenever they change, and an info line when they
// are gone; an unchanged audit logs nothing, so the log carries at most one
// line per interval and, in a steady state, none.
func (e *Engine) WatchRoutes(ctx context.Context, src RouteSource, tiers []TierReach, every time.Duration, log *slog.Logger) {
	if every <= 0 {
		every = 10 * time.Second
	}
	var last []RouteGap
	first := true
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		gaps := AuditRoutes(src, tiers)
		if first || !slices.Equal(gaps, last) {
			e.logGaps(log, gaps, first)
			last, first = gaps, false
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (e *Engine) logGaps(log *slog.Logger, gaps []RouteGap, startup bool) {
	if log == nil {
		return
	}
	if len(gaps) == 0 {
		if !startup {
			log.Info("routes: every provider's screened calls have a way to the B2BUA again")
		}
		return
	}
	names := make([]string, 0, min(len(gaps), maxGapsLogged))
	for _, g := range gaps[:min(len(gaps), maxGapsLogged)] {
		names = append(names, g.String())
	}
	log.Warn("routes: calls to screen for these providers have no way to the B2BUA and get the no-route fallback "+
		"(fix: give the route a routing number for AIN and a SIP URI for SIP, or set sip.screening_uri)",
		"no_route_fallback", e.noRoute.String(), "gaps", len(gaps), "first", strings.Join(names, "; "))
}
