package store

import (
	"fmt"
	"slices"
	"strings"

	"callgate/e164"
)

// ProviderSpec describes a new service provider.
type ProviderSpec struct {
	Name     string
	Defaults Settings // defaults for its subscribers; zero fields fall to PlatformDefaults
	// DefaultPermissions are given to its new subscribers; nil means PermAll.
	DefaultPermissions *Permission
	Route              string // egress route name; "" = platform default route
}

// SubscriberSpec describes a new subscriber.
type SubscriberSpec struct {
	Name     string
	Provider string   // provider name
	Numbers  []string // at least one; each must lie in the provider's allocations
	Settings Settings // own settings; zero fields inherit
	// Permissions says what the subscriber may change itself; nil means the
	// provider's DefaultPermissions.
	Permissions *Permission
}

// EnterpriseSpec describes a new enterprise tenant.
type EnterpriseSpec struct {
	Name     string
	Provider string   // optional provider name; "" = directly under the platform
	Numbers  []string // calling numbers it enrols (need not be allocated: enterprises bring their own)
}

// ---- providers ----

// CreateProvider adds a service provider.
func (s *Store) CreateProvider(actor Actor, spec ProviderSpec) (Provider, error) {
	if err := actor.operatorOnly("create providers"); err != nil {
		return Provider{}, fmt.Errorf("create provider: %w", err)
	}
	if err := validName("provider", spec.Name); err != nil {
		return Provider{}, err
	}
	defs, err := spec.Defaults.validate()
	if err != nil {
		return Provider{}, fmt.Errorf("provider %s defaults: %w", spec.Name, err)
	}
	p := Provider{Name: spec.Name, Defaults: defs, DefaultPermissions: PermAll, Route: spec.Route, Created: s.opts.Now().UTC()}
	if spec.DefaultPermissions != nil {
		p.DefaultPermissions = *spec.DefaultPermissions & PermAll
	}
	err = s.write(func(t *txn) error {
		if _, ok := s.ix.provByName[p.Name]; ok {
			return fmt.Errorf("provider %s: %w", p.Name, ErrExists)
		}
		if p.Route != "" {
			if _, ok := s.ix.routes[p.Route]; !ok {
				return fmt.Errorf("provider %s: route %q: %w", p.Name, p.Route, ErrNotFound)
			}
			if err := s.ix.useRoute(t, p.Route); err != nil {
				return err
			}
		}
		p.ID = s.ix.nextID(t, bProviders)
		t.cmp(nameKey(kindProvider, p.Name), 0)
		t.put(nameKey(kindProvider, p.Name), u32(p.ID))
		if err := t.putJSON(idKey(bProviders, p.ID), &p); err != nil {
			return err
		}
		return t.audit(actor, "provider.create", "provider/"+p.Name, provScope(p), nil, &p)
	})
	if err != nil {
		return Provider{}, fmt.Errorf("create provider: %w", err)
	}
	return p, nil
}

// GetProvider returns a provider with its allocations, if actor may see
// it (the operator, or the provider itself).
func (s *Store) GetProvider(actor Actor, name string) (Provider, error) {
	s.ix.mu.RLock()
	defer s.ix.mu.RUnlock()
	p, err := s.ix.providerByNameAs(actor, name)
	if err != nil {
		return Provider{}, err
	}
	rec := p.rec
	rec.Allocations = s.ix.allocationsOf(rec.ID)
	rec.Revision = p.mod
	return rec, nil
}

// VisibleProviders returns the providers actor may see in ID order: all
// for the operator, itself for a provider, none for a subscriber.
func (s *Store) VisibleProviders(actor Actor) []Provider {
	s.ix.mu.RLock()
	defer s.ix.mu.RUnlock()
	var out []Provider
	for _, p := range s.ix.provs {
		if p != nil && s.ix.authorize(actor, kindProvider, p.rec.ID, 0) == nil {
			rec := p.rec
			rec.Revision = p.mod
			out = append(out, rec)
		}
	}
	return out
}

// ListProviders returns all providers in ID order (without allocations):
// the platform's own view (the engine's route audit); tenants' callers use
// VisibleProviders.
func (s *Store) ListProviders() []Provider {
	s.ix.mu.RLock()
	defer s.ix.mu.RUnlock()
	var out []Provider
	for _, p := range s.ix.provs {
		if p != nil {
			out = append(out, p.rec)
		}
	}
	return out
}

// SetProviderDefaults changes a provider's default settings; its
// subscribers' effective settings follow immediately.
func (s *Store) SetProviderDefaults(actor Actor, name string, u SettingsUpdate) (Provider, error) {
	return s.changeProvider(actor, "provider.defaults", false, name, func(_ *txn, p *Provider) error {
		d, err := u.apply(p.Defaults)
		p.Defaults = d
		return err
	})
}

// SetProviderDefaultPermissions changes what new subscribers of the provider
// may change themselves. Existing subscribers keep theirs (SetPermissions).
func (s *Store) SetProviderDefaultPermissions(actor Actor, name string, perm Permission) (Provider, error) {
	return s.changeProvider(actor, "provider.permissions", false, name, func(_ *txn, p *Provider) error {
		p.DefaultPermissions = perm & PermAll
		return nil
	})
}

