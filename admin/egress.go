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

type routesView struct {
	Items   []store.Route `json:"items"`
	Default string        `json:"default,omitempty"`
}

func listRoutes(c *call) (int, any, error) {
	if c.actor.Role == store.RoleSubscriber {
		return 0, nil, &apiError{status: http.StatusForbidden, err: store.ErrForbidden}
	}
	rs, def := c.t.st.Routes()
	if rs == nil {
		rs = []store.Route{}
	}
	return http.StatusOK, routesView{rs, def}, nil
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
	return http.StatusOK, r, nil
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
