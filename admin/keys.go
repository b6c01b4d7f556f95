package admin

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"callgate/store"
)

// POST /api/v1/keys: an enterprise registers the key of its next call
// (package keys); DELETE /api/v1/keys and /api/v1/keys/{calling}/{called}:
// it revokes its keys. It is served here, on the management API's listener
// (TLS with api.tls_cert), besides the admin listener: the enterprise is a
// customer on the far side of the carrier's edge, and the admin listener
// is for monitoring on a management network, unauthenticated and plain
// HTTP, no place for a customer's bearer token. The enterprise
// authenticates with its own API token (ENTERPRISE.SECRET, `callgate
// enterprise token`), not a management token: the handler (keys.Handler)
// checks it, so the route stays outside the management authentication.

// WithKeys serves the enterprises' /api/v1/keys with h (keys.Handler over
// the daemon's registry) and the operator's revocation of an enterprise's
// keys with r (the same registry); without it those routes answer 404
// (keys.enabled is off).
func WithKeys(h http.Handler, r KeyRevoker) Option {
	return func(t *Tier) { t.keys, t.revoke = h, r }
}

// KeyRevoker revokes every call key of an enterprise (*keys.Registry).
type KeyRevoker interface {
	RevokeAll(ctx context.Context, ent uint32) (int, error)
}

// revokedKeys is the answer to the operator's revocation.
type revokedKeys struct {
	Enterprise string `json:"enterprise"`
	Revoked    int    `json:"revoked"`
}

// revokeEnterpriseKeys revokes every key of the enterprise (the platform
// owner, or the enterprise's provider): its token leaked, or it must stop
// calling as itself at once. The keys stop matching on this node at once
// and, with keys.replicate, on the others once the answer is given.
func revokeEnterpriseKeys(c *call) (int, any, error) {
	name := c.r.PathValue("enterprise")
	en, err := c.t.st.GetEnterprise(c.actor, name)
	if err != nil {
		return 0, nil, fieldErr("enterprise", err)
	}
	n, err := c.t.revokeKeys(c, en.ID, name, "")
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, revokedKeys{Enterprise: name, Revoked: n}, nil
}

// revokeKeys revokes the enterprise's keys and records it in the audit log
// (op keys.revoke, store/keyaudit.go), with why (reason, "" for a plain
// revocation). The keys are not in the store, so the record is written
// after them: the revocation holds even when the record cannot be written,
// which is then logged with what it would have said.
func (t *Tier) revokeKeys(c *call, ent uint32, name, reason string) (int, error) {
	if t.revoke == nil {
		return 0, &apiError{status: http.StatusNotFound, field: "path",
			err: errors.New("the daemon checks no call keys (keys.enabled is off in its configuration): there are none to revoke")}
	}
	n, err := t.revoke.RevokeAll(c.r.Context(), ent)
	t.log.Info("call keys revoked", "enterprise", name, "revoked", n, "by", c.actor.String(), "error", err)
	rec := store.KeyRevocation{Revoked: n, Reason: reason}
	if err != nil {
		rec.Error = err.Error()
	}
	if aerr := t.st.AuditKeyRevocation(context.WithoutCancel(c.r.Context()), c.actor, name, rec); aerr != nil {
		t.log.Warn("call keys revoked, not in the audit log", "enterprise", name, "revoked", n, "by", c.actor.String(), "via", c.actor.Via, "err", aerr)
	}
	if err != nil {
		return n, &apiError{status: http.StatusServiceUnavailable, field: "", err: err}
	}
	return n, nil
}

// revokeKeysParam reads ?revoke_keys= of a token's issue.
func revokeKeysParam(c *call) (bool, error) {
	v := c.r.URL.Query().Get("revoke_keys")
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, badRequest("revoke_keys", "revoke_keys %q: want true or false", v)
	}
	return b, nil
}

// serveKeys hands a key registration to the registry's handler.
func (t *Tier) serveKeys(w http.ResponseWriter, r *http.Request) {
	if t.keys == nil {
		writeProblem(w, &apiError{status: http.StatusNotFound, field: "path",
			err: errors.New("the daemon checks no call keys (keys.enabled is off in its configuration)")})
		return
	}
	t.keys.ServeHTTP(w, r)
}
