package admin

import (
	"fmt"
	"net/url"
	"strconv"

	"callgate/store"
)

// Deleting a subscriber, a provider or a route in the web UI: a link
// opens a confirmation page (GET: it changes nothing) saying what goes
// with it; its form (POST, with the session's CSRF token) deletes through
// the same store calls as the API's DELETE (DeleteSubscriber,
// DeleteProvider, DeleteRoute) with the session's Actor, so the store
// authorises (a provider's subscribers only, the platform owner's
// providers and routes; another tenant's is not found) and audits
// (subscriber.delete, provider.delete, route.delete, via web), and over
// etcd the delete is one transaction as the API's. The form carries the
// revision the page showed, as If-Match does: a subscriber or provider
// changed meanwhile is not deleted (412) but shown again as it now is.
// A refusal (a provider or route still in use) shows the page again with
// the store's reason.

// deleteData is a confirmation page.
type deleteData struct {
	Kind     string   // subscriber, provider, route
	Name     string   // what is deleted
	Action   string   // the form's address
	Revision int64    // the revision the page shows (0: none)
	Goes     []string // what goes with it
	Blocked  []string // what the store will refuse it for, as far as the page can tell
	Cancel   string   // the page it was opened from
}

// showDelete renders a confirmation page, with err (if not nil) the
// store's refusal of its form.
func (c *uiCall) showDelete(d deleteData, err error) {
	var ref *formRefusal
	if err != nil {
		ref = c.refused("delete", "", err)
	}
	c.show(ref, "delete.html", uiPage{Title: "Delete " + d.Kind + " " + d.Name + "?", Data: d})
}

// noSubscriberDeletes refuses a subscriber a delete page: subscribers are
// deleted by their provider (the store refuses it too).
func noSubscriberDeletes(c *uiCall, what string) error {
	if c.actor.Role == store.RoleSubscriber {
		return fmt.Errorf("%s: %w (%s)", c.actor, store.ErrForbidden, what)
	}
	return nil
}

// ---- a subscriber ----

func uiDeleteSubscriberForm(c *uiCall) error {
	return c.confirmDeleteSubscriber(nil)
}

// confirmDeleteSubscriber renders the subscriber's confirmation page, as
// it now is.
func (c *uiCall) confirmDeleteSubscriber(refusal error) error {
	if err := noSubscriberDeletes(c, "a subscriber is deleted by its provider"); err != nil {
		return err
	}
	sub, err := c.t.st.GetSubscriber(c.actor, c.r.PathValue("sub"))
	if err != nil {
		return err
	}
	d := deleteData{Kind: "subscriber", Name: sub.Name, Action: "/ui/s/" + url.PathEscape(sub.Name) + "/delete",
		Revision: sub.Revision, Cancel: "/ui/s/" + url.PathEscape(sub.Name)}
	for _, n := range sub.Numbers {
		d.Goes = append(d.Goes, "number "+n.String()+": no longer screened, free to assign again from "+sub.Provider+"'s allocations")
	}
	for _, l := range []struct {
		list store.List
		name string
	}{{store.ListBlocked, "Blocked"}, {store.ListVIP, "VIP"}} {
		pg, err := c.t.st.ListEntries(c.actor, sub.Name, l.list, 0, 1)
		if err != nil {
			return err
		}
		d.Goes = append(d.Goes, fmt.Sprintf("its %s list: %d number(s)", l.name, pg.Total))
	}
	if sub.HasPIN {
		d.Goes = append(d.Goes, "its PIN, and any PIN lock")
	}
	c.showDelete(d, refusal)
	return nil
}

// uiDeleteSubscriber deletes the subscriber as DELETE
// /api/v1/subscribers/{subscriber} does.
func uiDeleteSubscriber(c *uiCall) error {
	if err := noSubscriberDeletes(c, "a subscriber is deleted by its provider"); err != nil {
		return err
	}
	name := c.r.PathValue("sub")
	if err := c.t.st.DeleteSubscriber(c.actor.At(formRevision(c.r)), name); err != nil {
		if refusable(err) {
			return c.confirmDeleteSubscriber(err)
		}
		return err
	}
	return c.back("/ui/subscribers", "Subscriber "+name+" deleted.")
}

