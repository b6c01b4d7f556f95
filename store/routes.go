package store

import (
	"fmt"
	"slices"
	"strings"

	"callgate/e164"
)

// RouteSpec describes a platform egress route as an operator types it.
type RouteSpec struct {
	Name          string
	RoutingNumber string // AIN Forward_Call destination, any accepted number form; may be empty if SIPURI is set
	SIPURI        string // sip:/sips: URI of the B2BUA; may be empty if RoutingNumber is set
}

// SetRoute creates or replaces a platform egress route. Providers using it
// (or the default, if it is the default) see the change at once.
func (s *Store) SetRoute(actor Actor, spec RouteSpec) (Route, error) {
	if err := actor.operatorOnly("change routes"); err != nil {
		return Route{}, fmt.Errorf("set route: %w", err)
	}
	if err := validName("route", spec.Name); err != nil {
		return Route{}, fmt.Errorf("set route: %w", err)
	}
	r := Route{Name: spec.Name, SIPURI: strings.TrimSpace(spec.SIPURI)}
	if rn := strings.TrimSpace(spec.RoutingNumber); rn != "" {
		n, err := e164.Parse(rn)
		if err != nil {
			return Route{}, fmt.Errorf("set route %s: routing number: %w", spec.Name, err)
		}
		r.RoutingNumber = n
	}
	if r.SIPURI != "" {
		if err := checkSIPURI(r.SIPURI); err != nil {
			return Route{}, fmt.Errorf("set route %s: %w", spec.Name, err)
		}
	}
	if r.RoutingNumber == 0 && r.SIPURI == "" {
		return Route{}, fmt.Errorf("set route %s: %w (needs a routing number, a SIP URI or both)", spec.Name, ErrInvalid)
	}
	err := s.write(func(t *txn) error {
		if err := t.putJSON(routeKey(r.Name), &r); err != nil {
			return err
		}
		var before any
		if old, ok := s.ix.routes[r.Name]; ok {
			before = old
		}
		return t.audit(actor, "route.set", "route/"+r.Name, auditScope{}, before, &r)
	})
	if err != nil {
		return Route{}, fmt.Errorf("set route %s: %w", spec.Name, err)
	}
	return r, nil
}

// DeleteRoute removes a route; refused while it is the default or a
// provider's route.
func (s *Store) DeleteRoute(actor Actor, name string) error {
	if err := actor.operatorOnly("change routes"); err != nil {
		return fmt.Errorf("delete route: %w", err)
	}
	err := s.write(func(t *txn) error {
		if _, ok := s.ix.routes[name]; !ok {
			return fmt.Errorf("route %q: %w", name, ErrNotFound)
		}
		// Naming a route compares its key, so a provider pointed at it
		// meanwhile conflicts with this delete.
		t.cmp(routeKey(name), s.ix.routeMod[name])
		t.cmp(keyDefaultRoute, s.ix.defaultRouteMod)
		if s.ix.defaultRoute == name {
			return fmt.Errorf("route %s: %w (it is the default route)", name, ErrInUse)
		}
		for _, p := range s.ix.provs {
			if p != nil && p.rec.Route == name {
				return fmt.Errorf("route %s: %w (provider %s uses it)", name, ErrInUse, p.rec.Name)
			}
		}
		t.del(routeKey(name))
		return t.audit(actor, "route.delete", "route/"+name, auditScope{}, s.ix.routes[name], nil)
	})
	if err != nil {
		return fmt.Errorf("delete route: %w", err)
	}
	return nil
}

// SetDefaultRoute makes a route the platform default ("" = none).
func (s *Store) SetDefaultRoute(actor Actor, name string) error {
	if err := actor.operatorOnly("change routes"); err != nil {
		return fmt.Errorf("set default route: %w", err)
	}
	err := s.write(func(t *txn) error {
		before := map[string]string{"default_route": s.ix.defaultRoute}
		after := map[string]string{"default_route": name}
		if name == "" {
			if s.ix.defaultRouteMod != 0 {
				t.del(keyDefaultRoute)
			}
			return t.audit(actor, "route.default", "default-route", auditScope{}, before, after)
		}
		if _, ok := s.ix.routes[name]; !ok {
			return fmt.Errorf("route %q: %w", name, ErrNotFound)
		}
		if err := s.ix.useRoute(t, name); err != nil {
			return err
		}
		t.put(keyDefaultRoute, []byte(name))
		return t.audit(actor, "route.default", "default-route", auditScope{}, before, after)
	})
	if err != nil {
		return fmt.Errorf("set default route: %w", err)
	}
	return nil
}

// Routes returns all routes sorted by name, and the default route's name.
func (s *Store) Routes() (routes []Route, defaultRoute string) {
	s.ix.mu.RLock()
	defer s.ix.mu.RUnlock()
	for _, r := range s.ix.routes {
		routes = append(routes, r)
	}
	slices.SortFunc(routes, func(a, b Route) int { return strings.Compare(a.Name, b.Name) })
	return routes, s.ix.defaultRoute
}

// useRoute makes t depend on route name existing, and rewrites the route
// unchanged so its mod revision moves: a DeleteRoute planned before this
// write (which compares that revision) then conflicts instead of deleting
// a route that has just gained a user.
func (ix *index) useRoute(t *txn, name string) error {
	t.cmp(routeKey(name), ix.routeMod[name])
	r := ix.routes[name]
	return t.putJSON(routeKey(name), &r)
}
