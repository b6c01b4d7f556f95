package admin

import (
	"errors"
	"net/http"
)

// POST /api/v1/keys: an enterprise registers the key of its next call
// (package keys). It is served here, on the management API's listener
// (TLS with api.tls_cert), besides the admin listener: the enterprise is a
// customer on the far side of the carrier's edge, and the admin listener
// is for monitoring on a management network, unauthenticated and plain
// HTTP, no place for a customer's bearer token. The enterprise
// authenticates with its own API token (ENTERPRISE.SECRET, `callgate
// enterprise token`), not a management token: the handler (keys.Handler)
// checks it, so the route stays outside the management authentication.

// WithKeys serves POST /api/v1/keys with h (keys.Handler over the daemon's
// registry); without it the route answers 404 (keys.enabled is off).
func WithKeys(h http.Handler) Option { return func(t *Tier) { t.keys = h } }

// serveKeys hands a key registration to the registry's handler.
func (t *Tier) serveKeys(w http.ResponseWriter, r *http.Request) {
	if t.keys == nil {
		writeProblem(w, &apiError{status: http.StatusNotFound, field: "path",
			err: errors.New("the daemon checks no call keys (keys.enabled is off in its configuration)")})
		return
	}
	t.keys.ServeHTTP(w, r)
}
