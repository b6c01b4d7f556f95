package admin

import (
	"net/http"
	"strconv"
	"time"

	"callgate/e164"
	"callgate/store"
)

// ---- providers ----

type providerView struct {
	ID                 uint32           `json:"id"`
	Name               string           `json:"name"`
	Defaults           store.Settings   `json:"defaults"`
	DefaultPermissions store.Permission `json:"default_permissions"`
	Route              string           `json:"route,omitempty"`
	Allocations        []store.Range    `json:"allocations,omitempty"`
	Created            time.Time        `json:"created"`
	Revision           int64            `json:"revision"`
}

func viewProvider(p store.Provider) providerView {
	return providerView{p.ID, p.Name, p.Defaults, p.DefaultPermissions, p.Route, p.Allocations, p.Created, p.Revision}
}

type providerCreate struct {
	Name               string            `json:"name"`
	Defaults           store.Settings    `json:"defaults"`
	DefaultPermissions *store.Permission `json:"default_permissions,omitempty"`
	Route              string            `json:"route,omitempty"`
}

type providerPatch struct {
	Defaults           *store.SettingsUpdate `json:"defaults,omitempty"`
	DefaultPermissions *store.Permission     `json:"default_permissions,omitempty"`
	Route              *string               `json:"route,omitempty"`
}

func listProviders(c *call) (int, any, error) {
	out := page[providerView]{Items: []providerView{}}
	for _, p := range c.t.st.VisibleProviders(c.actor) {
		out.Items = append(out.Items, viewProvider(p))
	}
	return http.StatusOK, out, nil
}

func createProvider(c *call) (int, any, error) {
	var req providerCreate
	if err := c.decode(&req); err != nil {
		return 0, nil, err
	}
	p, err := c.t.st.CreateProvider(c.actor, store.ProviderSpec{Name: req.Name, Defaults: req.Defaults,
		DefaultPermissions: req.DefaultPermissions, Route: req.Route})
	if err != nil {
		return 0, nil, fieldErr("name", err)
	}
	return c.providerAnswer(http.StatusCreated, p.Name)
}

func (c *call) providerAnswer(status int, name string) (int, any, error) {
	p, err := c.t.st.GetProvider(c.actor, name)
	if err != nil {
		return 0, nil, fieldErr("provider", err)
	}
	c.setETag(p.Revision)
	return status, viewProvider(p), nil
}

func getProvider(c *call) (int, any, error) {
	return c.providerAnswer(http.StatusOK, c.r.PathValue("provider"))
}

// patchProvider changes defaults, default permissions and route, each in
// its own store write; the first is made at the If-Match revision, the
// later ones at the revision it produced.
func patchProvider(c *call) (int, any, error) {
	rev, err := c.ifMatch()
	if err != nil {
		return 0, nil, err
	}
	var req providerPatch
	if err := c.decode(&req); err != nil {
		return 0, nil, err
	}
	name := c.r.PathValue("provider")
	var p store.Provider
	if req.Defaults != nil {
		if p, err = c.t.st.SetProviderDefaults(c.at(rev), name, *req.Defaults); err != nil {
			return 0, nil, fieldErr("defaults", err)
		}
		rev = nil
	}
	if req.DefaultPermissions != nil {
		if p, err = c.t.st.SetProviderDefaultPermissions(c.at(rev), name, *req.DefaultPermissions); err != nil {
			return 0, nil, fieldErr("default_permissions", err)
		}
		rev = nil
	}
	if req.Route != nil {
		if p, err = c.t.st.SetProviderRoute(c.at(rev), name, *req.Route); err != nil {
			return 0, nil, fieldErr("route", err)
		}
	}
	_ = p
	return c.providerAnswer(http.StatusOK, name)
}

func deleteProvider(c *call) (int, any, error) {
	rev, err := c.optIfMatch()
	if err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, fieldErr("provider", c.t.st.DeleteProvider(c.at(rev), c.r.PathValue("provider")))
}

type allocationRequest struct {
	Ranges []string `json:"ranges"` // "+FIRST..+LAST" or one number
}

func allocate(c *call) (int, any, error) {
	var req allocationRequest
	if err := c.decode(&req); err != nil {
		return 0, nil, err
	}
	var rs []store.Range
	for i, s := range req.Ranges {
		r, err := store.ParseRange(s)
		if err != nil {
			return 0, nil, fieldErr("ranges["+strconv.Itoa(i)+"]", err)
		}
		rs = append(rs, r)
	}
	if len(rs) == 0 {
		return 0, nil, badRequest("ranges", "no ranges given")
	}
	if err := c.t.st.AllocateNumbers(c.actor, c.r.PathValue("provider"), rs...); err != nil {
		return 0, nil, fieldErr("ranges", err)
	}
	return c.providerAnswer(http.StatusCreated, c.r.PathValue("provider"))
}

func release(c *call) (int, any, error) {
	r, err := store.ParseRange(c.r.PathValue("range"))
	if err != nil {
		return 0, nil, fieldErr("range", err)
	}
	return http.StatusNoContent, nil, fieldErr("range", c.t.st.ReleaseNumbers(c.actor, c.r.PathValue("provider"), r))
}

