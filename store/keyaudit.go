package store

import (
	"context"
	"fmt"
)

// Call keys (keys/) live in each node's memory and keys.dir, not in the
// store, so revoking them writes nothing here and left no audit record:
// who revoked an enterprise's keys, and when, was only in one node's log.
// A revocation is a management change like any other (the operator's
// answer to a leaked token), so it gets its record, written after the
// keys were revoked: the record says what happened, and a revocation is
// never held back by the store (etcd out of reach must not keep a thief's
// keys matching). Only revocations write here; registering a key and
// checking a call never touch the store.

// KeyRevocation is a revocation of an enterprise's call keys as its audit
// record shows it (op keys.revoke, object enterprise/NAME/keys, or
// enterprise/NAME/keys/CALLING/CALLED for one pair).
type KeyRevocation struct {
	// Calling and Called name the pair whose keys were revoked; empty:
	// every key of the enterprise.
	Calling string `json:"calling,omitempty"`
	Called  string `json:"called,omitempty"`
	// Revoked is how many keys stopped matching (0: none could still).
	Revoked int `json:"revoked"`
	// Reason says why, when the revocation came with another change
	// ("token reissued": a token issued with revoke_keys).
	Reason string `json:"reason,omitempty"`
	// Error is what went wrong while revoking (the keys revoked on this
	// node but not saved, or not carried to every node): the revocation
	// must be repeated.
	Error string `json:"error,omitempty"`
	// ByEnterprise: the enterprise revoked its own keys with its API
	// token (DELETE /api/v1/keys...); the actor passed is then ignored.
	ByEnterprise bool `json:"-"`
}

// AuditKeyRevocation records that call keys of enterprise name were
// revoked, by actor (the operator or the enterprise's provider) or by the
// enterprise itself (r.ByEnterprise). It writes the audit record alone, in
// one transaction, bounded by ctx.
func (s *Store) AuditKeyRevocation(ctx context.Context, actor Actor, name string, r KeyRevocation) error {
	object := "enterprise/" + name + "/keys"
	if r.Calling != "" || r.Called != "" {
		object += "/" + r.Calling + "/" + r.Called
	}
	err := s.writeCtx(ctx, func(t *txn) error {
		id, ok := s.ix.entByName[name]
		if !ok {
			return fmt.Errorf("enterprise %q: %w", name, ErrNotFound)
		}
		st := s.ix.ents[id]
		by := actor
		if r.ByEnterprise {
			// An enterprise is no store role (it writes nothing else):
			// the record names it and its token.
			by = Actor{Principal: name + "'s API token", Via: "api"}
		} else if err := s.ix.mayEnterprise(actor, st); err != nil {
			return err
		}
		if err := t.audit(by, "keys.revoke", object, entScope(st.rec), nil, r); err != nil {
			return err
		}
		if r.ByEnterprise {
			t.auditRec.Role, t.auditRec.Actor = "enterprise", "enterprise "+name
		}
		// The record is the whole transaction: sealAudit adds a record
		// only to a change.
		err := t.putAudit(s.opts.Now())
		t.auditRec = nil
		return err
	})
	if err != nil {
		return fmt.Errorf("audit the revocation of %s's call keys: %w", name, err)
	}
	return nil
}
