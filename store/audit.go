package store

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"callgate/store/kv"
)

// The audit log: every change of tenant data (providers, allocations,
// subscribers, numbers, PINs, treatments, permissions, lists, enterprises,
// routes, API tokens) leaves one record, written in the same kv
// transaction as the change itself, so a change without its record (or a
// record of a change that did not happen) cannot exist, and the log
// replicates with the data over etcd. The record names who (the actor's
// principal, role and the path it came by: api, web, cli, ivr), when,
// what (operation and object) and the object before and after (a PIN only
// as "set"/"none"; a list as the numbers added and removed).
//
// Keys are audit/<unix nanoseconds, 8 bytes><4 random bytes>: key order is
// time order, and two nodes writing at the same instant do not collide.
// The log is bounded by count and age (Options.AuditMax, AuditMaxAge);
// CollectGarbage deletes the oldest records beyond either bound.

// Audit bounds' defaults.
const (
	DefaultAuditMax    = 100_000
	DefaultAuditMaxAge = 90 * 24 * time.Hour
	// auditSample bounds the numbers a list record names in full.
	auditSample = 50
)

// AuditRecord is one change.
type AuditRecord struct {
	ID        string    `json:"id"`
	At        time.Time `json:"at"`
	Principal string    `json:"principal"` // who: token, user, OS user
	Role      string    `json:"role"`      // operator, provider, subscriber
	Actor     string    `json:"actor"`     // the role's tenant: "provider acme"
	Via       string    `json:"via"`       // api, web, cli, ivr
	Op        string    `json:"op"`        // e.g. subscriber.treatments, list.add
	Object    string    `json:"object"`    // e.g. subscriber/alice, list/subscriber/alice/blocked
	// The tenants the object belongs to: who may read the record.
	ProviderID   uint32          `json:"provider_id,omitempty"`
	Provider     string          `json:"provider,omitempty"`
	SubscriberID uint32          `json:"subscriber_id,omitempty"`
	Subscriber   string          `json:"subscriber,omitempty"`
	Before       json.RawMessage `json:"before,omitempty"`
	After        json.RawMessage `json:"after,omitempty"`
}

// RoleName is the role's name in records and messages.
func RoleName(r Role) string {
	switch r {
	case RoleOperator:
		return "operator"
	case RoleProvider:
		return "provider"
	case RoleSubscriber:
		return "subscriber"
	}
	return "none"
}

// auditScope is whose data an audited object is.
type auditScope struct {
	provID, subID uint32
	prov, sub     string
}

func provScope(p Provider) auditScope { return auditScope{provID: p.ID, prov: p.Name} }

func subScope(r Subscriber) auditScope {
	return auditScope{provID: r.ProviderID, prov: r.Provider, subID: r.ID, sub: r.Name}
}

// ownerScope is the scope of a list owner. Caller holds applyMu.
func (ix *index) ownerScope(kind byte, id uint32) auditScope {
	switch kind {
	case kindSubscriber:
		if st := ix.sub(id); st != nil {
			return subScope(st.rec)
		}
	case kindProvider:
		if p := ix.prov(id); p != nil {
			return provScope(p.rec)
		}
	}
	return auditScope{}
}

// audit makes t carry the audit record of its change. before and after
// are the object as it was and as it will be (nil: absent). A plan that
// ends up writing nothing writes no record (writeLocked).
func (t *txn) audit(a Actor, op, object string, sc auditScope, before, after any) error {
	rec := &AuditRecord{Principal: a.Principal, Role: RoleName(a.Role), Actor: a.String(), Via: a.Via,
		Op: op, Object: object, ProviderID: sc.provID, Provider: sc.prov, SubscriberID: sc.subID, Subscriber: sc.sub}
	if rec.Principal == "" {
		rec.Principal = "(unnamed)"
	}
	if rec.Via == "" {
		rec.Via = "library"
	}
	var err error
	if before != nil {
		if rec.Before, err = json.Marshal(before); err != nil {
			return fmt.Errorf("audit %s: %w", op, err)
		}
	}
	if after != nil {
		if rec.After, err = json.Marshal(after); err != nil {
			return fmt.Errorf("audit %s: %w", op, err)
		}
	}
	t.auditRec = rec
	return nil
}

// sealAudit adds t's audit record to t, stamped now.
func (t *txn) sealAudit(now time.Time) error {
	if t.auditRec == nil || len(t.ops) == 0 {
		return nil
	}
	return t.putAudit(now)
}