// ---- subscribers ----

type subscriberView struct {
	ID          uint32           `json:"id"`
	Name        string           `json:"name"`
	Provider    string           `json:"provider"`
	Numbers     []e164.Number    `json:"numbers"`
	Settings    store.Settings   `json:"settings"`
	Permissions store.Permission `json:"permissions"`
	// SetByProvider: the settings its provider or the platform owner set,
	// which apply whatever the permissions (store/setby.go).
	SetByProvider store.Permission `json:"set_by_provider"`
	HasPIN        bool             `json:"has_pin"`
	Created       time.Time        `json:"created"`
	Revision      int64            `json:"revision"`
}

func viewSubscriber(s store.Subscriber) subscriberView {
	return subscriberView{s.ID, s.Name, s.Provider, s.Numbers, s.Settings, s.Permissions, s.SetByProvider, s.HasPIN, s.Created, s.Revision}
}

type subscriberCreate struct {
	Name        string            `json:"name"`
	Provider    string            `json:"provider"`
	Numbers     []string          `json:"numbers"`
	Settings    store.Settings    `json:"settings"`
	Permissions *store.Permission `json:"permissions,omitempty"`
}

type subscriberPatch struct {
	Settings    *store.SettingsUpdate `json:"settings,omitempty"`
	Permissions *store.Permission     `json:"permissions,omitempty"`
}

func listSubscribers(c *call) (int, any, error) {
	lim, err := c.limit(100, 1000)
	if err != nil {
		return 0, nil, err
	}
	cur, err := c.cursor()
	if err != nil {
		return 0, nil, err
	}
	var after uint64
	if cur != "" {
		if after, err = strconv.ParseUint(cur, 10, 32); err != nil {
			return 0, nil, badRequest("cursor", "cursor: not one this API returned")
		}
	}
	if q := c.r.URL.Query().Get("q"); q != "" {
		return searchSubscribers(c, q, uint32(after), lim)
	}
	// One more than asked for tells whether another page follows.
	subs, err := c.t.st.ListSubscribers(c.actor, c.r.URL.Query().Get("provider"), uint32(after), lim+1)
	if err != nil {
		return 0, nil, fieldErr("provider", err)
	}
	out := page[subscriberView]{Items: []subscriberView{}}
	for i, s := range subs {
		if i == lim {
			out.NextCursor = encodeCursor(strconv.FormatUint(uint64(subs[i-1].ID), 10))
			break
		}
		out.Items = append(out.Items, viewSubscriber(s))
	}
	return http.StatusOK, out, nil
}

// searchSubscribers is a page of the subscribers matching q (part of a
// name, digits of a number, or a whole number: store.SubscriberQuery).
func searchSubscribers(c *call, q string, after uint32, lim int) (int, any, error) {
	subs, more, err := c.t.st.SearchSubscribers(c.actor, store.SubscriberQuery{Provider: c.r.URL.Query().Get("provider"),
		Text: q, After: after, Limit: lim})
	if err != nil {
		return 0, nil, fieldErr("provider", err)
	}
	out := page[subscriberView]{Items: []subscriberView{}}
	for _, s := range subs {
		out.Items = append(out.Items, viewSubscriber(s))
	}
	if more {
		out.NextCursor = encodeCursor(strconv.FormatUint(uint64(subs[len(subs)-1].ID), 10))
	}
	return http.StatusOK, out, nil
}

// subscriberCount is the answer of GET /api/v1/subscribers:count.
type subscriberCount struct {
	Count int `json:"count"`
}

// countSubscribers counts the subscribers the caller may see (of one
// provider with ?provider=), without listing them: O(1) in the store.
func countSubscribers(c *call) (int, any, error) {
	n, err := c.t.st.CountSubscribers(c.actor, c.r.URL.Query().Get("provider"))
	if err != nil {
		return 0, nil, fieldErr("provider", err)
	}
	return http.StatusOK, subscriberCount{Count: n}, nil
}

func createSubscriber(c *call) (int, any, error) {
	var req subscriberCreate
	if err := c.decode(&req); err != nil {
		return 0, nil, err
	}
	if req.Provider == "" && c.actor.Role == store.RoleProvider {
		req.Provider = c.actor.Name
	}
	s, err := c.t.st.CreateSubscriber(c.actor, store.SubscriberSpec{Name: req.Name, Provider: req.Provider,
		Numbers: req.Numbers, Settings: req.Settings, Permissions: req.Permissions})
	if err != nil {
		return 0, nil, fieldErr("numbers", err)
	}
	return c.subscriberAnswer(http.StatusCreated, s.Name)
}

func (c *call) subscriberAnswer(status int, ref string) (int, any, error) {
	s, err := c.t.st.GetSubscriber(c.actor, ref)
	if err != nil {
		return 0, nil, fieldErr("subscriber", err)
	}
	c.setETag(s.Revision)
	return status, viewSubscriber(s), nil
}