// SetProviderRoute points a provider at an egress route ("" = the platform
// default).
func (s *Store) SetProviderRoute(actor Actor, name, route string) (Provider, error) {
	return s.changeProvider(actor, "provider.route", true, name, func(t *txn, p *Provider) error {
		if route != "" {
			if _, ok := s.ix.routes[route]; !ok {
				return fmt.Errorf("route %q: %w", route, ErrNotFound)
			}
			if err := s.ix.useRoute(t, route); err != nil {
				return err
			}
		}
		p.Route = route
		return nil
	})
}

// changeProvider applies change to a copy of the provider's record and
// stores it; the change feed then refreshes the provider's subscribers'
// effective settings. platform marks what only the operator may change
// (route, STIR policy); the rest the provider may change itself.
func (s *Store) changeProvider(actor Actor, op string, platform bool, name string, change func(*txn, *Provider) error) (Provider, error) {
	var rec Provider
	err := s.write(func(t *txn) error {
		st, err := s.ix.providerByNameAs(actor, name)
		if err != nil {
			return err
		}
		if platform {
			err = actor.operatorOnly("change a provider's route or STIR policy")
		} else {
			err = s.ix.mayProvider(actor, st)
		}
		if err == nil {
			err = actor.checkRevision("provider "+name, st.mod)
		}
		if err != nil {
			return err
		}
		rec = st.rec
		if err := change(t, &rec); err != nil {
			return fmt.Errorf("provider %s: %w", name, err)
		}
		t.cmp(idKey(bProviders, rec.ID), st.mod)
		if err := t.putJSON(idKey(bProviders, rec.ID), &rec); err != nil {
			return err
		}
		return t.audit(actor, op, "provider/"+name, provScope(rec), st.rec, &rec)
	})
	if err != nil {
		return Provider{}, fmt.Errorf("update provider: %w", err)
	}
	return rec, nil
}

// DeleteProvider removes a provider, its allocations and its Blocked list.
// It is refused while subscribers or enterprises belong to it.
func (s *Store) DeleteProvider(actor Actor, name string) error {
	err := s.write(func(t *txn) error {
		p, err := s.ix.providerByNameAs(actor, name)
		if err == nil {
			err = actor.operatorOnly("delete providers")
		}
		if err == nil {
			err = actor.checkRevision("provider "+name, p.mod)
		}
		if err != nil {
			return err
		}
		id := p.rec.ID
		n := 0
		for _, sub := range s.ix.subs {
			if sub != nil && sub.rec.ProviderID == id {
				n++
			}
		}
		for _, e := range s.ix.ents {
			if e != nil && e.rec.ProviderID == id {
				n++
			}
		}
		if n > 0 {
			return fmt.Errorf("provider %s: %w (%d subscribers/enterprises still belong to it)", name, ErrInUse, n)
		}
		// Concurrent creations bump these sequences; a new subscriber of
		// this provider would also compare the provider's record.
		t.cmp(seqKey(bSubscribers), s.ix.seqs[bSubscribers].mod)
		t.cmp(seqKey(bEnterprises), s.ix.seqs[bEnterprises].mod)
		t.cmp(idKey(bProviders, id), p.mod)
		if allocs := s.ix.allocationsOf(id); len(allocs) > 0 {
			t.cmp(keyAllocEpoch, s.ix.allocMod)
			t.bump(keyAllocEpoch)
			for _, r := range allocs {
				t.del(allocKey(r.First))
			}
		}
		deleteOwnerLists(t, kindProvider, id)
		t.del(nameKey(kindProvider, name))
		t.del(idKey(bProviders, id))
		return t.audit(actor, "provider.delete", "provider/"+name, provScope(p.rec), p.rec, nil)
	})
	if err != nil {
		return fmt.Errorf("delete provider: %w", err)
	}
	return nil
}

// ---- allocations ----

// AllocateNumbers gives number ranges to a provider. A number belongs to at
// most one provider; overlapping an existing allocation (anyone's) is an
// error naming it. All ranges are added or none.
func (s *Store) AllocateNumbers(actor Actor, provider string, ranges ...Range) error {
	err := s.write(func(t *txn) error {
		p, err := s.ix.providerByNameAs(actor, provider)
		if err == nil {
			err = actor.operatorOnly("allocate numbers")
		}
		if err != nil {
			return err
		}
		var added []Range
		for _, r := range ranges {
			if r.First == 0 || r.Last < r.First {
				return fmt.Errorf("range %s: %w", r, ErrInvalid)
			}
			if a, ok := s.ix.allocationBelow(r.Last); ok && a.Last >= r.First {
				return fmt.Errorf("range %s overlaps %s allocated to provider %s: %w", r, a.Range, s.ix.providerName(a.provider), ErrExists)
			}
			for _, o := range added {
				if o.First <= r.Last && r.First <= o.Last {
					return fmt.Errorf("range %s overlaps %s given in the same call: %w", r, o, ErrExists)
				}
			}
			added = append(added, r)
			t.put(allocKey(r.First), allocValue(r.Last, p.rec.ID))
		}
		t.cmp(idKey(bProviders, p.rec.ID), p.mod)
		t.cmp(keyAllocEpoch, s.ix.allocMod)
		t.bump(keyAllocEpoch)
		before := s.ix.allocationsOf(p.rec.ID)
		after := append(slices.Clone(before), added...)
		return t.audit(actor, "allocation.add", "provider/"+provider+"/allocations", provScope(p.rec), before, after)
	})
	if err != nil {
		return fmt.Errorf("allocate numbers to %s: %w", provider, err)
	}
	return nil
}

