package store

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"callgate/store/kv"
)

// API tokens are the admin API's credentials. A token is
// "cgt_<id>_<secret>": id (16 hex digits) names the record, secret (32
// random bytes, base64url) is shown once when the token is created and
// stored only as its SHA-256 (a random 256-bit secret needs no slow hash).
// The record says whose token it is (an Actor without precondition, and
// the ID of that tenant: see mayHold), when it expires and whether it was
// revoked. Tokens live in the store's key space (bucket apitokens, not
// indexed), so every node of an etcd cluster accepts them and a
// revocation reaches every node on the next request.

// TokenPrefix starts every API token.
const TokenPrefix = "cgt_"

// APIToken is a stored token (without its secret).
type APIToken struct {
	ID      string    `json:"id"`
	Role    Role      `json:"role"`
	Name    string    `json:"name,omitempty"`   // provider or subscriber name
	Tenant  uint32    `json:"tenant,omitempty"` // that provider's or subscriber's ID (0: made before tokens were bound to IDs)
	Label   string    `json:"label,omitempty"`
	Hash    []byte    `json:"hash"`
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires"`
	Revoked time.Time `json:"revoked,omitzero"`
	By      string    `json:"by"` // the actor that created it
}

// Actor is the actor the token acts as.
func (t APIToken) Actor() Actor { return Actor{Role: t.Role, Name: t.Name} }

// MaxTokenTTL bounds an API token's lifetime.
const MaxTokenTTL = 366 * 24 * time.Hour

func tokenKey(id string) []byte { return []byte(bAPITokens + "/" + id) }

// CreateAPIToken makes a token acting as whom, valid for ttl, and returns
// its record and the token text (shown once; only its hash is kept). actor
// may create tokens for itself and for what it manages: the operator for
// anyone, a provider for itself and its subscribers, a subscriber for
// itself.
func (s *Store) CreateAPIToken(actor Actor, whom Actor, label string, ttl time.Duration) (APIToken, string, error) {
	fail := func(err error) (APIToken, string, error) {
		return APIToken{}, "", fmt.Errorf("create API token for %s: %w", whom, err)
	}
	if ttl <= 0 || ttl > MaxTokenTTL {
		return fail(fmt.Errorf("lifetime %s: %w (want more than 0 and at most %s)", ttl, ErrInvalid, MaxTokenTTL))
	}
	if label, err := checkNote(label); err != nil {
		return fail(fmt.Errorf("label: %w", err))
	} else if len(label) > 64 {
		return fail(fmt.Errorf("label: %w (longer than 64 bytes)", ErrInvalid))
	}
	tenant, err := s.mayIssue(actor, whom)
	if err != nil {
		return fail(err)
	}
	var idb [8]byte
	secret := make([]byte, 32)
	if _, err := rand.Read(idb[:]); err != nil {
		return fail(err)
	}
	if _, err := rand.Read(secret); err != nil {
		return fail(err)
	}
	sum := sha256.Sum256(secret)
	now := s.opts.Now().UTC()
	rec := APIToken{ID: hex.EncodeToString(idb[:]), Role: whom.Role, Name: whom.Name, Tenant: tenant, Label: strings.TrimSpace(label),
		Hash: sum[:], Created: now, Expires: now.Add(ttl), By: actor.String()}
	err = s.write(func(t *txn) error {
		t.cmp(tokenKey(rec.ID), 0)
		if err := t.putJSON(tokenKey(rec.ID), &rec); err != nil {
			return err
		}
		return t.audit(actor, "token.create", "token/"+rec.ID, s.ix.actorScope(whom), nil, tokenAudit(rec))
	})
	if err != nil {
		return fail(err)
	}
	return rec, TokenPrefix + rec.ID + "_" + base64.RawURLEncoding.EncodeToString(secret), nil
}

// mayIssue says whether actor may create a credential (an API token, a
// web user) acting as whom, and returns whom's tenant ID (0 for the
// operator), which the credential keeps.
func (s *Store) mayIssue(actor, whom Actor) (uint32, error) {
	s.ix.mu.RLock()
	defer s.ix.mu.RUnlock()
	switch whom.Role {
	case RoleOperator:
		if whom.Name != "" {
			return 0, fmt.Errorf("operator token: %w (the operator has no name)", ErrInvalid)
		}
		return 0, actor.operatorOnly("issue platform-owner tokens")
	case RoleProvider:
		p, err := s.ix.providerByNameAs(actor, whom.Name)
		if err != nil {
			return 0, err
		}
		return p.rec.ID, s.ix.mayProvider(actor, p)
	case RoleSubscriber:
		st, err := s.ix.findSubscriberAs(actor, whom.Name)
		if err != nil {
			return 0, err
		}
		if st.rec.Name != whom.Name {
			return 0, fmt.Errorf("subscriber %q: %w (name the subscriber, not a number)", whom.Name, ErrInvalid)
		}
		return st.rec.ID, s.ix.authorize(actor, kindSubscriber, st.rec.ID, 0)
	}
	return 0, fmt.Errorf("role %d: %w", whom.Role, ErrInvalid)
}