// putAudit adds t's audit record (set) to t, stamped now, whatever else t
// writes: a bulk load's last batch may hold nothing but the record.
func (t *txn) putAudit(now time.Time) error {
	rec := t.auditRec
	var rnd [4]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return err
	}
	k := auditKey(now, rnd[:])
	rec.At = now.UTC()
	rec.ID = hex.EncodeToString(k[len(bAudit)+1:])
	return t.putJSON(k, rec)
}

func auditKey(at time.Time, suffix []byte) []byte {
	k := key(bAudit, binary.BigEndian.AppendUint64(nil, uint64(at.UnixNano()))...)
	return append(k, suffix...)
}

// pinState is how a PIN appears in the audit log: never the hash.
func pinState(set bool) map[string]string {
	if set {
		return map[string]string{"pin": "set"}
	}
	return map[string]string{"pin": "none"}
}

// listChange is how a list change appears in the audit log.
type listChange struct {
	Count   int      `json:"count"`
	Added   []string `json:"added,omitempty"`
	Removed []string `json:"removed,omitempty"`
	// More counts the added/removed numbers left out of the sample.
	More int `json:"more,omitempty"`
}

// auditLists records the list edits of one change: one list (before:
// its length; after: its length and the numbers added and removed), or an
// import of several (the same per list, by object).
func (t *txn) auditLists(a Actor, op string, ix *index, edits []*listEdit) error {
	if len(edits) == 0 {
		return nil
	}
	type side struct{ before, after any }
	per := func(e *listEdit) side {
		added, removed := diffSorted(e.next, e.old), diffSorted(e.old, e.next)
		ch := listChange{Count: len(e.next)}
		for _, n := range added {
			if len(ch.Added)+len(ch.Removed) < auditSample {
				ch.Added = append(ch.Added, n.String())
			} else {
				ch.More++
			}
		}
		for _, n := range removed {
			if len(ch.Added)+len(ch.Removed) < auditSample {
				ch.Removed = append(ch.Removed, n.String())
			} else {
				ch.More++
			}
		}
		return side{map[string]int{"count": len(e.old)}, ch}
	}
	if len(edits) == 1 {
		e := edits[0]
		sd := per(e)
		return t.audit(a, op, ix.listObject(e.l), ix.ownerScope(e.l.kind, e.l.owner), sd.before, sd.after)
	}
	before, after := map[string]any{}, map[string]any{}
	var sc auditScope
	for i, e := range edits {
		sd := per(e)
		before[ix.listObject(e.l)], after[ix.listObject(e.l)] = sd.before, sd.after
		es := ix.ownerScope(e.l.kind, e.l.owner)
		if i == 0 {
			sc = es
		}
		// One record covers the import: its scope is what all its lists
		// share (a provider's import of its subscribers: the provider).
		if es.subID != sc.subID {
			sc.subID, sc.sub = 0, ""
		}
		if es.provID != sc.provID {
			sc = auditScope{}
		}
	}
	return t.audit(a, op, fmt.Sprintf("lists (%d)", len(edits)), sc, before, after)
}

// listObject names a list in audit records: list/subscriber/NAME/blocked.
func (ix *index) listObject(l listKey) string {
	kind := "subscriber"
	if l.kind == kindProvider {
		kind = "provider"
	}
	return "list/" + kind + "/" + ix.ownerName(l.kind, l.owner) + "/" + l.list.String()
}

// diffSorted returns the numbers of a (sorted) not in b (sorted).
func diffSorted[T ~uint64](a, b []T) []T {
	var out []T
	j := 0
	for _, x := range a {
		for j < len(b) && b[j] < x {
			j++
		}
		if j < len(b) && b[j] == x {
			continue
		}
		out = append(out, x)
	}
	return out
}

// AuditQuery selects audit records. Zero fields select everything.
type AuditQuery struct {
	Since, Until time.Time
	// Actor matches records whose principal or actor contains it.
	Actor string
	// Object matches records whose object contains it.
	Object string
	// Before continues a search after the oldest record of the previous
	// page (its ID).
	Before string
	// Limit bounds the records returned (default 100, at most 10,000).
	Limit int
}

