// Package admin is the management tier: the HTTP API under /api/v1 for the
// three roles (platform owner, service provider, subscriber), with its
// OpenAPI 3 document at /api/v1/openapi.json (openapi.json, checked in).
//
// It runs on its own listener (the daemon's api: section, loopback unless
// configured, optional TLS), apart from the admin listener whose /metrics,
// /healthz and /readyz stay unauthenticated for monitoring: the API reads
// and changes tenant data and answers only authenticated requests. The
// same handler is served on the owner's unix socket (socket.go; the
// daemon always opens it, next to the store): the CLI's way to a running
// daemon, as `callgate list add` and every other operator command use it.
//
// Authentication (auth.go): every request but the OpenAPI document carries
// "Authorization: Bearer cgt_..." (an API token, store/apitokens.go:
// random, shown once, stored hashed, with expiry and revocation). On the
// socket, which only the daemon's user (and root) may connect to (mode
// 0600, and the peer's uid checked), the caller is the platform owner,
// named by the kernel (SO_PEERCRED) as cli:USER. The principal is mapped
// to a store.Actor in one place (actorOf); every store write and scoped
// read takes that Actor, so authorisation is the store's
// (store/authz.go), never this package's. One route takes another
// credential: an enterprise registers its call keys (POST /api/v1/keys,
// keys.go) with its own API token, checked by package keys' handler, so
// enterprises reach it over this listener's TLS, not the admin listener.
//
// The API only translates: JSON and CSV in, store calls and the engine's
// decisions out. Errors are RFC 9457 problem+json (problem.go) naming the
// field at fault. Collections page by an opaque cursor. Single objects
// carry an ETag (the store's mod revision of their record); a change of
// one needs If-Match with it (428 without, 412 when someone else changed
// it meanwhile: store.ErrStale).
//
// Tenant isolation answers (OWASP API Security Top 10 2023, API1): a
// provider or subscriber naming an object it may not see (another
// provider's, another subscriber's, its own provider's for a subscriber)
// gets, for every method, the 404 it would get for a name nothing has,
// in the same words; 403 is kept for an object the caller may see but
// not change in that way (a subscriber's locked list, its own numbers;
// a provider's own allocations, route, STIR policy) and for what the
// role may never do. notfound_test.go holds every route to it. A number
// outside the provider's allocations is 422 "not in any allocation of
// provider P" to a tenant, whoever holds it; the platform owner's 422
// (API, import rows, web forms) names the provider and range it is
// allocated in and the subscriber holding it, with what to undo first
// (numberholder_test.go).
//
// The web UI (ui.go, ui_treatments.go, ui/) shares the listener: browser
// sessions (session.go) with CSRF tokens, an idle timeout and login
// limits. A form the store refuses (a bad or taken value, a change made
// meanwhile) shows its page again with what was typed and the error tied
// to the form's controls (ui_forms.go); a PIN is never typed back.
// Subscribers, providers and routes are deleted through a confirmation
// page with the API's store calls (ui_delete.go). Bulk
// subscriber imports stream the body into the store and can
// stream their answer as JSON lines (subimport.go); the web UI's import
// page (ui_subimport.go) reads that stream for its progress bar and bad
// rows. The PIN lockouts page and the subscriber page's lock state
// (ui_pinlock.go) read and lift PIN locks through the API's store calls.
// Subscribers are counted and searched in the store
// (GET /api/v1/subscribers:count, ?q=), never by paging through them all;
// the store pages forward by a cursor, so a web page's address carries
// the cursors of the pages before it, for its Previous link
// (ui_paging.go).
package admin
