package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"callgate/store/kv"
)

// Web users log in to the web UI with a password (admin/ turns a login
// into a session). Each acts as one Actor: the platform owner, a provider
// or a subscriber. They are created by the CLI or the API by whoever may
// issue an API token for that actor (mayIssue); there is no default
// password. Only a bcrypt hash is kept. Failed logins are counted in the
// record, so a lockout holds on every node: after MaxFailedLogins in a row
// the user is locked for LockoutPeriod.

// Web user limits.
const (
	MinPasswordLen  = 10
	MaxPasswordLen  = 72 // bcrypt's limit
	MaxFailedLogins = 5
	LockoutPeriod   = 15 * time.Minute
)

// ErrLockedOut: too many failed logins; the user must wait.
var ErrLockedOut = errors.New("locked after too many failed logins")

// WebUser is one web UI login.
type WebUser struct {
	Name        string    `json:"name"`
	Role        Role      `json:"role"`
	Tenant      string    `json:"tenant,omitempty"`    // provider or subscriber name
	TenantID    uint32    `json:"tenant_id,omitempty"` // its ID (0: made before users were bound to IDs; see mayHold)
	Hash        []byte    `json:"hash"`
	Created     time.Time `json:"created"`
	By          string    `json:"by"`
	Failed      int       `json:"failed,omitempty"`
	LockedUntil time.Time `json:"locked_until,omitzero"`
}

// Actor is the actor the user acts as.
func (u WebUser) Actor() Actor { return Actor{Role: u.Role, Name: u.Tenant} }

func userKey(name string) []byte { return []byte(bWebUsers + "/" + name) }

// userAudit is a web user as the audit log shows it: without its hash.
func userAudit(u WebUser) WebUser { u.Hash = nil; return u }

// CreateWebUser adds a web login name acting as whom with password.
// actor may create users for what it may issue API tokens for.
func (s *Store) CreateWebUser(actor Actor, whom Actor, name, password string) (WebUser, error) {
	fail := func(err error) (WebUser, error) { return WebUser{}, fmt.Errorf("create web user %q: %w", name, err) }
	if err := validName("user", name); err != nil {
		return fail(err)
	}
	if len(password) < MinPasswordLen || len(password) > MaxPasswordLen {
		return fail(fmt.Errorf("%w (a password of %d to %d bytes)", ErrInvalid, MinPasswordLen, MaxPasswordLen))
	}
	tenant, err := s.mayIssue(actor, whom)
	if err != nil {
		return fail(err)
	}
	// Hash before taking the writer lock: bcrypt is deliberately slow.
	hash, err := bcrypt.GenerateFromPassword([]byte(password), s.opts.PINCost)
	if err != nil {
		return fail(err)
	}
	u := WebUser{Name: name, Role: whom.Role, Tenant: whom.Name, TenantID: tenant, Hash: hash, Created: s.opts.Now().UTC(), By: actor.String()}
	err = s.write(func(t *txn) error {
		t.cmp(userKey(name), 0)
		if err := t.putJSON(userKey(name), &u); err != nil {
			return err
		}
		return t.audit(actor, "user.create", "user/"+name, s.ix.actorScope(whom), nil, userAudit(u))
	})
	if err != nil {
		if errors.Is(err, ErrContention) || errors.Is(err, kv.ErrConflict) {
			err = ErrExists
		}
		return fail(err)
	}
	return u, nil
}

// DeleteWebUser removes a web user; actor must be allowed to create it.
func (s *Store) DeleteWebUser(actor Actor, name string) error {
	err := s.write(func(t *txn) error {
		u, mod, err := s.webUser(name)
		if err != nil {
			return err
		}
		if mod == 0 || s.mayHold(actor, u.Actor(), u.TenantID) != nil {
			return fmt.Errorf("web user %q: %w", name, ErrNotFound)
		}
		t.cmp(userKey(name), mod)
		t.del(userKey(name))
		return t.audit(actor, "user.delete", "user/"+name, s.ix.actorScope(u.Actor()), userAudit(u), nil)
	})
	if err != nil {
		return fmt.Errorf("delete web user: %w", err)
	}
	return nil
}

