package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"callgate/e164"
	"callgate/store/kv"

	"golang.org/x/crypto/bcrypt"
)

// Entry is one row of a list.
type Entry struct {
	Number e164.Number `json:"number"`
	Note   string      `json:"note,omitempty"`
}

// ListPage is one page of a list.
type ListPage struct {
	Entries []Entry `json:"entries"`
	Total   int     `json:"total"` // rows in the whole list
	// Revision is the list's revision, for Actor.IfRevision (0: never
	// changed).
	Revision int64 `json:"revision,omitempty"`
	// Next is the number to pass as after for the following page; zero when
	// this page is the last.
	Next e164.Number `json:"next,omitempty"`
}

// MaxNoteLen bounds a list row's note in bytes.
const MaxNoteLen = 200

// ProviderPrefix marks a provider in owner arguments ("provider:acme"); any
// other owner argument is a subscriber name or number.
const ProviderPrefix = "provider:"

// ownerRef is a resolved list owner.
type ownerRef struct {
	kind byte
	id   uint32
	name string
}

func (o ownerRef) String() string {
	if o.kind == kindProvider {
		return ProviderPrefix + o.name
	}
	return "subscriber " + o.name
}

// resolveOwner turns "provider:NAME", a subscriber name or a subscriber
// number into an owner. Caller holds ix.mu (read) or the writer lock.
func (ix *index) resolveOwner(ref string) (ownerRef, error) {
	ref = strings.TrimSpace(ref)
	if len(ref) >= len(ProviderPrefix) && strings.EqualFold(ref[:len(ProviderPrefix)], ProviderPrefix) {
		p, err := ix.providerByName(strings.TrimSpace(ref[len(ProviderPrefix):]))
		if err != nil {
			return ownerRef{}, err
		}
		return ownerRef{kindProvider, p.rec.ID, p.rec.Name}, nil
	}
	st, err := ix.findSubscriber(ref)
	if err != nil {
		return ownerRef{}, err
	}
	return ownerRef{kindSubscriber, st.rec.ID, st.rec.Name}, nil
}

// noOwner is resolveOwner's answer for a ref that names no owner.
func noOwner(ref string) error {
	ref = strings.TrimSpace(ref)
	if len(ref) >= len(ProviderPrefix) && strings.EqualFold(ref[:len(ProviderPrefix)], ProviderPrefix) {
		return errNoProvider(strings.TrimSpace(ref[len(ProviderPrefix):]))
	}
	return errNoSubscriber(ref)
}

// checkList says whether the owner has list l. Subscribers and providers
// both have a VIP and a Blocked list.
func (o ownerRef) checkList(l List) error {
	if !l.valid() {
		return fmt.Errorf("list %d: %w", l, ErrInvalid)
	}
	return nil
}

// authorize checks that actor may make a change needing perm to the owner.
// Caller holds the writer lock or ix.mu.
func (ix *index) authorize(a Actor, kind byte, id uint32, need Permission) error {
	switch a.Role {
	case RoleOperator:
		return nil
	case RoleProvider:
		p, ok := ix.provByName[a.Name]
		if ok && (kind == kindProvider && id == p ||
			kind == kindSubscriber && ix.sub(id) != nil && ix.sub(id).rec.ProviderID == p) {
			return nil
		}
		return fmt.Errorf("%s: %w (outside its own tenants)", a, ErrForbidden)
	case RoleSubscriber:
		st := ix.sub(id)
		if kind != kindSubscriber || st == nil || st.rec.Name != a.Name {
			return fmt.Errorf("%s: %w (a subscriber may change only itself)", a, ErrForbidden)
		}
		if locked := need &^ st.rec.Permissions; locked != 0 {
			return fmt.Errorf("%s may not change %s: %w", a, locked, ErrLocked)
		}
		return nil
	}
	return fmt.Errorf("%w: no actor given", ErrForbidden)
}

func listPerm(l List) Permission {
	if l == ListVIP {
		return PermVIP
	}
	return PermBlocked
}

func checkNote(note string) (string, error) {
	note = strings.TrimSpace(note)
	if len(note) > MaxNoteLen {
		return "", fmt.Errorf("note: %w (longer than %d bytes)", ErrInvalid, MaxNoteLen)
	}
	if !utf8.ValidString(note) {
		return "", fmt.Errorf("note: %w (not UTF-8)", ErrInvalid)
	}
	for _, r := range note {
		if r < ' ' || r == 0x7f {
			return "", fmt.Errorf("note %q: %w (control character)", note, ErrInvalid)
		}
	}
	return note, nil
}