func getSubscriber(c *call) (int, any, error) {
	return c.subscriberAnswer(http.StatusOK, c.r.PathValue("subscriber"))
}

func patchSubscriber(c *call) (int, any, error) {
	rev, err := c.ifMatch()
	if err != nil {
		return 0, nil, err
	}
	var req subscriberPatch
	if err := c.decode(&req); err != nil {
		return 0, nil, err
	}
	ref := c.r.PathValue("subscriber")
	if req.Permissions != nil {
		if _, err := c.t.st.SetPermissions(c.at(rev), ref, *req.Permissions); err != nil {
			return 0, nil, fieldErr("permissions", err)
		}
		rev = nil
	}
	if req.Settings != nil {
		if _, err := c.t.st.SetTreatments(c.at(rev), ref, *req.Settings); err != nil {
			return 0, nil, fieldErr("settings", err)
		}
	}
	return c.subscriberAnswer(http.StatusOK, ref)
}

func deleteSubscriber(c *call) (int, any, error) {
	rev, err := c.optIfMatch()
	if err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, fieldErr("subscriber", c.t.st.DeleteSubscriber(c.at(rev), c.r.PathValue("subscriber")))
}

type numbersRequest struct {
	Numbers []string `json:"numbers"`
}

func assignNumbers(c *call) (int, any, error) {
	var req numbersRequest
	if err := c.decode(&req); err != nil {
		return 0, nil, err
	}
	s, err := c.t.st.AssignNumbers(c.actor, c.r.PathValue("subscriber"), req.Numbers...)
	if err != nil {
		return 0, nil, fieldErr("numbers", err)
	}
	return c.subscriberAnswer(http.StatusOK, s.Name)
}

func unassignNumber(c *call) (int, any, error) {
	_, err := c.t.st.UnassignNumbers(c.actor, c.r.PathValue("subscriber"), c.r.PathValue("number"))
	return http.StatusNoContent, nil, fieldErr("number", err)
}

type pinRequest struct {
	PIN string `json:"pin"`
}

func setPIN(c *call) (int, any, error) {
	var req pinRequest
	if err := c.decode(&req); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, fieldErr("pin", c.t.st.SetPIN(c.actor, c.r.PathValue("subscriber"), req.PIN))
}

func clearPIN(c *call) (int, any, error) {
	return http.StatusNoContent, nil, fieldErr("subscriber", c.t.st.ClearPIN(c.actor, c.r.PathValue("subscriber")))
}

// ---- enterprises ----

type enterpriseView struct {
	ID       uint32        `json:"id"`
	Name     string        `json:"name"`
	Provider string        `json:"provider,omitempty"`
	Numbers  []e164.Number `json:"numbers"`
	Created  time.Time     `json:"created"`
	Revision int64         `json:"revision"`
}

func (c *call) viewEnterprise(e store.Enterprise) enterpriseView {
	name := e.Provider
	if name == "" && e.ProviderID != 0 {
		for _, p := range c.t.st.VisibleProviders(c.actor) {
			if p.ID == e.ProviderID {
				name = p.Name
			}
		}
	}
	return enterpriseView{e.ID, e.Name, name, e.Numbers, e.Created, e.Revision}
}

type enterpriseCreate struct {
	Name     string   `json:"name"`
	Provider string   `json:"provider,omitempty"`
	Numbers  []string `json:"numbers"`
}

func listEnterprises(c *call) (int, any, error) {
	out := page[enterpriseView]{Items: []enterpriseView{}}
	for _, e := range c.t.st.VisibleEnterprises(c.actor) {
		out.Items = append(out.Items, c.viewEnterprise(e))
	}
	return http.StatusOK, out, nil
}

func createEnterprise(c *call) (int, any, error) {
	var req enterpriseCreate
	if err := c.decode(&req); err != nil {
		return 0, nil, err
	}
	if req.Provider == "" && c.actor.Role == store.RoleProvider {
		req.Provider = c.actor.Name
	}
	e, err := c.t.st.CreateEnterprise(c.actor, store.EnterpriseSpec{Name: req.Name, Provider: req.Provider, Numbers: req.Numbers})
	if err != nil {
		return 0, nil, fieldErr("name", err)
	}
	return c.enterpriseAnswer(http.StatusCreated, e.Name)
}

func (c *call) enterpriseAnswer(status int, name string) (int, any, error) {
	e, err := c.t.st.GetEnterprise(c.actor, name)
	if err != nil {
		return 0, nil, fieldErr("enterprise", err)
	}
	c.setETag(e.Revision)
	return status, c.viewEnterprise(e), nil
}

func getEnterprise(c *call) (int, any, error) {
	return c.enterpriseAnswer(http.StatusOK, c.r.PathValue("enterprise"))
}

func deleteEnterprise(c *call) (int, any, error) {
	rev, err := c.optIfMatch()
	if err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, fieldErr("enterprise", c.t.st.DeleteEnterprise(c.at(rev), c.r.PathValue("enterprise")))
}