// WebUsers returns the web users actor may manage, by name.
func (s *Store) WebUsers(actor Actor) ([]WebUser, error) {
	var out []WebUser
	p := bucketPrefix(bWebUsers)
	err := s.kv.View(func(r kv.Reader) error {
		return r.Range(p, prefixEnd(p), func(_, v []byte, _ int64) error {
			var u WebUser
			if err := json.Unmarshal(v, &u); err != nil {
				return err
			}
			if s.mayHold(actor, u.Actor(), u.TenantID) == nil {
				out = append(out, userAudit(u))
			}
			return nil
		})
	})
	return out, err
}

func (s *Store) webUser(name string) (WebUser, int64, error) {
	var u WebUser
	var mod int64
	err := s.kv.View(func(r kv.Reader) error {
		v, m, err := r.Get(userKey(name))
		if err != nil || v == nil {
			return err
		}
		mod = m
		return json.Unmarshal(v, &u)
	})
	return u, mod, err
}

// CheckWebLogin checks name's password. A wrong password counts against
// the user (MaxFailedLogins in a row lock it for LockoutPeriod, on every
// node); a right one resets the count. The error never says whether the
// name exists, except ErrLockedOut for a locked user.
func (s *Store) CheckWebLogin(name, password string) (WebUser, error) {
	bad := fmt.Errorf("login: %w (unknown user or wrong password)", ErrForbidden)
	u, mod, err := s.webUser(name)
	if err != nil {
		return WebUser{}, err
	}
	now := s.opts.Now()
	if mod == 0 {
		// Spend the same time as a real check, so timing does not tell
		// which names exist.
		_, _ = bcrypt.GenerateFromPassword([]byte(password), s.opts.PINCost)
		return WebUser{}, bad
	}
	if now.Before(u.LockedUntil) {
		return WebUser{}, fmt.Errorf("login: %w until %s", ErrLockedOut, u.LockedUntil.Format(time.RFC3339))
	}
	ok := bcrypt.CompareHashAndPassword(u.Hash, []byte(password)) == nil
	if ok && u.Failed == 0 {
		if u.Role != RoleOperator && s.mayHold(Operator, u.Actor(), u.TenantID) != nil {
			return WebUser{}, bad // its tenant was deleted
		}
		return u, nil
	}
	// Record the outcome: reset the count, or count the failure (and lock).
	err = s.write(func(t *txn) error {
		cur, m, err := s.webUser(name)
		if err != nil || m == 0 {
			return err
		}
		if ok {
			cur.Failed, cur.LockedUntil = 0, time.Time{}
		} else {
			cur.Failed++
			if cur.Failed >= MaxFailedLogins {
				cur.Failed, cur.LockedUntil = 0, now.Add(LockoutPeriod).UTC()
			}
		}
		u = cur
		t.cmp(userKey(name), m)
		return t.putJSON(userKey(name), &cur)
	})
	if err != nil {
		return WebUser{}, fmt.Errorf("login: %w", err)
	}
	if !ok {
		if !u.LockedUntil.IsZero() {
			return WebUser{}, fmt.Errorf("login: %w until %s", ErrLockedOut, u.LockedUntil.Format(time.RFC3339))
		}
		return WebUser{}, bad
	}
	if u.Role != RoleOperator && s.mayHold(Operator, u.Actor(), u.TenantID) != nil {
		return WebUser{}, bad
	}
	return u, nil
}

// WebUserHolds says whether a session logged in as u may go on: the user
// still exists as it was at the login (not deleted, nor deleted and made
// again) and its tenant still is the one it was made for. ErrForbidden
// when not; another error when the store cannot tell.
func (s *Store) WebUserHolds(u WebUser) error {
	cur, mod, err := s.webUser(u.Name)
	if err != nil {
		return fmt.Errorf("web user %q: %w", u.Name, err)
	}
	if mod == 0 || !cur.Created.Equal(u.Created) || !bytes.Equal(cur.Hash, u.Hash) ||
		cur.Role != RoleOperator && s.mayHold(Operator, cur.Actor(), cur.TenantID) != nil {
		return fmt.Errorf("web user %q: %w (deleted, or its tenant was)", u.Name, ErrForbidden)
	}
	return nil
}

// ValidUserName reports why name cannot be a web user's name.
func ValidUserName(name string) error {
	if strings.TrimSpace(name) != name {
		return fmt.Errorf("user name %q: %w (no spaces around it)", name, ErrInvalid)
	}
	return validName("user", name)
}
