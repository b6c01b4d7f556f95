package store

import (
	"bytes"
	"fmt"
	"strings"

	"callgate/e164"
)

// Counting and searching subscribers without copying them all out: a
// provider with a million subscribers gets its count in O(1) and a page of
// search results without the caller paging through the whole list.
//
// The index keeps the number of subscribers of each provider (subsOf), in
// step with every change that adds or removes one (the change-feed
// applier, a committed bulk import, a rebuild), as it keeps the list row
// totals for Counts.

// countSubscriber adds delta to the subscribers of provider pid. Caller
// holds mu.Lock (or owns a new index).
func (ix *index) countSubscriber(pid uint32, delta int) {
	if ix.subsOf == nil {
		ix.subsOf = make(map[uint32]int)
	}
	if n := ix.subsOf[pid] + delta; n > 0 {
		ix.subsOf[pid] = n
	} else {
		delete(ix.subsOf, pid)
	}
}

// CountSubscribers returns how many subscribers actor may see, of one
// provider when provider is not "", in O(1): the length of what
// ListSubscribers with no limit returns (a provider outside actor's scope
// is not found, as there).
func (s *Store) CountSubscribers(actor Actor, provider string) (int, error) {
	ix := &s.ix
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	pid, err := ix.subscriberScope(actor, provider)
	if err != nil {
		return 0, err
	}
	switch actor.Role {
	case RoleOperator:
		if pid == 0 {
			return len(ix.subByName), nil
		}
		return ix.subsOf[pid], nil
	case RoleProvider:
		if pid == 0 {
			return 0, nil // its provider record is gone
		}
		return ix.subsOf[pid], nil
	case RoleSubscriber:
		if st := ix.sub(ix.subByName[actor.Name]); st != nil && st.rec.Name == actor.Name {
			return 1, nil
		}
		return 0, nil
	}
	return 0, fmt.Errorf("count subscribers: %w: no actor given", ErrForbidden)
}

// subscriberScope is the provider ID a listing by actor is limited to (0:
// none): the one named, if actor may manage it (as ListSubscribers); a
// provider actor's own when none is named. Caller holds mu.
func (ix *index) subscriberScope(actor Actor, provider string) (uint32, error) {
	if provider == "" {
		if actor.Role == RoleProvider {
			return ix.provByName[actor.Name], nil
		}
		return 0, nil
	}
	p, err := ix.providerByNameAs(actor, provider)
	if err != nil {
		return 0, err
	}
	return p.rec.ID, nil
}

// SubscriberQuery selects subscribers for SearchSubscribers.
type SubscriberQuery struct {
	Provider string // only this provider's ("": all actor may see)
	// Text matches a subscriber whose name contains it (ignoring case) or
	// one of whose numbers contains its digits (at least 3; separators
	// such as spaces, '-', '(' are ignored), e.g. "5550100". A whole
	// number as e164.Parse reads it ("(303) 555-0100") finds its
	// subscriber directly. "": every subscriber.
	Text  string
	After uint32 // the ID to start after (the cursor: the last ID returned)
	Limit int    // at most this many (<= 0: 50; at most 1000)
}

// MaxSearchLimit is the largest page SearchSubscribers returns.
const MaxSearchLimit = 1000

// searchChunk is how many IDs a search examines per hold of the index's
// read lock: a search through a million subscribers never keeps a writer
// (and the call path's readers queued behind it) waiting for more than a
// fraction of a millisecond.
const searchChunk = 4096

// SearchSubscribers returns the subscribers actor may see that match q,
// in ID (creation) order, and whether more may follow (then pass the last
// ID returned as q.After). Only what a page needs is copied; a search
// with no match reads every subscriber's name and numbers, in chunks.
func (s *Store) SearchSubscribers(actor Actor, q SubscriberQuery) ([]Subscriber, bool, error) {
	if q.Limit <= 0 {
		q.Limit = 50
	}
	q.Limit = min(q.Limit, MaxSearchLimit)
	m := newSubMatcher(q.Text)
	ix := &s.ix
	ix.mu.RLock()
	pid, err := ix.subscriberScope(actor, q.Provider)
	if err != nil {
		ix.mu.RUnlock()
		return nil, false, err
	}
	if m.whole != 0 {
		// One number: its subscriber or nobody.
		defer ix.mu.RUnlock()
		id, ok := ix.byNumber.get(m.whole)
		if !ok || id <= q.After || !ix.searchable(actor, pid, ix.sub(id)) {
			return nil, false, nil
		}
		return []Subscriber{ix.sub(id).public()}, false, nil
	}
	ix.mu.RUnlock()
	var out []Subscriber
	for id := int(q.After) + 1; ; {
		ix.mu.RLock()
		end := min(id+searchChunk, len(ix.subs))
		for ; id < end; id++ {
			st := ix.subs[id]
			if st == nil || !ix.searchable(actor, pid, st) || !m.match(st) {
				continue
			}
			if len(out) == q.Limit {
				ix.mu.RUnlock()
				return out, true, nil
			}
			out = append(out, st.public())
		}
		done := id >= len(ix.subs)
		ix.mu.RUnlock()
		if done {
			return out, false, nil
		}
	}
}

// searchable says whether st is one of pid's subscribers (any for 0) that
// actor may see. Caller holds mu.
func (ix *index) searchable(actor Actor, pid uint32, st *subState) bool {
	return st != nil && (pid == 0 || st.rec.ProviderID == pid) && ix.authorize(actor, kindSubscriber, st.rec.ID, 0) == nil
}

// subMatcher is a SubscriberQuery's Text, prepared once.
type subMatcher struct {
	text   string      // "": everything matches
	digits []byte      // the text's digits when it is a number fragment
	whole  e164.Number // the text as a whole number
}

func newSubMatcher(text string) subMatcher {
	m := subMatcher{text: strings.TrimSpace(text)}
	if m.text == "" {
		return m
	}
	if n, err := e164.Parse(m.text); err == nil {
		m.whole = n
		return m
	}
	for i := 0; i < len(m.text); i++ {
		switch c := m.text[i]; {
		case c >= '0' && c <= '9':
			m.digits = append(m.digits, c)
		case c == '+' || c == ' ' || c == '-' || c == '.' || c == '(' || c == ')':
		default:
			m.digits = nil
			return m
		}
	}
	if len(m.digits) < 3 {
		m.digits = nil
	}
	return m
}

// match says whether st's name or one of its numbers matches.
func (m *subMatcher) match(st *subState) bool {
	if m.text == "" || containsFold(st.rec.Name, m.text) {
		return true
	}
	if m.digits == nil {
		return false
	}
	var buf [24]byte
	for _, n := range st.rec.Numbers {
		if bytes.Contains(n.AppendTo(buf[:0]), m.digits) {
			return true
		}
	}
	return false
}

// containsFold says whether s contains sub, ignoring case, without
// allocating.
func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}