// ReleaseNumbers takes back an allocation (given exactly as allocated). It
// is refused while a subscriber holds a number in it.
func (s *Store) ReleaseNumbers(actor Actor, provider string, r Range) error {
	err := s.write(func(t *txn) error {
		p, err := s.ix.providerByNameAs(actor, provider)
		if err == nil {
			err = actor.operatorOnly("release numbers")
		}
		if err != nil {
			return err
		}
		a, ok := s.ix.allocationBelow(r.First)
		if !ok || a.Range != r || a.provider != p.rec.ID {
			return fmt.Errorf("range %s: %w (not an allocation of %s; see its allocations)", r, ErrNotFound, provider)
		}
		if n, id, ok := s.ix.numberIn(r); ok {
			return fmt.Errorf("range %s: %w (number %s belongs to subscriber %s)", r, ErrInUse, n, s.ix.subscriberName(id))
		}
		// Assigning a number compares the allocation epoch, so a
		// concurrent assignment into this range conflicts with us.
		t.cmp(keyAllocEpoch, s.ix.allocMod)
		t.bump(keyAllocEpoch)
		t.del(allocKey(r.First))
		return t.audit(actor, "allocation.release", "provider/"+provider+"/allocations", provScope(p.rec), r, nil)
	})
	if err != nil {
		return fmt.Errorf("release numbers of %s: %w", provider, err)
	}
	return nil
}

func allocValue(last e164.Number, provider uint32) []byte {
	return append(u64(uint64(last)), u32(provider)...)
}

// allocationsOf lists a provider's allocations in number order.
func (ix *index) allocationsOf(provider uint32) []Range {
	var out []Range
	for _, a := range ix.allocs {
		if a.provider == provider {
			out = append(out, a.Range)
		}
	}
	return out
}

// numberIn returns the lowest subscriber number in r, if any.
func (ix *index) numberIn(r Range) (e164.Number, uint32, bool) {
	var low e164.Number
	var lowID uint32
	for n, id := range ix.byNumber.all() {
		if r.Contains(n) && (low == 0 || n < low) {
			low, lowID = n, id
		}
	}
	return low, lowID, low != 0
}

// allocatedTo says whether n lies in an allocation of provider. To a
// tenant a number of another provider's allocations is answered as one of
// none (the provider asking may not learn whose it is, or the range
// around it); the platform owner is told whose allocation and subscriber
// hold it (numberholder.go).
func (ix *index) allocatedTo(a Actor, n e164.Number, provider uint32) error {
	al, ok := ix.allocationBelow(n)
	in := ok && al.Last >= n
	if in && al.provider == provider {
		return nil
	}
	return ix.notAllocatedErr(a, n, provider, al, in)
}

// numberAssignable says whether n may be given to a new subscriber of
// provider by a: it is in one of the provider's allocations and nobody's.
// The allocation is checked first, so the subscriber a taken number names
// is always one of provider's own.
func (ix *index) numberAssignable(a Actor, n e164.Number, provider uint32) error {
	if err := ix.allocatedTo(a, n, provider); err != nil {
		return err
	}
	if id, ok := ix.byNumber.get(n); ok {
		return fmt.Errorf("number %s: %w (belongs to subscriber %s)", n, ErrExists, ix.subscriberName(id))
	}
	return nil
}

// ---- subscribers ----

// CreateSubscriber adds a subscriber with its numbers. Numbers must lie in
// the provider's allocations and belong to no other subscriber.
// A provider actor creates subscribers of its own only. Any number of
// numbers is created all or nothing, on etcd too (numberkeys.go).
func (s *Store) CreateSubscriber(actor Actor, spec SubscriberSpec) (Subscriber, error) {
	rec, err := s.subscriberRecord(spec)
	// check checks the creation as planned with the ID given (0: none yet).
	check := func(t *txn, id uint32) (*Subscriber, error) {
		if p, err := s.ix.providerByNameAs(actor, spec.Provider); err == nil {
			if err := s.ix.mayProvider(actor, p); err != nil {
				return nil, err
			}
		} else if actor.Role != RoleOperator {
			return nil, err
		}
		r := rec
		r.ID = id
		return &r, s.ix.checkSubscriber(t, actor, &r, spec, nil)
	}
	var id uint32 // taken by putNumberKeys
	if err == nil {
		_, err = s.putNumberKeys(func(t *txn, id uint32) (uint32, []e164.Number, error) {
			r, err := check(t, id)
			if err != nil {
				return 0, nil, err
			}
			if id == 0 {
				id = s.ix.nextID(t, bSubscribers)
			}
			return id, r.Numbers, nil
		}, func(got uint32) { id = got })
	}
	if err == nil {
		err = s.write(func(t *txn) error {
			r, err := check(t, id)
			if err != nil {
				return err
			}
			if err := s.ix.planSubscriber(t, actor, r, spec, nil); err != nil {
				return err
			}
			if err := s.claimNumberKeys(t, r.Numbers, r.ID); err != nil {
				return err
			}
			rec = *r
			return t.audit(actor, "subscriber.create", "subscriber/"+rec.Name, subScope(rec), nil, &rec)
		})
	}
	if err != nil {
		if id != 0 {
			s.releaseNumberKeys(id, rec.Numbers)
		}
		return Subscriber{}, fmt.Errorf("create subscriber: %w", err)
	}
	return rec, nil
}

