package store

import (
	"errors"
	"fmt"
	"slices"
)

// ErrStale: the object changed since the revision the caller read
// (Actor.IfRevision); read it again and redo the change on the new
// revision. The admin API answers 412 Precondition Failed.
var ErrStale = errors.New("changed since the revision given")

// Where each write and scoped read is authorised (the one authorisation
// point; admin/ only maps a principal to an Actor):
//
//   - the operator (platform owner) may do everything;
//   - a provider may read and change itself (defaults, default
//     permissions, its Blocked list), its subscribers (create, numbers
//     within its allocations, permissions, treatments, lists, PIN,
//     delete) and its enterprises; never other providers, allocations,
//     routes or STIR policy;
//   - a subscriber may read itself and its lists and change its lists,
//     PIN and the treatments its permissions open.
//
// An object outside what the actor may read (another provider's, another
// subscriber's, a subscriber's own provider's) is not found, for writes
// as for reads, in the words used for a name nothing has: the *As lookups
// below resolve names that way, so a tenant cannot learn whether another
// tenant's object exists (OWASP API Security Top 10 2023, API1). A write
// to an object the actor may read but not change in that way fails with
// ErrForbidden (a provider's allocations, route or STIR policy; a
// subscriber's numbers and permissions), ErrLocked for a subscriber's
// locked setting. A number refused to a provider's subscriber is
// ErrInvalid for everyone; only the platform owner's error names whose
// allocation and subscriber hold it (numberholder.go).

// operatorOnly refuses every actor but the operator.
func (a Actor) operatorOnly(what string) error {
	if a.Role == RoleOperator {
		return nil
	}
	return fmt.Errorf("%s: %w (only the platform owner may %s)", a, ErrForbidden, what)
}

// checkRevision refuses the write when the actor read the object at
// another revision (IfRevision 0 and no AtAny list: no precondition).
func (a Actor) checkRevision(what string, mod int64) error {
	if a.IfRevision != 0 && a.IfRevision != mod {
		return fmt.Errorf("%s is at revision %d, not %d: %w", what, mod, a.IfRevision, ErrStale)
	}
	if a.ifRevisionIn != nil && !slices.Contains(*a.ifRevisionIn, mod) {
		return fmt.Errorf("%s is at revision %d, none of %v: %w", what, mod, *a.ifRevisionIn, ErrStale)
	}
	return nil
}

// mayRead says whether a may read the owner (kind, id); out of scope reads
// are reported as not found. Caller holds ix.mu.
func (ix *index) mayRead(a Actor, kind byte, id uint32, what string) error {
	if ix.authorize(a, kind, id, 0) != nil {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return nil
}

// mayProvider says whether a may act on provider p as its manager: the
// operator, or p itself.
func (ix *index) mayProvider(a Actor, p *provState) error {
	if a.Role == RoleOperator || a.Role == RoleProvider && ix.provByName[a.Name] == p.rec.ID {
		return nil
	}
	return fmt.Errorf("%s: %w (outside its own tenants)", a, ErrForbidden)
}

// mayManageSubscriber says whether a may change what only a subscriber's
// manager may change (numbers, permissions, deletion): the operator or the
// subscriber's provider, never the subscriber itself.
func (ix *index) mayManageSubscriber(a Actor, st *subState) error {
	if a.Role == RoleSubscriber {
		return fmt.Errorf("%s: %w (a subscriber may not change its numbers or permissions)", a, ErrForbidden)
	}
	return ix.authorize(a, kindSubscriber, st.rec.ID, 0)
}

// mayEnterprise says whether a may act on enterprise e: the operator or
// the provider it belongs to.
func (ix *index) mayEnterprise(a Actor, e *entState) error {
	if a.Role == RoleOperator {
		return nil
	}
	if a.Role == RoleProvider && e.rec.ProviderID != 0 && ix.provByName[a.Name] == e.rec.ProviderID {
		return nil
	}
	return fmt.Errorf("%s: %w (outside its own tenants)", a, ErrForbidden)
}

// MaySee reports whether actor may read what concerns subscriber (an ID
// from a SubscriberView or a decision record; 0: no subscriber, which only
// the operator may see): the decision log's records are filtered with it.
func (s *Store) MaySee(actor Actor, subscriber uint32) bool {
	if actor.Role == RoleOperator {
		return true
	}
	s.ix.mu.RLock()
	defer s.ix.mu.RUnlock()
	return subscriber != 0 && s.ix.authorize(actor, kindSubscriber, subscriber, 0) == nil
}

// hidden answers an owner (kind, id) a may not read at all (the operator
// reads everything; a provider itself and its subscribers; a subscriber
// itself) with notFound, the answer for a name nothing has. No actor at
// all is a caller's bug, and says so. Caller holds ix.mu or the writer
// lock.
func (ix *index) hidden(a Actor, kind byte, id uint32, notFound func() error) error {
	err := ix.authorize(a, kind, id, 0)
	if err == nil || a.Role == 0 {
		return err
	}
	return notFound()
}

// providerByNameAs is providerByName for actor a: a provider a may not
// read is answered as one that does not exist.
func (ix *index) providerByNameAs(a Actor, name string) (*provState, error) {
	p, err := ix.providerByName(name)
	if err == nil {
		err = ix.hidden(a, kindProvider, p.rec.ID, func() error { return errNoProvider(name) })
	}
	if err != nil {
		return nil, err
	}
	return p, nil
}

// findSubscriberAs is findSubscriber for actor a: a subscriber a may not
// read is answered as one that does not exist, by name or by number.
func (ix *index) findSubscriberAs(a Actor, ref string) (*subState, error) {
	st, err := ix.findSubscriber(ref)
	if err == nil {
		err = ix.hidden(a, kindSubscriber, st.rec.ID, func() error { return errNoSubscriber(ref) })
	}
	if err != nil {
		return nil, err
	}
	return st, nil
}

// resolveOwnerAs is resolveOwner for actor a: an owner a may not read is
// answered as one that does not exist.
func (ix *index) resolveOwnerAs(a Actor, ref string) (ownerRef, error) {
	o, err := ix.resolveOwner(ref)
	if err == nil {
		err = ix.hidden(a, o.kind, o.id, func() error { return noOwner(ref) })
	}
	if err != nil {
		return ownerRef{}, err
	}
	return o, nil
}

// enterpriseByNameAs returns the enterprise a may act on (the operator,
// or the provider it belongs to); any other is not found.
func (ix *index) enterpriseByNameAs(a Actor, name string) (*entState, error) {
	id, ok := ix.entByName[name]
	if !ok || ix.mayEnterprise(a, ix.ents[id]) != nil {
		return nil, fmt.Errorf("enterprise %q: %w", name, ErrNotFound)
	}
	return ix.ents[id], nil
}
