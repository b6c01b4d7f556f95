package demo

import (
	"fmt"

	"callgate/store"
)

// Platform is what Seed writes through, as one actor named for the audit
// log: the CLI's backend (a running daemon's API, or the store file, as
// cli:USER via cli like the CLI's other writes), or a store opened in this
// process (StoreAs). Each call is one ordinary platform-owner write or
// read, so the demo needs no access the operator commands lack.
type Platform interface {
	Routes() ([]store.Route, string, error)
	SetRoute(spec store.RouteSpec) (store.Route, error)
	SetDefaultRoute(name string) error
	GetProvider(name string) (store.Provider, error) // with its allocations
	CreateProvider(spec store.ProviderSpec) (store.Provider, error)
	AllocateNumbers(provider string, ranges []store.Range) error
	AddToList(owner string, l store.List, numbers []string, note string) (int, error)
	GetSubscriber(ref string) (store.Subscriber, error)
	CreateSubscriber(spec store.SubscriberSpec) (store.Subscriber, error)
	SetTreatments(subscriber string, u store.SettingsUpdate) error
	SetPIN(subscriber, pin string) error
}

// StoreAs is s as a Platform written as by, the platform owner with a
// principal and a path (e.g. store.Operator.By("cli:alice", "cli")): the
// audit log says who wrote the demo data, never "(unnamed) via library".
func StoreAs(s *store.Store, by store.Actor) (Platform, error) {
	if by.Role != store.RoleOperator || by.Principal == "" || by.Via == "" {
		return nil, fmt.Errorf("demo: seeding as %q via %q: want the platform owner with a principal and a path, "+
			"e.g. store.Operator.By(\"cli:alice\", \"cli\"), so the audit log says who wrote the demo data", by.Principal, by.Via)
	}
	return storePlatform{s, by}, nil
}

type storePlatform struct {
	s  *store.Store
	by store.Actor
}

func (p storePlatform) Routes() ([]store.Route, string, error) {
	r, def := p.s.Routes()
	return r, def, nil
}
func (p storePlatform) SetRoute(spec store.RouteSpec) (store.Route, error) {
	return p.s.SetRoute(p.by, spec)
}
func (p storePlatform) SetDefaultRoute(name string) error { return p.s.SetDefaultRoute(p.by, name) }
func (p storePlatform) GetProvider(name string) (store.Provider, error) {
	return p.s.GetProvider(p.by, name)
}
func (p storePlatform) CreateProvider(spec store.ProviderSpec) (store.Provider, error) {
	return p.s.CreateProvider(p.by, spec)
}
func (p storePlatform) AllocateNumbers(provider string, ranges []store.Range) error {
	return p.s.AllocateNumbers(p.by, provider, ranges...)
}
func (p storePlatform) AddToList(owner string, l store.List, numbers []string, note string) (int, error) {
	return p.s.AddToList(p.by, owner, l, numbers, note)
}
func (p storePlatform) GetSubscriber(ref string) (store.Subscriber, error) {
	return p.s.GetSubscriber(p.by, ref)
}
func (p storePlatform) CreateSubscriber(spec store.SubscriberSpec) (store.Subscriber, error) {
	return p.s.CreateSubscriber(p.by, spec)
}
func (p storePlatform) SetTreatments(subscriber string, u store.SettingsUpdate) error {
	_, err := p.s.SetTreatments(p.by, subscriber, u)
	return err
}
func (p storePlatform) SetPIN(subscriber, pin string) error { return p.s.SetPIN(p.by, subscriber, pin) }
