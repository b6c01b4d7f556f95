package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"callgate/e164"

	bolt "go.etcd.io/bbolt"
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
func (s *Store) CreateProvider(spec ProviderSpec) (Provider, error) {
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
	err = s.update(func(tx *bolt.Tx) error {
		if _, ok := s.ix.provByName[p.Name]; ok {
			return fmt.Errorf("provider %s: %w", p.Name, ErrExists)
		}
		if p.Route != "" {
			if _, ok := s.ix.routes[p.Route]; !ok {
				return fmt.Errorf("provider %s: route %q: %w", p.Name, p.Route, ErrNotFound)
			}
		}
		b := tx.Bucket(bktProviders)
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		p.ID = uint32(seq)
		if err := putJSON(b, p.ID, &p); err != nil {
			return err
		}
		return tx.Bucket(bktNames).Put(nameKey(kindProvider, p.Name), u32(p.ID))
	}, func() {
		st := &provState{rec: p}
		s.ix.mu.Lock()
		s.ix.provs = growSet(s.ix.provs, p.ID, st)
		s.ix.provByName[p.Name] = p.ID
		s.ix.resolveRoutes()
		s.ix.mu.Unlock()
	})
	if err != nil {
		return Provider{}, fmt.Errorf("create provider: %w", err)
	}
	return p, nil
}

// GetProvider returns a provider with its allocations.
func (s *Store) GetProvider(name string) (Provider, error) {
	s.ix.mu.RLock()
	p, err := s.ix.providerByName(name)
	var rec Provider
	if err == nil {
		rec = p.rec
	}
	s.ix.mu.RUnlock()
	if err != nil {
		return Provider{}, err
	}
	err = s.view(func(tx *bolt.Tx) error {
		rec.Allocations = allocationsOf(tx, rec.ID)
		return nil
	})
	return rec, err
}

// ListProviders returns all providers in ID order (without allocations).
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
func (s *Store) SetProviderDefaults(name string, u SettingsUpdate) (Provider, error) {
	return s.changeProvider(name, func(p *Provider) error {
		d, err := u.apply(p.Defaults)
		p.Defaults = d
		return err
	})
}

// SetProviderDefaultPermissions changes what new subscribers of the provider
// may change themselves. Existing subscribers keep theirs (SetPermissions).
func (s *Store) SetProviderDefaultPermissions(name string, perm Permission) (Provider, error) {
	return s.changeProvider(name, func(p *Provider) error {
		p.DefaultPermissions = perm & PermAll
		return nil
	})
}

// SetProviderRoute points a provider at an egress route ("" = the platform
// default).
func (s *Store) SetProviderRoute(name, route string) (Provider, error) {
	return s.changeProvider(name, func(p *Provider) error {
		if route != "" {
			if _, ok := s.ix.routes[route]; !ok {
				return fmt.Errorf("route %q: %w", route, ErrNotFound)
			}
		}
		p.Route = route
		return nil
	})
}

// changeProvider applies change to a copy of the provider's record, stores
// it, and refreshes the provider's subscribers' effective settings.
func (s *Store) changeProvider(name string, change func(*Provider) error) (Provider, error) {
	var rec Provider
	var st *provState
	err := s.update(func(tx *bolt.Tx) error {
		var err error
		if st, err = s.ix.providerByName(name); err != nil {
			return err
		}
		rec = st.rec
		if err := change(&rec); err != nil {
			return fmt.Errorf("provider %s: %w", name, err)
		}
		return putJSON(tx.Bucket(bktProviders), rec.ID, &rec)
	}, func() {
		views := s.ix.subViews(rec.ID, func(sub *subState) SubscriberView {
			return effective(&sub.rec, &rec, sub.pin != nil)
		})
		s.ix.mu.Lock()
		st.rec = rec
		for i, sub := range views.subs {
			s.ix.views[sub.rec.ID] = views.views[i]
		}
		s.ix.resolveRoutes()
		s.ix.mu.Unlock()
	})
	if err != nil {
		return Provider{}, fmt.Errorf("update provider: %w", err)
	}
	return rec, nil
}

type viewBatch struct {
	subs  []*subState
	views []SubscriberView
}

// subViews computes new views for every subscriber of a provider outside
// the index lock (caller holds the writer lock).
func (ix *index) subViews(provider uint32, f func(*subState) SubscriberView) viewBatch {
	var b viewBatch
	for _, sub := range ix.subs {
		if sub != nil && sub.rec.ProviderID == provider {
			b.subs = append(b.subs, sub)
			b.views = append(b.views, f(sub))
		}
	}
	return b
}