// subscriberRecord validates spec into a record without ID and provider.
func (s *Store) subscriberRecord(spec SubscriberSpec) (Subscriber, error) {
	if err := validName("subscriber", spec.Name); err != nil {
		return Subscriber{}, err
	}
	nums, err := parseNumbers(spec.Numbers)
	if err != nil {
		return Subscriber{}, fmt.Errorf("subscriber %s: %w", spec.Name, err)
	}
	if len(nums) == 0 {
		return Subscriber{}, fmt.Errorf("subscriber %s: %w (at least one number needed)", spec.Name, ErrInvalid)
	}
	set, err := spec.Settings.validate()
	if err != nil {
		return Subscriber{}, fmt.Errorf("subscriber %s: %w", spec.Name, err)
	}
	// Only a subscriber's manager creates it: what the spec sets is set
	// by the provider (or the platform owner) and applies as such.
	return Subscriber{Name: spec.Name, Numbers: nums, Settings: set, SetByProvider: set.setHere(), Created: s.opts.Now().UTC()}, nil
}

// checkSubscriber checks rec (from subscriberRecord) against the index,
// setting its provider and permissions, and makes t depend on what it
// read. taken, if set, holds names and numbers already given out in t (a
// bulk load's batch). A refused number is worded for actor a
// (numberholder.go). Caller holds applyMu.
func (ix *index) checkSubscriber(t *txn, a Actor, rec *Subscriber, spec SubscriberSpec, taken *bulkTaken) error {
	if _, ok := ix.subByName[rec.Name]; ok || taken != nil && taken.names[rec.Name] {
		return fmt.Errorf("subscriber %s: %w", rec.Name, ErrExists)
	}
	prov, err := ix.providerByName(spec.Provider)
	if err != nil {
		return fmt.Errorf("subscriber %s: %w", rec.Name, err)
	}
	rec.ProviderID, rec.Provider = prov.rec.ID, prov.rec.Name
	rec.Permissions = prov.rec.DefaultPermissions
	if spec.Permissions != nil {
		rec.Permissions = *spec.Permissions & PermAll
	}
	for _, n := range rec.Numbers {
		if err := ix.checkNumberFree(t, a, n, rec.ProviderID, taken); err != nil {
			return fmt.Errorf("subscriber %s: %w", rec.Name, err)
		}
	}
	t.cmp(idKey(bProviders, prov.rec.ID), prov.mod)
	t.cmp(nameKey(kindSubscriber, rec.Name), 0)
	return nil
}

// planSubscriber checks rec (from subscriberRecord) as checkSubscriber
// does and adds its creation to t: ID (rec's if set: one the creation
// took before, or in a bulk load's batch, taken set, the batch's next),
// record and name. The caller claims the number keys (claimNumberKeys).
// Caller holds applyMu.
func (ix *index) planSubscriber(t *txn, a Actor, rec *Subscriber, spec SubscriberSpec, taken *bulkTaken) error {
	if err := ix.checkSubscriber(t, a, rec, spec, taken); err != nil {
		return err
	}
	switch {
	case taken != nil:
		rec.ID = taken.nextID()
	case rec.ID == 0:
		rec.ID = ix.nextID(t, bSubscribers)
	default:
		t.cmp(idKey(bSubscribers, rec.ID), 0)
	}
	t.put(nameKey(kindSubscriber, rec.Name), u32(rec.ID))
	return t.putJSON(idKey(bSubscribers, rec.ID), rec)
}

// nextID takes the next ID of a tenant bucket's sequence in t.
func (ix *index) nextID(t *txn, bucket string) uint32 {
	sq := ix.seqs[bucket]
	t.cmp(seqKey(bucket), sq.mod)
	t.put(seqKey(bucket), u64(sq.val+1))
	return uint32(sq.val + 1)
}

// checkNumberFree says whether n can be assigned by a to a subscriber of
// provider, and makes t depend on the allocations staying as they are.
func (ix *index) checkNumberFree(t *txn, a Actor, n e164.Number, provider uint32, taken *bulkTaken) error {
	// The allocation first: to a tenant a number of another provider's
	// reads as one of none, held or not, and the holder named below is
	// provider's own.
	if err := ix.allocatedTo(a, n, provider); err != nil {
		return err
	}
	id, ok := ix.byNumber.get(n)
	if !ok && taken != nil {
		id, ok = taken.numbers[n]
	}
	if ok {
		return fmt.Errorf("number %s: %w (belongs to subscriber %s)", n, ErrExists, ix.subscriberName(id))
	}
	// Compare and move the allocation epoch: a ReleaseNumbers planned
	// before this assignment then conflicts instead of leaving the number
	// outside any allocation.
	t.cmp(keyAllocEpoch, ix.allocMod)
	t.bump(keyAllocEpoch)
	return nil
}