// SearchAudit returns the records the query selects that actor may read,
// newest first: the operator every record, a provider the records of
// itself and its subscribers, a subscriber its own.
func (s *Store) SearchAudit(actor Actor, q AuditQuery) ([]AuditRecord, error) {
	if q.Limit <= 0 {
		q.Limit = 100
	}
	q.Limit = min(q.Limit, 10_000)
	var provID, subID uint32
	s.ix.mu.RLock()
	switch actor.Role {
	case RoleOperator:
	case RoleProvider:
		provID = s.ix.provByName[actor.Name]
	case RoleSubscriber:
		subID = s.ix.subByName[actor.Name]
	}
	s.ix.mu.RUnlock()
	if actor.Role != RoleOperator && provID == 0 && subID == 0 {
		return nil, nil // a tenant that no longer exists reads nothing
	}
	start, end := bucketPrefix(bAudit), prefixEnd(bucketPrefix(bAudit))
	if !q.Since.IsZero() {
		start = auditKey(q.Since, nil)
	}
	if !q.Until.IsZero() {
		end = auditKey(q.Until, nil)
	}
	if q.Before != "" {
		b, err := hex.DecodeString(q.Before)
		if err != nil || len(b) != 12 {
			return nil, fmt.Errorf("audit cursor %q: %w (pass the id of a record as returned)", q.Before, ErrInvalid)
		}
		if k := key(bAudit, b...); bytes.Compare(k, end) < 0 {
			end = k
		}
	}
	// Keep the newest Limit matches: a ring over the forward scan.
	ring := make([]AuditRecord, 0, q.Limit)
	next := 0
	err := s.kv.View(func(r kv.Reader) error {
		return r.Range(start, end, func(_, v []byte, _ int64) error {
			var rec AuditRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return nil // a record this version cannot read is skipped, not fatal
			}
			switch {
			case provID != 0 && rec.ProviderID != provID,
				subID != 0 && rec.SubscriberID != subID,
				q.Actor != "" && !strings.Contains(rec.Principal, q.Actor) && !strings.Contains(rec.Actor, q.Actor),
				q.Object != "" && !strings.Contains(rec.Object, q.Object):
				return nil
			}
			if len(ring) < q.Limit {
				ring = append(ring, rec)
			} else {
				ring[next] = rec
				next = (next + 1) % q.Limit
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("search audit log: %w", err)
	}
	out := make([]AuditRecord, 0, len(ring))
	for i := range ring {
		out = append(out, ring[(next+len(ring)-1-i)%len(ring)])
	}
	return out, nil
}

// auditGarbage returns the deletes of records beyond the count and age
// bounds (the oldest first).
func (s *Store) auditGarbage(r kv.Reader) ([]kv.Op, error) {
	maxN, age := s.opts.AuditMax, s.opts.AuditMaxAge
	cut := auditKey(s.opts.Now().Add(-age), nil)
	var keys [][]byte
	p := bucketPrefix(bAudit)
	err := r.Range(p, prefixEnd(p), func(k, _ []byte, _ int64) error {
		keys = append(keys, bytes.Clone(k))
		return nil
	})
	if err != nil {
		return nil, err
	}
	drop := max(len(keys)-maxN, 0)
	for drop < len(keys) && bytes.Compare(keys[drop], cut) < 0 {
		drop++
	}
	ops := make([]kv.Op, 0, drop)
	for _, k := range keys[:drop] {
		ops = append(ops, kv.Delete(k))
	}
	return ops, nil
}

// entScope is an enterprise's scope: its provider's.
func entScope(e Enterprise) auditScope { return auditScope{provID: e.ProviderID, prov: e.Provider} }

// entAudit is an enterprise as the audit log shows it: without its token
// hash (whether one is set is enough).
func entAudit(e Enterprise) Enterprise {
	if e.Signals.TokenHash != nil {
		e.Signals.TokenHash = []byte("set")
	}
	return e
}

// tokenAudit is an API token as the audit log shows it: without its hash.
func tokenAudit(t APIToken) APIToken { t.Hash = nil; return t }

// actorScope is the scope of what acts as a: a provider's or a
// subscriber's records. Caller holds applyMu.
func (ix *index) actorScope(a Actor) auditScope {
	switch a.Role {
	case RoleProvider:
		if p := ix.prov(ix.provByName[a.Name]); p != nil {
			return provScope(p.rec)
		}
	case RoleSubscriber:
		if st := ix.sub(ix.subByName[a.Name]); st != nil {
			return subScope(st.rec)
		}
	}
	return auditScope{}
}
