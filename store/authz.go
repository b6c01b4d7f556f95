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
// A write outside the actor's scope fails with ErrForbidden (ErrLocked for
// a subscriber's locked setting). A read outside it fails with
// ErrNotFound, so a tenant cannot learn whether another tenant's object
// exists.

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
