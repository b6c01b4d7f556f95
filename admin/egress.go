package admin

import (
	"net/http"

	"callgate/store"
)

// Egress routes are platform settings: every role may list them (a
// provider sees which route it uses); only the operator changes them (the
// store refuses the others).

type routeRequest struct {
	RoutingNumber string `json:"routing_number,omitempty"`
	SIPURI        string `json:"sip_uri,omitempty"`
}

// routeView is a route as the API shows it (openapi.json's Route): the
// store's own encoding of a Route is its record's, with Go's field names.
type routeView struct {
	Name          string `json:"name"`
	RoutingNumber string `json:"routing_number,omitempty"`
	SIPURI        string `json:"sip_uri,omitempty"`
}

func viewRoute(r store.Route) routeView {
	v := routeView{Name: r.Name, SIPURI: r.SIPURI}
	if r.RoutingNumber != 0 {
		v.RoutingNumber = r.RoutingNumber.String()
	}
	return v
}

type routesView struct {
	Items   []routeView `json:"items"`
	Default string      `json:"default,omitempty"`
}

func listRoutes(c *call) (int, any, error) {
	if c.actor.Role == store.RoleSubscriber {
		return 0, nil, &apiError{status: http.StatusForbidden, err: store.ErrForbidden}
	}
	rs, def := c.t.st.Routes()
	out := routesView{Items: make([]routeView, 0, len(rs)), Default: def}
	for _, r := range rs {
		out.Items = append(out.Items, viewRoute(r))
	}
	return http.StatusOK, out, nil
}

func putRoute(c *call) (int, any, error) {
	var req routeRequest
	if err := c.decode(&req); err != nil {
		return 0, nil, err
	}
	r, err := c.t.st.SetRoute(c.actor, store.RouteSpec{Name: c.r.PathValue("route"), RoutingNumber: req.RoutingNumber, SIPURI: req.SIPURI})
	if err != nil {
		return 0, nil, fieldErr("route", err)
	}
	return http.StatusOK, viewRoute(r), nil
}

func deleteRoute(c *call) (int, any, error) {
	return http.StatusNoContent, nil, fieldErr("route", c.t.st.DeleteRoute(c.actor, c.r.PathValue("route")))
}

type defaultRouteRequest struct {
	Name string `json:"name"` // "" = none
}

func putDefaultRoute(c *call) (int, any, error) {
	var req defaultRouteRequest
	if err := c.decode(&req); err != nil {
		return 0, nil, err
	}
	if err := c.t.st.SetDefaultRoute(c.actor, req.Name); err != nil {
		return 0, nil, fieldErr("name", err)
	}
	return http.StatusNoContent, nil, nil
}
