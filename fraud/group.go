package fraud

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"callgate/e164"
	"callgate/store"
)

// GroupID names a group: the account whose outbound spend is watched and
// locked as one. A line belongs to
//
//   - the enterprise that enrolled it as one of its numbers (an enterprise
//     is a customer placing outbound calls, typically from a PBX: the
//     classic toll-fraud victim), else
//   - the subscriber that owns it (a subscriber is one customer account,
//     all its numbers together).
//
// A line in neither is not watched (its calls are counted as unattributed
// in the metrics). The group is not the service provider: a provider's
// spend is the sum of thousands of customers, in which one hacked PBX
// barely shows, and a provider-wide lockdown would bar every one of them.
type GroupID uint64

// Group kinds, the top 32 bits of a GroupID.
const (
	kindSubscriber = 1
	kindEnterprise = 2
)

// SubscriberGroup is the group of subscriber id; EnterpriseGroup of
// enterprise id.
func SubscriberGroup(id uint32) GroupID { return GroupID(kindSubscriber)<<32 | GroupID(id) }

// EnterpriseGroup is the group of enterprise id.
func EnterpriseGroup(id uint32) GroupID { return GroupID(kindEnterprise)<<32 | GroupID(id) }

func (g GroupID) kind() uint32 { return uint32(g >> 32) }
func (g GroupID) id() uint32   { return uint32(g) }

// Key is the group's stable name in persisted keys: "s12", "e3".
func (g GroupID) Key() string {
	switch g.kind() {
	case kindSubscriber:
		return "s" + strconv.FormatUint(uint64(g.id()), 10)
	case kindEnterprise:
		return "e" + strconv.FormatUint(uint64(g.id()), 10)
	}
	return "x" + strconv.FormatUint(uint64(g), 10)
}

// parseGroupKey is the inverse of Key.
func parseGroupKey(k string) (GroupID, error) {
	if len(k) < 2 {
		return 0, fmt.Errorf("group key %q: too short", k)
	}
	id, err := strconv.ParseUint(k[1:], 10, 32)
	if err != nil || id == 0 {
		return 0, fmt.Errorf("group key %q: bad id", k)
	}
	switch k[0] {
	case 's':
		return SubscriberGroup(uint32(id)), nil
	case 'e':
		return EnterpriseGroup(uint32(id)), nil
	}
	return 0, fmt.Errorf("group key %q: unknown kind %q", k, k[0])
}

// Directory is what the monitor reads from the tenant store: whose a line
// is (on the call path: no allocation) and names (off it). *store.Store
// implements it.
type Directory interface {
	// Subscriber returns the subscriber owning a number.
	Subscriber(n e164.Number) (store.SubscriberView, bool)
	// Enterprise returns the enterprise that enrolled a number.
	Enterprise(n e164.Number) (uint32, bool)

	SubscriberByID(id uint32) (store.Subscriber, bool)
	GetSubscriber(actor store.Actor, ref string) (store.Subscriber, error)
	GetEnterprise(actor store.Actor, name string) (store.Enterprise, error)
	ListEnterprises() []store.Enterprise
	ListProviders() []store.Provider
}

// groupOf returns the group of a calling line. Allocation-free.
func groupOf(dir Directory, line e164.Number) (GroupID, bool) {
	if line == 0 || dir == nil {
		return 0, false
	}
	if id, ok := dir.Enterprise(line); ok {
		return EnterpriseGroup(id), true
	}
	if v, ok := dir.Subscriber(line); ok {
		return SubscriberGroup(v.ID), true
	}
	return 0, false
}

// groupInfo is a group's names, for operators and the time zone.
type groupInfo struct {
	Name     string // "subscriber dave", "enterprise initech"
	Ref      string // "subscriber:dave": how an operator names it
	Provider string // its provider's name, "" for an enterprise under the platform
	Exists   bool   // false: the tenant has been deleted since
}

// describe looks a group's names up (off the call path).
func describe(dir Directory, g GroupID) groupInfo {
	provName := func(id uint32) string {
		if id == 0 {
			return ""
		}
		for _, p := range dir.ListProviders() {
			if p.ID == id {
				return p.Name
			}
		}
		return ""
	}
	switch g.kind() {
	case kindSubscriber:
		if s, ok := dir.SubscriberByID(g.id()); ok {
			return groupInfo{Name: "subscriber " + s.Name, Ref: "subscriber:" + s.Name, Provider: provName(s.ProviderID), Exists: true}
		}
		return groupInfo{Name: fmt.Sprintf("subscriber #%d (deleted)", g.id()), Ref: g.Key()}
	case kindEnterprise:
		for _, e := range dir.ListEnterprises() {
			if e.ID == g.id() {
				return groupInfo{Name: "enterprise " + e.Name, Ref: "enterprise:" + e.Name, Provider: provName(e.ProviderID), Exists: true}
			}
		}
		return groupInfo{Name: fmt.Sprintf("enterprise #%d (deleted)", g.id()), Ref: g.Key()}
	}
	return groupInfo{Name: "group " + g.Key(), Ref: g.Key()}
}

// ErrNoGroup is returned for a reference that names no group.
var ErrNoGroup = errors.New("no such group")

// resolveGroup reads an operator's reference to a group: subscriber:NAME,
// enterprise:NAME, a bare name (a subscriber, else an enterprise), a
// number (the group its line belongs to) or a key (s12, e3).
func resolveGroup(dir Directory, ref string) (GroupID, error) {
	ref = strings.TrimSpace(ref)
	if kind, name, ok := strings.Cut(ref, ":"); ok {
		switch kind {
		case "subscriber":
			s, err := dir.GetSubscriber(store.Operator, name)
			if err != nil {
				return 0, fmt.Errorf("group %q: %w", ref, err)
			}
			return SubscriberGroup(s.ID), nil
		case "enterprise":
			e, err := dir.GetEnterprise(store.Operator, name)
			if err != nil {
				return 0, fmt.Errorf("group %q: %w", ref, err)
			}
			return EnterpriseGroup(e.ID), nil
		}
		return 0, fmt.Errorf("group %q: %w (want subscriber:NAME, enterprise:NAME, a name, or a line's number)", ref, ErrNoGroup)
	}
	if n, err := e164.Parse(ref); err == nil {
		if g, ok := groupOf(dir, n); ok {
			return g, nil
		}
		return 0, fmt.Errorf("group %q: %w (the number is no enterprise's and no subscriber's)", ref, ErrNoGroup)
	}
	if s, err := dir.GetSubscriber(store.Operator, ref); err == nil {
		return SubscriberGroup(s.ID), nil
	}
	if e, err := dir.GetEnterprise(store.Operator, ref); err == nil {
		return EnterpriseGroup(e.ID), nil
	}
	if g, err := parseGroupKey(ref); err == nil {
		return g, nil // a deleted tenant's group, as status lists it
	}
	return 0, fmt.Errorf("group %q: %w (want subscriber:NAME, enterprise:NAME, a subscriber or enterprise name, or a line's number)", ref, ErrNoGroup)
}