// DeleteProvider removes a provider, its allocations and its Blocked list.
// It is refused while subscribers or enterprises belong to it.
func (s *Store) DeleteProvider(name string) error {
	var id uint32
	err := s.update(func(tx *bolt.Tx) error {
		p, err := s.ix.providerByName(name)
		if err != nil {
			return err
		}
		id = p.rec.ID
		n := 0
		for _, sub := range s.ix.subs {
			if sub != nil && sub.rec.ProviderID == id {
				n++
			}
		}
		for _, e := range s.ix.ents {
			if e != nil && e.ProviderID == id {
				n++
			}
		}
		if n > 0 {
			return fmt.Errorf("provider %s: %w (%d subscribers/enterprises still belong to it)", name, ErrInUse, n)
		}
		ab := tx.Bucket(bktAllocations)
		for _, r := range allocationsOf(tx, id) {
			if err := ab.Delete(u64(uint64(r.First))); err != nil {
				return err
			}
		}
		if err := deleteOwnerLists(tx, kindProvider, id); err != nil {
			return err
		}
		if err := tx.Bucket(bktNames).Delete(nameKey(kindProvider, name)); err != nil {
			return err
		}
		return tx.Bucket(bktProviders).Delete(u32(id))
	}, func() {
		s.ix.mu.Lock()
		if p := s.ix.provs[id]; p != nil {
			s.ix.rows.provBlocked -= len(p.blocked)
		}
		s.ix.provs[id] = nil
		delete(s.ix.provByName, name)
		s.ix.mu.Unlock()
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
func (s *Store) AllocateNumbers(provider string, ranges ...Range) error {
	err := s.update(func(tx *bolt.Tx) error {
		p, err := s.ix.providerByName(provider)
		if err != nil {
			return err
		}
		ab := tx.Bucket(bktAllocations)
		for _, r := range ranges {
			if r.First == 0 || r.Last < r.First {
				return fmt.Errorf("range %s: %w", r, ErrInvalid)
			}
			if lo, hi, owner, ok := allocationBelow(tx, r.Last); ok && hi >= r.First {
				return fmt.Errorf("range %s overlaps %s allocated to provider %s: %w", r, Range{lo, hi}, s.ix.providerName(owner), ErrExists)
			}
			v := binary.BigEndian.AppendUint64(make([]byte, 0, 12), uint64(r.Last))
			if err := ab.Put(u64(uint64(r.First)), binary.BigEndian.AppendUint32(v, p.rec.ID)); err != nil {
				return err
			}
		}
		return nil
	}, nil)
	if err != nil {
		return fmt.Errorf("allocate numbers to %s: %w", provider, err)
	}
	return nil
}

// ReleaseNumbers takes back an allocation (given exactly as allocated). It
// is refused while a subscriber holds a number in it.
func (s *Store) ReleaseNumbers(provider string, r Range) error {
	err := s.update(func(tx *bolt.Tx) error {
		p, err := s.ix.providerByName(provider)
		if err != nil {
			return err
		}
		lo, hi, owner, ok := allocationBelow(tx, r.First)
		if !ok || lo != r.First || hi != r.Last || owner != p.rec.ID {
			return fmt.Errorf("range %s: %w (not an allocation of %s; see its allocations)", r, ErrNotFound, provider)
		}
		c := tx.Bucket(bktNumbers).Cursor()
		if k, v := c.Seek(u64(uint64(r.First))); k != nil && binary.BigEndian.Uint64(k) <= uint64(r.Last) {
			return fmt.Errorf("range %s: %w (number %s belongs to subscriber %s)", r, ErrInUse,
				e164.Number(binary.BigEndian.Uint64(k)), s.ix.subscriberName(binary.BigEndian.Uint32(v)))
		}
		return tx.Bucket(bktAllocations).Delete(u64(uint64(r.First)))
	}, nil)
	if err != nil {
		return fmt.Errorf("release numbers of %s: %w", provider, err)
	}
	return nil
}

// allocationBelow returns the allocation with the greatest first number <= n.
func allocationBelow(tx *bolt.Tx, n e164.Number) (lo, hi e164.Number, provider uint32, ok bool) {
	c := tx.Bucket(bktAllocations).Cursor()
	key := u64(uint64(n))
	k, v := c.Seek(key)
	if k == nil || !bytes.Equal(k, key) {
		if k == nil {
			k, v = c.Last()
		} else {
			k, v = c.Prev()
		}
	}
	if k == nil || len(v) != 12 {
		return 0, 0, 0, false
	}
	return e164.Number(binary.BigEndian.Uint64(k)), e164.Number(binary.BigEndian.Uint64(v)),
		binary.BigEndian.Uint32(v[8:]), true
}

// allocationsOf lists a provider's allocations in number order.
func allocationsOf(tx *bolt.Tx, provider uint32) []Range {
	var out []Range
	_ = tx.Bucket(bktAllocations).ForEach(func(k, v []byte) error {
		if len(v) == 12 && binary.BigEndian.Uint32(v[8:]) == provider {
			out = append(out, Range{e164.Number(binary.BigEndian.Uint64(k)), e164.Number(binary.BigEndian.Uint64(v))})
		}
		return nil
	})
	return out
}

// checkAllocated says whether n may be given to a subscriber of provider.
func (s *Store) checkAllocated(tx *bolt.Tx, n e164.Number, provider uint32) error {
	lo, hi, owner, ok := allocationBelow(tx, n)
	if !ok || hi < n {
		return fmt.Errorf("number %s: %w (not in any allocation of provider %s; allocate it first)", n, ErrInvalid, s.ix.providerName(provider))
	}
	if owner != provider {
		return fmt.Errorf("number %s: %w (allocated to provider %s in %s, not to %s)", n, ErrInvalid,
			s.ix.providerName(owner), Range{lo, hi}, s.ix.providerName(provider))
	}
	return nil
}

// ---- subscribers ----

// CreateSubscriber adds a subscriber with its numbers. Numbers must lie in
// the provider's allocations and belong to no other subscriber.
func (s *Store) CreateSubscriber(spec SubscriberSpec) (Subscriber, error) {
	sub, err := s.createSubscriber(spec, s.update)
	if err != nil {
		return Subscriber{}, fmt.Errorf("create subscriber: %w", err)
	}
	return sub, nil
}

// txRunner runs a write step and, once it is durable, its index update:
// Store.update for ordinary writes, BulkLoader.step inside a bulk load.
type txRunner func(fn func(*bolt.Tx) error, apply func()) error

func (s *Store) createSubscriber(spec SubscriberSpec, run txRunner) (Subscriber, error) {
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
	rec := Subscriber{Name: spec.Name, Numbers: nums, Settings: set, Created: s.opts.Now().UTC()}
	var prov *provState
	fn := func(tx *bolt.Tx) error {
		if _, ok := s.ix.subByName[rec.Name]; ok {
			return fmt.Errorf("subscriber %s: %w", rec.Name, ErrExists)
		}
		if prov, err = s.ix.providerByName(spec.Provider); err != nil {
			return fmt.Errorf("subscriber %s: %w", rec.Name, err)
		}
		rec.ProviderID, rec.Provider = prov.rec.ID, prov.rec.Name
		rec.Permissions = prov.rec.DefaultPermissions
		if spec.Permissions != nil {
			rec.Permissions = *spec.Permissions & PermAll
		}
		for _, n := range nums {
			if err := s.checkNumberFree(tx, n, rec.ProviderID); err != nil {
				return fmt.Errorf("subscriber %s: %w", rec.Name, err)
			}
		}
		b := tx.Bucket(bktSubscribers)
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		rec.ID = uint32(seq)
		if err := putJSON(b, rec.ID, &rec); err != nil {
			return err
		}
		nb := tx.Bucket(bktNumbers)
		for _, n := range nums {
			if err := nb.Put(u64(uint64(n)), u32(rec.ID)); err != nil {
				return err
			}
		}
		return tx.Bucket(bktNames).Put(nameKey(kindSubscriber, rec.Name), u32(rec.ID))
	}
	apply := func() {
		st := &subState{rec: rec}
		view := effective(&st.rec, &prov.rec, false)
		s.ix.mu.Lock()
		s.ix.subs = growSet(s.ix.subs, rec.ID, st)
		s.ix.growSubs(rec.ID)
		s.ix.views[rec.ID] = view
		s.ix.subByName[rec.Name] = rec.ID
		for _, n := range nums {
			s.ix.byNumber[n] = rec.ID
		}
		s.ix.mu.Unlock()
	}
	if err = run(fn, apply); err != nil {
		return Subscriber{}, err
	}
	return rec, nil
}

// checkNumberFree says whether n can be assigned to a subscriber of provider.
func (s *Store) checkNumberFree(tx *bolt.Tx, n e164.Number, provider uint32) error {
	if id, ok := s.ix.byNumber[n]; ok {
		return fmt.Errorf("number %s: %w (belongs to subscriber %s)", n, ErrExists, s.ix.subscriberName(id))
	}
	return s.checkAllocated(tx, n, provider)
}

// GetSubscriber returns a subscriber by name or by one of its numbers.
func (s *Store) GetSubscriber(ref string) (Subscriber, error) {
	s.ix.mu.RLock()
	defer s.ix.mu.RUnlock()
	st, err := s.ix.findSubscriber(ref)
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
func (s *Store) EffectiveSettings(ref string) (SubscriberView, error) {
	s.ix.mu.RLock()
	defer s.ix.mu.RUnlock()
	st, err := s.ix.findSubscriber(ref)
	if err != nil {
		return SubscriberView{}, err
	}
	return s.ix.views[st.rec.ID], nil
}

func (st *subState) public() Subscriber {
	r := st.rec
	r.Numbers = slices.Clone(r.Numbers)
	r.HasPIN = st.pin != nil
	return r
}

// ListSubscribers returns subscribers in ID order, those of one provider
// when provider is not "", starting after ID after, at most limit (<= 0:
// all). Pass the last ID returned as after to get the next page.
func (s *Store) ListSubscribers(provider string, after uint32, limit int) ([]Subscriber, error) {
	s.ix.mu.RLock()
	defer s.ix.mu.RUnlock()
	var pid uint32
	if provider != "" {
		p, err := s.ix.providerByName(provider)
		if err != nil {
			return nil, err
		}
		pid = p.rec.ID
	}
	var out []Subscriber
	for id := int(after) + 1; id < len(s.ix.subs); id++ {
		st := s.ix.subs[id]
		if st == nil || pid != 0 && st.rec.ProviderID != pid {
			continue
		}
		if limit > 0 && len(out) == limit {
			break
		}
		out = append(out, st.public())
	}
	return out, nil
}

// AssignNumbers gives more numbers to a subscriber.
func (s *Store) AssignNumbers(subscriber string, numbers ...string) (Subscriber, error) {
	nums, err := parseNumbers(numbers)
	if err != nil {
		return Subscriber{}, fmt.Errorf("assign numbers to %s: %w", subscriber, err)
	}
	rec, err := s.changeSubscriber(subscriber, func(tx *bolt.Tx, r *Subscriber) error {
		nb := tx.Bucket(bktNumbers)
		for _, n := range nums {
			if id, ok := s.ix.byNumber[n]; ok && id == r.ID {
				continue
			}
			if err := s.checkNumberFree(tx, n, r.ProviderID); err != nil {
				return err
			}
			if err := nb.Put(u64(uint64(n)), u32(r.ID)); err != nil {
				return err
			}
			r.Numbers = append(slices.Clip(r.Numbers), n)
		}
		return nil
	})
	if err != nil {
		return Subscriber{}, fmt.Errorf("assign numbers: %w", err)
	}
	return rec, nil
}

// UnassignNumbers takes numbers away from a subscriber; the last number
// cannot be taken (delete the subscriber instead).
func (s *Store) UnassignNumbers(subscriber string, numbers ...string) (Subscriber, error) {
	nums, err := parseNumbers(numbers)
	if err != nil {
		return Subscriber{}, fmt.Errorf("unassign numbers from %s: %w", subscriber, err)
	}
	rec, err := s.changeSubscriber(subscriber, func(tx *bolt.Tx, r *Subscriber) error {
		keep := make([]e164.Number, 0, len(r.Numbers))
		for _, n := range r.Numbers {
			if !slices.Contains(nums, n) {
				keep = append(keep, n)
			}
		}
		for _, n := range nums {
			if !slices.Contains(r.Numbers, n) {
				return fmt.Errorf("number %s: %w (not a number of subscriber %s)", n, ErrNotFound, r.Name)
			}
		}
		if len(keep) == 0 {
			return fmt.Errorf("subscriber %s: %w (cannot take its last number; delete the subscriber instead)", r.Name, ErrInvalid)
		}
		nb := tx.Bucket(bktNumbers)
		for _, n := range nums {
			if err := nb.Delete(u64(uint64(n))); err != nil {
				return err
			}
		}
		r.Numbers = keep
		return nil
	})
	if err != nil {
		return Subscriber{}, fmt.Errorf("unassign numbers: %w", err)
	}
	return rec, nil
}

// SetPermissions sets what a subscriber may change itself. Settings it may
// no longer change fall back to the provider defaults at once.
func (s *Store) SetPermissions(subscriber string, perm Permission) (Subscriber, error) {
	rec, err := s.changeSubscriber(subscriber, func(_ *bolt.Tx, r *Subscriber) error {
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
// operator and the subscriber's provider may always write.
func (s *Store) SetTreatments(actor Actor, subscriber string, u SettingsUpdate) (Subscriber, error) {
	rec, err := s.changeSubscriber(subscriber, func(_ *bolt.Tx, r *Subscriber) error {
		if err := s.ix.authorize(actor, kindSubscriber, r.ID, u.touched()); err != nil {
			return err
		}
		set, err := u.apply(r.Settings)
		r.Settings = set
		return err
	})
	if err != nil {
		return Subscriber{}, fmt.Errorf("set treatments: %w", err)
	}
	return rec, nil
}

// changeSubscriber applies change to a copy of a subscriber's record inside
// a write transaction, stores it and refreshes the index.
func (s *Store) changeSubscriber(ref string, change func(*bolt.Tx, *Subscriber) error) (Subscriber, error) {
	var rec Subscriber
	var st *subState
	err := s.update(func(tx *bolt.Tx) error {
		var err error
		if st, err = s.ix.findSubscriber(ref); err != nil {
			return err
		}
		rec = st.rec
		if err := change(tx, &rec); err != nil {
			return fmt.Errorf("subscriber %s: %w", rec.Name, err)
		}
		return putJSON(tx.Bucket(bktSubscribers), rec.ID, &rec)
	}, func() {
		view := effective(&rec, &s.ix.provs[rec.ProviderID].rec, st.pin != nil)
		s.ix.mu.Lock()
		for _, n := range st.rec.Numbers {
			if !slices.Contains(rec.Numbers, n) {
				delete(s.ix.byNumber, n)
			}
		}
		for _, n := range rec.Numbers {
			s.ix.byNumber[n] = rec.ID
		}
		st.rec = rec
		s.ix.views[rec.ID] = view
		s.ix.mu.Unlock()
	})
	if err != nil {
		return Subscriber{}, err
	}
	s.ix.mu.RLock()
	defer s.ix.mu.RUnlock()
	return st.public(), nil
}

// DeleteSubscriber removes a subscriber, its numbers, PIN and lists.
func (s *Store) DeleteSubscriber(ref string) error {
	var st *subState
	err := s.update(func(tx *bolt.Tx) error {
		var err error
		if st, err = s.ix.findSubscriber(ref); err != nil {
			return err
		}
		id := st.rec.ID
		nb := tx.Bucket(bktNumbers)
		for _, n := range st.rec.Numbers {
			if err := nb.Delete(u64(uint64(n))); err != nil {
				return err
			}
		}
		if err := deleteOwnerLists(tx, kindSubscriber, id); err != nil {
			return err
		}
		if err := tx.Bucket(bktPINs).Delete(u32(id)); err != nil {
			return err
		}
		if err := tx.Bucket(bktNames).Delete(nameKey(kindSubscriber, st.rec.Name)); err != nil {
			return err
		}
		return tx.Bucket(bktSubscribers).Delete(u32(id))
	}, func() {
		s.ix.mu.Lock()
		for _, n := range st.rec.Numbers {
			delete(s.ix.byNumber, n)
		}
		delete(s.ix.subByName, st.rec.Name)
		s.ix.subs[st.rec.ID] = nil
		s.ix.views[st.rec.ID] = SubscriberView{}
		s.ix.dropLists(st.rec.ID)
		s.ix.lists[st.rec.ID] = [2][]e164.Number{}
		s.ix.mu.Unlock()
	})
	if err != nil {
		return fmt.Errorf("delete subscriber: %w", err)
	}
	return nil
}

// ---- enterprises ----

// CreateEnterprise adds an enterprise tenant. Its numbers must not be
// enrolled by another enterprise.
func (s *Store) CreateEnterprise(spec EnterpriseSpec) (Enterprise, error) {
	if err := validName("enterprise", spec.Name); err != nil {
		return Enterprise{}, fmt.Errorf("create enterprise: %w", err)
	}
	nums, err := parseNumbers(spec.Numbers)
	if err != nil {
		return Enterprise{}, fmt.Errorf("create enterprise %s: %w", spec.Name, err)
	}
	e := Enterprise{Name: spec.Name, Numbers: nums, Created: s.opts.Now().UTC()}
	err = s.update(func(tx *bolt.Tx) error {
		if _, ok := s.ix.entByName[e.Name]; ok {
			return fmt.Errorf("enterprise %s: %w", e.Name, ErrExists)
		}
		if spec.Provider != "" {
			p, err := s.ix.providerByName(spec.Provider)
			if err != nil {
				return err
			}
			e.ProviderID, e.Provider = p.rec.ID, p.rec.Name
		}
		for _, n := range nums {
			if id, ok := s.ix.entByNum[n]; ok {
				return fmt.Errorf("number %s: %w (enrolled by enterprise %s)", n, ErrExists, s.ix.ents[id].Name)
			}
		}
		b := tx.Bucket(bktEnterprises)
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		e.ID = uint32(seq)
		if err := putJSON(b, e.ID, &e); err != nil {
			return err
		}
		return tx.Bucket(bktNames).Put(nameKey(kindEnterprise, e.Name), u32(e.ID))
	}, func() {
		rec := e
		s.ix.mu.Lock()
		s.ix.ents = growSet(s.ix.ents, e.ID, &rec)
		s.ix.entByName[e.Name] = e.ID
		for _, n := range nums {
			s.ix.entByNum[n] = e.ID
		}
		s.ix.mu.Unlock()
	})
	if err != nil {
		return Enterprise{}, fmt.Errorf("create enterprise: %w", err)
	}
	return e, nil
}

// GetEnterprise returns an enterprise by name.
func (s *Store) GetEnterprise(name string) (Enterprise, error) {
	s.ix.mu.RLock()
	defer s.ix.mu.RUnlock()
	id, ok := s.ix.entByName[name]
	if !ok {
		return Enterprise{}, fmt.Errorf("enterprise %q: %w", name, ErrNotFound)
	}
	e := *s.ix.ents[id]
	e.Numbers = slices.Clone(e.Numbers)
	return e, nil
}

// ListEnterprises returns all enterprises in ID order.
func (s *Store) ListEnterprises() []Enterprise {
	s.ix.mu.RLock()
	defer s.ix.mu.RUnlock()
	var out []Enterprise
	for _, e := range s.ix.ents {
		if e != nil {
			c := *e
			c.Numbers = slices.Clone(c.Numbers)
			out = append(out, c)
		}
	}
	return out
}

// DeleteEnterprise removes an enterprise.
func (s *Store) DeleteEnterprise(name string) error {
	var e *Enterprise
	err := s.update(func(tx *bolt.Tx) error {
		id, ok := s.ix.entByName[name]
		if !ok {
			return fmt.Errorf("enterprise %q: %w", name, ErrNotFound)
		}
		e = s.ix.ents[id]
		if err := tx.Bucket(bktNames).Delete(nameKey(kindEnterprise, name)); err != nil {
			return err
		}
		return tx.Bucket(bktEnterprises).Delete(u32(id))
	}, func() {
		s.ix.mu.Lock()
		for _, n := range e.Numbers {
			delete(s.ix.entByNum, n)
		}
		delete(s.ix.entByName, name)
		s.ix.ents[e.ID] = nil
		s.ix.mu.Unlock()
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
		return nil, fmt.Errorf("provider %q: %w", name, ErrNotFound)
	}
	return ix.provs[id], nil
}

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
		return nil, fmt.Errorf("subscriber %q: %w", ref, ErrNotFound)
	}
	n, err := e164.Parse(ref)
	if err != nil {
		return nil, fmt.Errorf("subscriber %q (neither a name nor a number): %w", ref, err)
	}
	if id, ok := ix.byNumber[n]; ok {
		return ix.subs[id], nil
	}
	return nil, fmt.Errorf("subscriber with number %s: %w", n, ErrNotFound)
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

func putJSON(b *bolt.Bucket, id uint32, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(u32(id), data)
}

// deletePrefix deletes every key starting with prefix and returns how many.
func deletePrefix(b *bolt.Bucket, prefix []byte) (int, error) {
	var keys [][]byte
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		keys = append(keys, slices.Clone(k))
	}
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return 0, err
		}
	}
	return len(keys), nil
}

// deleteOwnerLists removes every list chunk and note of an owner.
func deleteOwnerLists(tx *bolt.Tx, kind byte, id uint32) error {
	prefix := entryPrefix(kind, id, 0)[:5]
	for _, b := range [][]byte{bktEntries, bktNotes} {
		if _, err := deletePrefix(tx.Bucket(b), prefix); err != nil {
			return err
		}
	}
	return nil
}
