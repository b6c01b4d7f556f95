package policy

import (
	"callgate/e164"
	"callgate/store"
)

// fakeView is an in-memory store.View for the engine's tests and
// benchmarks. Map lookups with comparable keys do not allocate, so the
// benchmarks measure the engine, not the fake.
type fakeView struct {
	subs         map[e164.Number]store.SubscriberView
	vip          map[listKey]struct{}
	blocked      map[listKey]struct{}
	provBlocked  map[listKey]struct{}
	provVIP      map[listKey]struct{}
	routes       map[uint32]store.Route
	defaultRoute *store.Route
}

type listKey struct {
	owner  uint32
	number e164.Number
}

func newFakeView() *fakeView {
	return &fakeView{
		subs:        map[e164.Number]store.SubscriberView{},
		vip:         map[listKey]struct{}{},
		blocked:     map[listKey]struct{}{},
		provBlocked: map[listKey]struct{}{},
		provVIP:     map[listKey]struct{}{},
		routes:      map[uint32]store.Route{},
	}
}

func (v *fakeView) Subscriber(called e164.Number) (store.SubscriberView, bool) {
	s, ok := v.subs[called]
	return s, ok
}

func (v *fakeView) InVIP(sub uint32, caller e164.Number) bool {
	_, ok := v.vip[listKey{sub, caller}]
	return ok
}

func (v *fakeView) InBlocked(sub uint32, caller e164.Number) bool {
	_, ok := v.blocked[listKey{sub, caller}]
	return ok
}

func (v *fakeView) ProviderBlocked(prov uint32, caller e164.Number) bool {
	_, ok := v.provBlocked[listKey{prov, caller}]
	return ok
}

func (v *fakeView) ProviderVIP(prov uint32, caller e164.Number) bool {
	_, ok := v.provVIP[listKey{prov, caller}]
	return ok
}

func (v *fakeView) EgressRoute(prov uint32) (store.Route, bool) {
	if r, ok := v.routes[prov]; ok {
		return r, true
	}
	if v.defaultRoute != nil {
		return *v.defaultRoute, true
	}
	return store.Route{}, false
}