// GetSubscriber returns a subscriber by name or by one of its numbers.
// actor must be the operator, the subscriber's provider or the subscriber.
func (s *Store) GetSubscriber(actor Actor, ref string) (Subscriber, error) {
	s.ix.mu.RLock()
	defer s.ix.mu.RUnlock()
	st, err := s.ix.findSubscriberAs(actor, ref)
	if err != nil {
		return Subscriber{}, err
	}
	return st.public(), nil
}

// SubscriberByID returns a subscriber by internal ID (as found in a
// SubscriberView or Decision).
func (s *Store) SubscriberByID(id uint32) (Subscriber, bool) {
	s.ix.mu.RLock()
	defer s.ix.mu.RUnlock()
	if st := s.ix.sub(id); st != nil {
		return st.public(), true
	}
	return Subscriber{}, false
}

// EffectiveSettings returns the subscriber's effective view (what the
// decision engine sees), by name or number.
func (s *Store) EffectiveSettings(actor Actor, ref string) (SubscriberView, error) {
	s.ix.mu.RLock()
	defer s.ix.mu.RUnlock()
	st, err := s.ix.findSubscriberAs(actor, ref)
	if err != nil {
		return SubscriberView{}, err
	}
	return s.ix.views[st.rec.ID], nil
}

func (st *subState) public() Subscriber {
	r := st.rec
	r.Numbers = slices.Clone(r.Numbers)
	r.HasPIN = st.pin != nil
	r.Revision = st.mod
	return r
}

// ListSubscribers returns subscribers in ID order, those of one provider
// when provider is not "", starting after ID after, at most limit (<= 0:
// all). Pass the last ID returned as after to get the next page. Only
// the subscribers actor may see are listed (a provider's own; a
// subscriber itself).
func (s *Store) ListSubscribers(actor Actor, provider string, after uint32, limit int) ([]Subscriber, error) {
	s.ix.mu.RLock()
	defer s.ix.mu.RUnlock()
	var pid uint32
	if provider != "" {
		p, err := s.ix.providerByNameAs(actor, provider)
		if err != nil {
			return nil, err
		}
		pid = p.rec.ID
	}
	var out []Subscriber
	for id := int(after) + 1; id < len(s.ix.subs); id++ {
		st := s.ix.subs[id]
		if st == nil || pid != 0 && st.rec.ProviderID != pid || s.ix.authorize(actor, kindSubscriber, st.rec.ID, 0) != nil {
			continue
		}
		if limit > 0 && len(out) == limit {
			break
		}
		out = append(out, st.public())
	}
	return out, nil
}

// AssignNumbers gives more numbers to a subscriber; any number of them,
// all or nothing, on etcd too (numberkeys.go).
func (s *Store) AssignNumbers(actor Actor, subscriber string, numbers ...string) (Subscriber, error) {
	nums, err := parseNumbers(numbers)
	if err != nil {
		return Subscriber{}, fmt.Errorf("assign numbers to %s: %w", subscriber, err)
	}
	// gains checks the change and returns the numbers r gains.
	gains := func(t *txn, r *Subscriber) ([]e164.Number, error) {
		var add []e164.Number
		for _, n := range nums {
			if id, ok := s.ix.byNumber.get(n); ok && id == r.ID {
				continue
			}
			if err := s.ix.checkNumberFree(t, actor, n, r.ProviderID, nil); err != nil {
				return nil, err
			}
			add = append(add, n)
		}
		return add, nil
	}
	var id uint32 // whose keys putNumberKeys wrote
	_, err = s.putNumberKeys(func(t *txn, _ uint32) (uint32, []e164.Number, error) {
		st, err := s.ix.findSubscriberAs(actor, subscriber)
		if err == nil {
			err = s.ix.mayManageSubscriber(actor, st)
		}
		if err == nil {
			err = actor.checkRevision("subscriber "+st.rec.Name, st.mod)
		}
		if err != nil {
			return 0, nil, err
		}
		add, err := gains(t, &st.rec)
		if err != nil {
			return 0, nil, fmt.Errorf("subscriber %s: %w", st.rec.Name, err)
		}
		t.cmp(idKey(bSubscribers, st.rec.ID), st.mod)
		return st.rec.ID, add, nil
	}, func(got uint32) { id = got })
	var rec Subscriber
	if err == nil {
		rec, err = s.changeSubscriber(actor, "subscriber.numbers.assign", subscriber, s.ix.mayManageSubscriber, func(t *txn, r *Subscriber) error {
			add, err := gains(t, r)
			if err != nil {
				return err
			}
			if err := s.claimNumberKeys(t, add, r.ID); err != nil {
				return err
			}
			r.Numbers = append(slices.Clip(r.Numbers), add...)
			return nil
		})
	}
	if err != nil {
		if id != 0 {
			s.releaseNumberKeys(id, nums)
		}
		return Subscriber{}, fmt.Errorf("assign numbers: %w", err)
	}
	return rec, nil
}