// AddToList adds numbers (any accepted form) to owner's list, all or none:
// one bad number fails the call with every bad input named. owner is a
// subscriber name or number, or "provider:NAME". A number already on the
// list gets the new note. It returns how many numbers were not on the list
// before. A number may be on both the VIP and the Blocked list of a
// subscriber; the decision engine consults VIP first.
func (s *Store) AddToList(actor Actor, owner string, list List, numbers []string, note string) (added int, err error) {
	return s.AddToListContext(context.Background(), actor, owner, list, numbers, note)
}

// AddToListContext is AddToList given up once ctx ends (an error; the
// change is then made wholly or not at all, see writebound.go).
func (s *Store) AddToListContext(ctx context.Context, actor Actor, owner string, list List, numbers []string, note string) (added int, err error) {
	fail := func(err error) (int, error) { return 0, fmt.Errorf("add to %s list of %s: %w", list, owner, err) }
	nums, err := parseNumbers(numbers)
	if err != nil {
		return fail(err)
	}
	if note, err = checkNote(note); err != nil {
		return fail(err)
	}
	added, err = s.changeList(ctx, actor, "list.add", owner, list, nums, note, mergeSorted)
	if err != nil {
		return fail(err)
	}
	return added, nil
}

// RemoveFromList removes numbers from owner's list (numbers not on it are
// ignored) and returns how many were removed.
func (s *Store) RemoveFromList(actor Actor, owner string, list List, numbers []string) (removed int, err error) {
	return s.RemoveFromListContext(context.Background(), actor, owner, list, numbers)
}

// RemoveFromListContext is RemoveFromList given up once ctx ends (an
// error; the change is then made wholly or not at all).
func (s *Store) RemoveFromListContext(ctx context.Context, actor Actor, owner string, list List, numbers []string) (removed int, err error) {
	fail := func(err error) (int, error) { return 0, fmt.Errorf("remove from %s list of %s: %w", list, owner, err) }
	nums, err := parseNumbers(numbers)
	if err != nil {
		return fail(err)
	}
	removed, err = s.changeList(ctx, actor, "list.remove", owner, list, nums, "", subtractSorted)
	if err != nil {
		return fail(err)
	}
	return -removed, nil
}

// changeList is the one write path of AddToList and RemoveFromList: it
// resolves and authorises the owner, computes the new list with change
// (old list, sorted numbers) and writes it with the numbers' notes (see
// writeLists). It returns the change in the list's length.
func (s *Store) changeList(ctx context.Context, actor Actor, op, owner string, list List, nums []e164.Number, note string,
	change func(cur, nums []e164.Number) []e164.Number) (delta int, err error) {
	slices.Sort(nums)
	noteOf := func(int) string { return note }
	err = s.writeListsCtx(ctx, func() ([]*listEdit, error) {
		o, err := s.ix.resolveOwnerAs(actor, owner)
		if err != nil {
			return nil, err
		}
		if err := o.checkList(list); err != nil {
			return nil, err
		}
		if err := s.ix.authorize(actor, o.kind, o.id, listPerm(list)); err != nil {
			return nil, err
		}
		l := listKey{o.kind, o.id, list}
		if err := actor.checkRevision(fmt.Sprintf("%s list of %s", list, o), s.ix.listMeta(l).rev()); err != nil {
			return nil, err
		}
		old := s.ix.content(l).rows
		e := &listEdit{l: l, name: o.String(), meta: *s.ix.listMeta(l), old: old, next: change(old, nums),
			touched: nums, noteOf: noteOf}
		delta = len(e.next) - len(old)
		return []*listEdit{e}, nil
	}, &listAudit{actor, op}, nil)
	return delta, err
}