// mayHold says whether a credential made for whom's tenant with ID tenant
// still acts for it, and whether actor manages it (Operator: whether it
// is alive). A tenant's name is free again once it is deleted, and
// another provider may give it to a new subscriber of its own: the
// deleted tenant's tokens and web users must not reach that one, so a
// credential holds only while its tenant has the ID it was made for (IDs
// are never reused). Credentials made before they kept the ID (tenant 0)
// hold by name.
func (s *Store) mayHold(actor, whom Actor, tenant uint32) error {
	id, err := s.mayIssue(actor, whom)
	if err == nil && tenant != 0 && id != tenant {
		err = fmt.Errorf("%s: %w (a credential of a deleted tenant of the same name)", whom, ErrNotFound)
	}
	return err
}

// Authenticate returns the token's record if text is a token that exists,
// matches, has not expired and was not revoked, and its tenant still
// exists.
func (s *Store) Authenticate(text string) (APIToken, error) {
	bad := fmt.Errorf("API token: %w (unknown, expired or revoked)", ErrForbidden)
	rest, ok := strings.CutPrefix(text, TokenPrefix)
	id, sec, ok2 := strings.Cut(rest, "_")
	if !ok || !ok2 || len(id) != 16 {
		return APIToken{}, bad
	}
	secret, err := base64.RawURLEncoding.DecodeString(sec)
	if err != nil {
		return APIToken{}, bad
	}
	rec, ok, err := s.apiToken(id)
	if err != nil {
		return APIToken{}, err
	}
	sum := sha256.Sum256(secret)
	if !ok || subtle.ConstantTimeCompare(sum[:], rec.Hash) != 1 || !rec.Revoked.IsZero() || !s.opts.Now().Before(rec.Expires) {
		return APIToken{}, bad
	}
	if rec.Role != RoleOperator && s.mayHold(Operator, rec.Actor(), rec.Tenant) != nil {
		return APIToken{}, bad // its tenant was deleted
	}
	return rec, nil
}

func (s *Store) apiToken(id string) (APIToken, bool, error) {
	var rec APIToken
	var ok bool
	err := s.kv.View(func(r kv.Reader) error {
		v, _, err := r.Get(tokenKey(id))
		if err != nil || v == nil {
			return err
		}
		ok = true
		return json.Unmarshal(v, &rec)
	})
	return rec, ok, err
}

// APITokens returns the tokens actor may see (those acting as itself or as
// what it manages), oldest first.
func (s *Store) APITokens(actor Actor) ([]APIToken, error) {
	var all []APIToken
	p := []byte(bAPITokens + "/")
	err := s.kv.View(func(r kv.Reader) error {
		return r.Range(p, kv.PrefixEnd(p), func(_, v []byte, _ int64) error {
			var rec APIToken
			if err := json.Unmarshal(v, &rec); err != nil {
				return err
			}
			all = append(all, rec)
			return nil
		})
	})
	var out []APIToken
	for _, t := range all {
		if s.mayHold(actor, t.Actor(), t.Tenant) == nil {
			out = append(out, t)
		}
	}
	return out, err
}

// RevokeAPIToken revokes token id; actor must be allowed to issue it.
func (s *Store) RevokeAPIToken(actor Actor, id string) error {
	err := s.write(func(t *txn) error {
		var rec APIToken
		var mod int64
		err := s.kv.View(func(r kv.Reader) error {
			v, m, err := r.Get(tokenKey(id))
			if err != nil || v == nil {
				return err
			}
			mod = m
			return json.Unmarshal(v, &rec)
		})
		if err != nil {
			return err
		}
		if mod == 0 || s.mayHold(actor, rec.Actor(), rec.Tenant) != nil {
			return fmt.Errorf("API token %q: %w", id, ErrNotFound)
		}
		if !rec.Revoked.IsZero() {
			return nil
		}
		before := tokenAudit(rec)
		rec.Revoked = s.opts.Now().UTC()
		t.cmp(tokenKey(id), mod)
		if err := t.putJSON(tokenKey(id), &rec); err != nil {
			return err
		}
		return t.audit(actor, "token.revoke", "token/"+id, s.ix.actorScope(rec.Actor()), before, tokenAudit(rec))
	})
	if err != nil {
		return fmt.Errorf("revoke API token: %w", err)
	}
	return nil
}