// UnassignNumbers takes numbers away from a subscriber; the last number
// cannot be taken (delete the subscriber instead).
func (s *Store) UnassignNumbers(actor Actor, subscriber string, numbers ...string) (Subscriber, error) {
	nums, err := parseNumbers(numbers)
	if err != nil {
		return Subscriber{}, fmt.Errorf("unassign numbers from %s: %w", subscriber, err)
	}
	// keeps checks the change and returns the numbers r keeps.
	keeps := func(r *Subscriber) ([]e164.Number, error) {
		keep := make([]e164.Number, 0, len(r.Numbers))
		for _, n := range r.Numbers {
			if !slices.Contains(nums, n) {
				keep = append(keep, n)
			}
		}
		for _, n := range nums {
			if !slices.Contains(r.Numbers, n) {
				return nil, fmt.Errorf("number %s: %w (not a number of subscriber %s)", n, ErrNotFound, r.Name)
			}
		}
		if len(keep) == 0 {
			return nil, fmt.Errorf("subscriber %s: %w (cannot take its last number; delete the subscriber instead)", r.Name, ErrInvalid)
		}
		return keep, nil
	}
	err = s.dropNumberKeys(func() (*subState, []e164.Number, error) {
		st, err := s.ix.findSubscriberAs(actor, subscriber)
		if err == nil {
			err = s.ix.mayManageSubscriber(actor, st)
		}
		if err == nil {
			err = actor.checkRevision("subscriber "+st.rec.Name, st.mod)
		}
		if err == nil {
			if _, err = keeps(&st.rec); err != nil {
				err = fmt.Errorf("subscriber %s: %w", st.rec.Name, err)
			}
		}
		return st, nums, err
	})
	if err != nil {
		return Subscriber{}, fmt.Errorf("unassign numbers: %w", err)
	}
	rec, err := s.changeSubscriber(actor, "subscriber.numbers.unassign", subscriber, s.ix.mayManageSubscriber, func(t *txn, r *Subscriber) error {
		keep, err := keeps(r)
		if err != nil {
			return err
		}
		keys, err := s.existingNumberKeys(nums) // dropNumberKeys took most
		if err != nil {
			return err
		}
		for _, k := range keys {
			t.del(k)
		}
		r.Numbers = keep
		return nil
	})
	if err != nil {
		return Subscriber{}, fmt.Errorf("unassign numbers: %w", err)
	}
	return rec, nil
}

// SetPermissions sets what a subscriber may change itself. Settings it set
// itself and may no longer change fall back to the provider defaults at
// once; settings its provider or the platform owner set stay (setby.go).
func (s *Store) SetPermissions(actor Actor, subscriber string, perm Permission) (Subscriber, error) {
	rec, err := s.changeSubscriber(actor, "subscriber.permissions", subscriber, s.ix.mayManageSubscriber, func(_ *txn, r *Subscriber) error {
		r.Permissions = perm & PermAll
		return nil
	})
	if err != nil {
		return Subscriber{}, fmt.Errorf("set permissions: %w", err)
	}
	return rec, nil
}

// SetTreatments changes a subscriber's own settings. A subscriber actor may
// only touch settings its permissions allow (ErrLocked otherwise); the
// operator and the subscriber's provider may always write, and what they
// set applies whatever the permissions (setby.go).
func (s *Store) SetTreatments(actor Actor, subscriber string, u SettingsUpdate) (Subscriber, error) {
	mayTouch := func(a Actor, st *subState) error { return s.ix.authorize(a, kindSubscriber, st.rec.ID, u.touched()) }
	rec, err := s.changeSubscriber(actor, "subscriber.treatments", subscriber, mayTouch, func(t *txn, r *Subscriber) error {
		set, err := u.apply(r.Settings)
		r.Settings = set
		r.SetByProvider = markSetBy(r.SetByProvider, u, set, actor.Role)
		return err
	})
	if err != nil {
		return Subscriber{}, fmt.Errorf("set treatments: %w", err)
	}
	return rec, nil
}

// changeSubscriber applies change to a copy of a subscriber's record and
// stores it; the change feed refreshes the index. It returns the record
// as the index then holds it. may authorises actor first.
func (s *Store) changeSubscriber(actor Actor, op, ref string, may func(Actor, *subState) error, change func(*txn, *Subscriber) error) (Subscriber, error) {
	var id uint32
	err := s.write(func(t *txn) error {
		st, err := s.ix.findSubscriberAs(actor, ref)
		if err == nil {
			err = may(actor, st)
		}
		if err == nil {
			err = actor.checkRevision("subscriber "+st.rec.Name, st.mod)
		}
		if err != nil {
			return err
		}
		rec := st.rec
		id = rec.ID
		if err := change(t, &rec); err != nil {
			return fmt.Errorf("subscriber %s: %w", rec.Name, err)
		}
		t.cmp(idKey(bSubscribers, rec.ID), st.mod)
		if err := t.putJSON(idKey(bSubscribers, rec.ID), &rec); err != nil {
			return err
		}
		return t.audit(actor, op, "subscriber/"+rec.Name, subScope(rec), st.rec, &rec)
	})
	if err != nil {
		return Subscriber{}, err
	}
	s.ix.mu.RLock()
	defer s.ix.mu.RUnlock()
	st := s.ix.sub(id)
	if st == nil {
		return Subscriber{}, fmt.Errorf("subscriber %s: %w (deleted meanwhile)", ref, ErrNotFound)
	}
	return st.public(), nil
}