// ListEntries returns up to limit rows (default 100, at most 10,000) of
// owner's list in number order, starting after the number after (zero: from
// the start).
// actor must be the operator, the owner or the owner's provider.
func (s *Store) ListEntries(actor Actor, owner string, list List, after e164.Number, limit int) (ListPage, error) {
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 10000)
	s.ix.mu.RLock()
	o, err := s.ix.resolveOwnerAs(actor, owner)
	if err == nil {
		err = o.checkList(list)
	}
	var (
		total int
		l     = listKey{o.kind, o.id, list}
		gen   uint64
		rev   int64
	)
	if err == nil {
		var dst *memberList
		if dst, err = s.ix.listSlice(o.kind, o.id, list); err == nil {
			total = len(dst.rows)
			gen = s.ix.listMeta(l).gen
			rev = s.ix.listMeta(l).rev()
		}
	}
	s.ix.mu.RUnlock()
	if err != nil {
		return ListPage{}, fmt.Errorf("list %s of %s: %w", list, owner, err)
	}
	page := ListPage{Total: total, Revision: rev}
	start := after + 1
	if after == 0 {
		start = 0
	}
	err = s.kv.View(func(r kv.Reader) error {
		// Skip whole chunks that end before start (their last 8 bytes),
		// then take numbers; then the notes of the page's numbers.
		p := listGenPrefix(bEntries, l, gen)
		err := r.Range(p, prefixEnd(p), func(_, v []byte, _ int64) error {
			if len(v) < 8 || rowNumber(v) < start {
				return nil
			}
			for i := 0; i+8 <= len(v); i += 8 {
				n := rowNumber(v[:i+8])
				if n < start {
					continue
				}
				if len(page.Entries) == limit {
					page.Next = page.Entries[limit-1].Number
					return errStop
				}
				page.Entries = append(page.Entries, Entry{Number: n})
			}
			return nil
		})
		if err != nil && err != errStop {
			return err
		}
		if len(page.Entries) == 0 {
			return nil
		}
		i := 0
		lo := rowKey(bNotes, l, gen, page.Entries[0].Number)
		hi := rowKey(bNotes, l, gen, page.Entries[len(page.Entries)-1].Number+1)
		return r.Range(lo, hi, func(k, v []byte, _ int64) error {
			n := rowNumber(k)
			for i < len(page.Entries) && page.Entries[i].Number < n {
				i++
			}
			if i < len(page.Entries) && page.Entries[i].Number == n {
				page.Entries[i].Note = string(v)
			}
			return nil
		})
	})
	return page, err
}

// ---- PIN ----

// PIN length limits (digits only, so callers can key it on a phone).
const (
	MinPINLen = 4
	MaxPINLen = 8
)

// SetPIN sets a subscriber's override PIN. Only a bcrypt hash is stored; the
// PIN can be checked (CheckPIN) but never read back.
func (s *Store) SetPIN(actor Actor, subscriber, pin string) error {
	return s.SetPINContext(context.Background(), actor, subscriber, pin)
}

// SetPINContext is SetPIN given up once ctx ends (an error; the PIN is
// then changed or not, see writebound.go). ctx's time includes the hash
// (tens of milliseconds at the default cost).
func (s *Store) SetPINContext(ctx context.Context, actor Actor, subscriber, pin string) error {
	if len(pin) < MinPINLen || len(pin) > MaxPINLen || strings.Trim(pin, "0123456789") != "" {
		return fmt.Errorf("set PIN of %s: %w (PIN must be %d to %d digits)", subscriber, ErrInvalid, MinPINLen, MaxPINLen)
	}
	// Hash before taking the writer lock: bcrypt is deliberately slow.
	hash, err := bcrypt.GenerateFromPassword([]byte(pin), s.opts.PINCost)
	if err != nil {
		return fmt.Errorf("set PIN of %s: %w", subscriber, err)
	}
	return s.putPIN(ctx, actor, subscriber, hash)
}

// ClearPIN removes a subscriber's override PIN.
func (s *Store) ClearPIN(actor Actor, subscriber string) error {
	return s.putPIN(context.Background(), actor, subscriber, nil)
}

func (s *Store) putPIN(ctx context.Context, actor Actor, subscriber string, hash []byte) error {
	err := s.writeCtx(ctx, func(t *txn) error {
		st, err := s.ix.findSubscriberAs(actor, subscriber)
		if err != nil {
			return err
		}
		if err := s.ix.authorize(actor, kindSubscriber, st.rec.ID, PermPIN); err != nil {
			return err
		}
		t.cmp(idKey(bSubscribers, st.rec.ID), st.mod) // still there, same permissions
		op := "subscriber.pin.set"
		if hash == nil {
			if st.pin == nil {
				return nil
			}
			t.del(idKey(bPINs, st.rec.ID))
			op = "subscriber.pin.clear"
		} else {
			t.put(idKey(bPINs, st.rec.ID), hash)
		}
		return t.audit(actor, op, "subscriber/"+st.rec.Name+"/pin", subScope(st.rec), pinState(st.pin != nil), pinState(hash != nil))
	})
	if err != nil {
		return fmt.Errorf("set PIN of %s: %w", subscriber, err)
	}
	return nil
}

// CheckPIN reports whether pin is the subscriber's override PIN (subscriber
// is the internal ID from SubscriberView). It costs one bcrypt comparison
// (tens of milliseconds at the default cost): call it from the B2BUA, not
// from the decision path, and rate-limit attempts there.
func (s *Store) CheckPIN(subscriber uint32, pin string) bool {
	s.ix.mu.RLock()
	var hash []byte
	if st := s.ix.sub(subscriber); st != nil {
		hash = st.pin
	}
	s.ix.mu.RUnlock()
	if hash == nil || pin == "" {
		return false
	}
	return bcrypt.CompareHashAndPassword(hash, []byte(pin)) == nil
}