// ---- a provider ----

func uiDeleteProviderForm(c *uiCall) error {
	return c.confirmDeleteProvider(nil)
}

// confirmDeleteProvider renders the provider's confirmation page, as it
// now is. Only the platform owner deletes providers.
func (c *uiCall) confirmDeleteProvider(refusal error) error {
	if c.actor.Role != store.RoleOperator {
		return fmt.Errorf("%s: %w (providers are deleted by the platform owner)", c.actor, store.ErrForbidden)
	}
	p, err := c.t.st.GetProvider(c.actor, c.r.PathValue("prov"))
	if err != nil {
		return err
	}
	d := deleteData{Kind: "provider", Name: p.Name, Action: "/ui/p/" + url.PathEscape(p.Name) + "/delete",
		Revision: p.Revision, Cancel: "/ui/p/" + url.PathEscape(p.Name)}
	for _, a := range p.Allocations {
		d.Goes = append(d.Goes, "allocation "+a.String()+": free to allocate to another provider")
	}
	d.Goes = append(d.Goes, "its Blocked and VIP lists, its defaults and default permissions")
	n, err := c.t.st.CountSubscribers(c.actor, p.Name)
	if err != nil {
		return err
	}
	if n > 0 {
		d.Blocked = append(d.Blocked, strconv.Itoa(n)+" subscriber(s) still belong to it: delete them first")
	}
	c.showDelete(d, refusal)
	return nil
}

// uiDeleteProvider deletes the provider as DELETE
// /api/v1/providers/{provider} does; the store refuses it while
// subscribers or enterprises belong to it (409).
func uiDeleteProvider(c *uiCall) error {
	name := c.r.PathValue("prov")
	if err := c.t.st.DeleteProvider(c.actor.At(formRevision(c.r)), name); err != nil {
		if refusable(err) {
			return c.confirmDeleteProvider(err)
		}
		return err
	}
	return c.back("/ui/providers", "Provider "+name+" deleted.")
}

// ---- a route ----

func uiDeleteRouteForm(c *uiCall) error {
	return c.confirmDeleteRoute(nil)
}

// confirmDeleteRoute renders the route's confirmation page. Only the
// platform owner deletes routes.
func (c *uiCall) confirmDeleteRoute(refusal error) error {
	if c.actor.Role != store.RoleOperator {
		return fmt.Errorf("%s: %w (routes are the platform owner's)", c.actor, store.ErrForbidden)
	}
	name := c.r.PathValue("route")
	rs, def := c.t.st.Routes()
	var r *store.Route
	for i := range rs {
		if rs[i].Name == name {
			r = &rs[i]
		}
	}
	if r == nil {
		return fmt.Errorf("route %q: %w", name, store.ErrNotFound)
	}
	d := deleteData{Kind: "route", Name: r.Name, Action: "/ui/routes/" + url.PathEscape(r.Name) + "/delete", Cancel: "/ui/routes"}
	if r.RoutingNumber != 0 {
		d.Goes = append(d.Goes, "routing number "+r.RoutingNumber.String())
	}
	if r.SIPURI != "" {
		d.Goes = append(d.Goes, "SIP URI "+r.SIPURI)
	}
	if def == r.Name {
		d.Blocked = append(d.Blocked, "it is the platform's default route: make another the default first")
	}
	for _, p := range c.t.st.VisibleProviders(c.actor) {
		if p.Route == r.Name {
			d.Blocked = append(d.Blocked, "provider "+p.Name+" uses it: point it at another route first")
		}
	}
	c.showDelete(d, refusal)
	return nil
}

// uiDeleteRoute deletes the route as DELETE /api/v1/routes/{route} does;
// the store refuses it while it is the default or a provider's (409).
func uiDeleteRoute(c *uiCall) error {
	name := c.r.PathValue("route")
	if err := c.t.st.DeleteRoute(c.actor, name); err != nil {
		if refusable(err) {
			return c.confirmDeleteRoute(err)
		}
		return err
	}
	return c.back("/ui/routes", "Route "+name+" deleted.")
}