// DeleteSubscriber removes a subscriber, its numbers, PIN and lists.
func (s *Store) DeleteSubscriber(actor Actor, ref string) error {
	find := func() (*subState, error) {
		st, err := s.ix.findSubscriberAs(actor, ref)
		if err == nil {
			err = s.ix.mayManageSubscriber(actor, st)
		}
		if err == nil {
			err = actor.checkRevision("subscriber "+st.rec.Name, st.mod)
		}
		return st, err
	}
	err := s.dropNumberKeys(func() (*subState, []e164.Number, error) {
		st, err := find()
		if err != nil {
			return nil, nil, err
		}
		return st, st.rec.Numbers, nil
	})
	if err == nil {
		err = s.write(func(t *txn) error {
			st, err := find()
			if err != nil {
				return err
			}
			id := st.rec.ID
			t.cmp(idKey(bSubscribers, id), st.mod)
			keys, err := s.existingNumberKeys(st.rec.Numbers) // dropNumberKeys took most
			if err != nil {
				return err
			}
			for _, k := range keys {
				t.del(k)
			}
			deleteOwnerLists(t, kindSubscriber, id)
			t.del(idKey(bPINs, id))
			t.del(pinLockKey(id))
			t.del(nameKey(kindSubscriber, st.rec.Name))
			t.del(idKey(bSubscribers, id))
			return t.audit(actor, "subscriber.delete", "subscriber/"+st.rec.Name, subScope(st.rec), st.rec, nil)
		})
	}
	if err != nil {
		return fmt.Errorf("delete subscriber: %w", err)
	}
	return nil
}

// ---- enterprises ----

// CreateEnterprise adds an enterprise tenant. Its numbers must not be
// enrolled by another enterprise.
// A provider actor creates enterprises under itself only.
func (s *Store) CreateEnterprise(actor Actor, spec EnterpriseSpec) (Enterprise, error) {
	if err := validName("enterprise", spec.Name); err != nil {
		return Enterprise{}, fmt.Errorf("create enterprise: %w", err)
	}
	nums, err := parseNumbers(spec.Numbers)
	if err != nil {
		return Enterprise{}, fmt.Errorf("create enterprise %s: %w", spec.Name, err)
	}
	e := Enterprise{Name: spec.Name, Numbers: nums, Created: s.opts.Now().UTC()}
	err = s.write(func(t *txn) error {
		if _, ok := s.ix.entByName[e.Name]; ok {
			return fmt.Errorf("enterprise %s: %w", e.Name, ErrExists)
		}
		if spec.Provider == "" && actor.Role != RoleOperator {
			return fmt.Errorf("%s: %w (only the platform owner may create enterprises directly under the platform)", actor, ErrForbidden)
		}
		if spec.Provider != "" {
			p, err := s.ix.providerByNameAs(actor, spec.Provider)
			if err == nil {
				err = s.ix.mayProvider(actor, p)
			}
			if err != nil {
				return err
			}
			e.ProviderID, e.Provider = p.rec.ID, p.rec.Name
			t.cmp(idKey(bProviders, p.rec.ID), p.mod)
		}
		for _, n := range nums {
			if id, ok := s.ix.entByNum[n]; ok {
				// Taken says as little as it must: the enterprise is named
				// only to a caller that may see it.
				if s.ix.mayEnterprise(actor, s.ix.ents[id]) == nil {
					return fmt.Errorf("number %s: %w (enrolled by enterprise %s)", n, ErrExists, s.ix.ents[id].rec.Name)
				}
				return fmt.Errorf("number %s: %w (not available: enrolled by another enterprise)", n, ErrExists)
			}
		}
		// Every creation bumps the sequence, so two nodes enrolling one
		// number at once conflict and the second is checked again.
		e.ID = s.ix.nextID(t, bEnterprises)
		t.cmp(nameKey(kindEnterprise, e.Name), 0)
		t.put(nameKey(kindEnterprise, e.Name), u32(e.ID))
		if err := t.putJSON(idKey(bEnterprises, e.ID), &e); err != nil {
			return err
		}
		return t.audit(actor, "enterprise.create", "enterprise/"+e.Name, entScope(e), nil, entAudit(e))
	})
	if err != nil {
		return Enterprise{}, fmt.Errorf("create enterprise: %w", err)
	}
	return e, nil
}

// GetEnterprise returns an enterprise by name, if actor may see it (the
// operator or its provider).
func (s *Store) GetEnterprise(actor Actor, name string) (Enterprise, error) {
	s.ix.mu.RLock()
	defer s.ix.mu.RUnlock()
	st, err := s.ix.enterpriseByNameAs(actor, name)
	if err != nil {
		return Enterprise{}, err
	}
	e := st.rec
	e.Numbers = slices.Clone(e.Numbers)
	e.Revision = st.mod
	return e, nil
}

// VisibleEnterprises returns the enterprises actor may see in ID order.
func (s *Store) VisibleEnterprises(actor Actor) []Enterprise {
	s.ix.mu.RLock()
	defer s.ix.mu.RUnlock()
	var out []Enterprise
	for _, e := range s.ix.ents {
		if e != nil && s.ix.mayEnterprise(actor, e) == nil {
			c := e.rec
			c.Numbers = slices.Clone(c.Numbers)
			c.Revision = e.mod
			out = append(out, c)
		}
	}
	return out
}

