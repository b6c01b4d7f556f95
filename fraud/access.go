package fraud

import (
	"fmt"

	"callgate/store"
)

// Who may see and unlock which group, for the admin API. A group belongs
// to the provider of its tenant: a subscriber group to the subscriber's
// provider, an enterprise group to the enterprise's provider (an
// enterprise under the platform, with no provider, belongs to the
// platform owner alone). The tenant lookups are the store's, made under
// the caller's Actor (GetSubscriber, GetEnterprise), so this file adds no
// rule about tenants of its own; it adds two about fraud:
//
//   - a subscriber sees no group, not even its own: the thresholds are
//     what a hijacked account would read to keep its spending just under
//     them;
//   - a group whose tenant has been deleted (status lists it as s12, e3)
//     is the platform owner's alone.

// ErrNotVisible is the answer for a group outside the caller's scope. It
// reads like a group that does not exist, so a provider cannot learn
// whether another provider's line or customer exists.
var ErrNotVisible = fmt.Errorf("%w among yours (want subscriber:NAME, enterprise:NAME, a name or a line's number of one of your own customers)", ErrNoGroup)

// ErrSubscriberRole refuses every fraud operation to a subscriber.
var ErrSubscriberRole = fmt.Errorf("%w: the fraud monitor's groups, spend and thresholds are for the platform owner and service providers (a subscriber may not read the thresholds that watch it)", store.ErrForbidden)

// MaySee reports whether actor may read and unlock group id.
func (m *Monitor) MaySee(actor store.Actor, id GroupID) bool {
	switch actor.Role {
	case store.RoleOperator:
		return true
	case store.RoleProvider:
	default:
		return false
	}
	switch id.kind() {
	case kindSubscriber:
		s, ok := m.dir.SubscriberByID(id.id())
		if !ok {
			return false
		}
		_, err := m.dir.GetSubscriber(actor, s.Name)
		return err == nil
	case kindEnterprise:
		for _, e := range m.dir.ListEnterprises() {
			if e.ID == id.id() {
				_, err := m.dir.GetEnterprise(actor, e.Name)
				return err == nil
			}
		}
	}
	return false
}

// ResolveGroupAs reads ref as ResolveGroup does, for actor: a group
// outside the actor's scope, or a reference that names none, is
// ErrNotVisible for anyone but the platform owner (who gets
// ResolveGroup's own errors); a subscriber gets ErrSubscriberRole.
func (m *Monitor) ResolveGroupAs(actor store.Actor, ref string) (GroupID, error) {
	switch actor.Role {
	case store.RoleOperator:
		return m.ResolveGroup(ref)
	case store.RoleProvider:
	default:
		return 0, ErrSubscriberRole
	}
	id, err := m.ResolveGroup(ref)
	if err != nil || !m.MaySee(actor, id) {
		return 0, fmt.Errorf("group %q: %w", ref, ErrNotVisible)
	}
	return id, nil
}

// StatusAs is Status limited to the groups actor may see (nil and
// ErrSubscriberRole for a subscriber).
func (m *Monitor) StatusAs(actor store.Actor) ([]GroupStatus, error) {
	if actor.Role != store.RoleOperator && actor.Role != store.RoleProvider {
		return nil, ErrSubscriberRole
	}
	all := m.Status()
	if actor.Role == store.RoleOperator {
		return all, nil
	}
	out := all[:0]
	for _, s := range all {
		if id, err := parseGroupKey(s.Group); err == nil && m.MaySee(actor, id) {
			out = append(out, s)
		}
	}
	return out, nil
}