// ListEnterprises returns all enterprises in ID order.
func (s *Store) ListEnterprises() []Enterprise {
	s.ix.mu.RLock()
	defer s.ix.mu.RUnlock()
	var out []Enterprise
	for _, e := range s.ix.ents {
		if e != nil {
			c := e.rec
			c.Numbers = slices.Clone(c.Numbers)
			out = append(out, c)
		}
	}
	return out
}

// DeleteEnterprise removes an enterprise.
func (s *Store) DeleteEnterprise(actor Actor, name string) error {
	err := s.write(func(t *txn) error {
		st, err := s.ix.enterpriseByNameAs(actor, name)
		if err != nil {
			return err
		}
		id := st.rec.ID
		if err := actor.checkRevision("enterprise "+name, s.ix.ents[id].mod); err != nil {
			return err
		}
		t.cmp(idKey(bEnterprises, id), s.ix.ents[id].mod)
		t.del(nameKey(kindEnterprise, name))
		t.del(idKey(bEnterprises, id))
		e := s.ix.ents[id].rec
		return t.audit(actor, "enterprise.delete", "enterprise/"+name, entScope(e), entAudit(e), nil)
	})
	if err != nil {
		return fmt.Errorf("delete enterprise: %w", err)
	}
	return nil
}

// ---- lookups shared by the write paths (caller holds ix.mu or wmu) ----

func (ix *index) providerByName(name string) (*provState, error) {
	id, ok := ix.provByName[name]
	if !ok {
		return nil, errNoProvider(name)
	}
	return ix.provs[id], nil
}

func errNoProvider(name string) error { return fmt.Errorf("provider %q: %w", name, ErrNotFound) }

func (ix *index) providerName(id uint32) string {
	if p := ix.prov(id); p != nil {
		return p.rec.Name
	}
	return fmt.Sprintf("#%d", id)
}

func (ix *index) ownerName(kind byte, id uint32) string {
	if kind == kindProvider {
		return ix.providerName(id)
	}
	return ix.subscriberName(id)
}

func (ix *index) subscriberName(id uint32) string {
	if st := ix.sub(id); st != nil {
		return st.rec.Name
	}
	return fmt.Sprintf("#%d", id)
}

// findSubscriber resolves a subscriber name or any accepted form of one of
// its numbers. Names start with a letter and numbers never do, so the two
// cannot be confused.
func (ix *index) findSubscriber(ref string) (*subState, error) {
	ref = strings.TrimSpace(ref)
	if validName("subscriber", ref) == nil {
		if id, ok := ix.subByName[ref]; ok {
			return ix.subs[id], nil
		}
		return nil, errNoSubscriber(ref)
	}
	n, err := e164.Parse(ref)
	if err != nil {
		return nil, fmt.Errorf("subscriber %q (neither a name nor a number): %w", ref, err)
	}
	if id, ok := ix.byNumber.get(n); ok {
		return ix.subs[id], nil
	}
	return nil, errNoSubscriber(ref)
}

// errNoSubscriber is findSubscriber's answer for a ref that names no
// subscriber (ref is a valid name or number).
func errNoSubscriber(ref string) error {
	ref = strings.TrimSpace(ref)
	if validName("subscriber", ref) == nil {
		return fmt.Errorf("subscriber %q: %w", ref, ErrNotFound)
	}
	n, err := e164.Parse(ref)
	if err != nil {
		return fmt.Errorf("subscriber %q (neither a name nor a number): %w", ref, err)
	}
	return fmt.Errorf("subscriber with number %s: %w", n, ErrNotFound)
}

// ---- helpers ----

// parseNumbers parses and de-duplicates numbers, naming every bad input.
func parseNumbers(in []string) ([]e164.Number, error) {
	out := make([]e164.Number, 0, len(in))
	var bad []string
	for i, s := range in {
		n, err := e164.Parse(strings.TrimSpace(s))
		if err != nil {
			if len(bad) < 10 {
				bad = append(bad, fmt.Sprintf("#%d %v", i+1, err))
			} else if len(bad) == 10 {
				bad = append(bad, "...")
			}
			continue
		}
		out = append(out, n)
	}
	if bad != nil {
		return nil, fmt.Errorf("%w: bad number(s): %s", ErrInvalid, strings.Join(bad, "; "))
	}
	// De-duplicate keeping first-seen order (numbers of a subscriber are
	// shown in the order given).
	seen := make(map[e164.Number]struct{}, len(out))
	j := 0
	for _, n := range out {
		if _, dup := seen[n]; !dup {
			seen[n] = struct{}{}
			out[j] = n
			j++
		}
	}
	return out[:j], nil
}

// deleteOwnerLists removes every list of an owner, in every generation:
// rows, notes, marks and versions (one range delete each, however long
// the lists).
func deleteOwnerLists(t *txn, kind byte, id uint32) {
	for _, b := range []string{bEntries, bNotes, bMarks, bLV} {
		t.delPrefix(ownerPrefix(b, kind, id))
	}
	t.bump(keyListsEpoch)
}
