package keys

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"callgate/e164"
	"callgate/store"
)

// Directory finds an enterprise by name (*store.Store implements it).
type Directory interface {
	GetEnterprise(actor store.Actor, name string) (store.Enterprise, error)
	// AuditKeyRevocation records a revocation in the audit log (only
	// revocations write to the store; registrations and calls do not).
	AuditKeyRevocation(ctx context.Context, actor store.Actor, enterprise string, r store.KeyRevocation) error
}

// maxBody bounds a request body: a key is a few dozen bytes of JSON.
const maxBody = 4 << 10

// Request is the body of POST /api/v1/keys. Numbers are E.164 (a leading
// '+' is optional for NANP numbers written with their 1); times RFC 3339.
// Omitted times default to now and now + keys.default_window.
type Request struct {
	Calling   string     `json:"calling"`
	Called    string     `json:"called"`
	NotBefore *time.Time `json:"not_before,omitempty"`
	NotAfter  *time.Time `json:"not_after,omitempty"`
}

// Response is the key as registered.
type Response struct {
	Calling   string    `json:"calling"`
	Called    string    `json:"called"`
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
	SingleUse bool      `json:"single_use"`
}

// Handler serves the enterprises' call keys, authenticated by their API
// token (Authorization: Bearer ENTERPRISE.SECRET; the scheme's name in any
// case, RFC 9110 §11.1):
//
//   - POST /api/v1/keys registers a key: 201 with the key once it is on
//     disk; 400 for a bad body, 403 for a calling number the enterprise did
//     not enrol, 409 for a key revoked before (register another window),
//     413 for a body over 4 KiB;
//   - DELETE /api/v1/keys/{calling}/{called} revokes the enterprise's keys
//     of that pair (every window): 200 {"revoked": n}, 404 when it has
//     none that could still match;
//   - DELETE /api/v1/keys revokes all of the enterprise's keys: 200
//     {"revoked": n}.
//
// 401 for a missing or wrong token, 405 for another method, 503 with
// Retry-After when the key table is full or a change could not be saved
// or replicated (a retry is safe: registering or revoking twice is once).
// An enterprise sees and revokes only its own keys. Errors are RFC 9457
// problem details (application/problem+json), as the management API's,
// with "field" naming the body member, path segment or header at fault.
// The daemon mounts it on the admin listener and the management API's.
func Handler(r *Registry, dir Directory) http.Handler {
	return &handler{r: r, dir: dir}
}

type handler struct {
	r   *Registry
	dir Directory
}

// Revoked is the answer to a revocation: how many keys it revoked.
type Revoked struct {
	Revoked int `json:"revoked"`
}

// keysPath is the collection's path; one pair's keys are below it.
const keysPath = "/api/v1/keys"

func (h *handler) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	pair, isPair := strings.CutPrefix(req.URL.Path, keysPath+"/")
	switch {
	case isPair && req.Method != http.MethodDelete:
		w.Header().Set("Allow", http.MethodDelete)
		httpError(w, http.StatusMethodNotAllowed, "method", "use DELETE to revoke the keys of a pair of numbers")
		return
	case !isPair && req.Method != http.MethodPost && req.Method != http.MethodDelete:
		w.Header().Set("Allow", http.MethodPost+", "+http.MethodDelete)
		httpError(w, http.StatusMethodNotAllowed, "method", "use POST to register a call key, DELETE to revoke all of the enterprise's keys")
		return
	}
	ent, ok := h.authenticate(w, req)
	if !ok {
		return
	}
	if req.Method == http.MethodDelete {
		h.revoke(w, req, ent, pair, isPair)
		return
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, req.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			httpError(w, http.StatusRequestEntityTooLarge, "body", fmt.Sprintf("body over %d bytes: one key per request", maxBody))
			return
		}
		httpError(w, http.StatusBadRequest, "body", "body: "+err.Error())
		return
	}
	var body Request
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		httpError(w, http.StatusBadRequest, decodeField(err, raw), "body: "+err.Error()+` (want {"calling":"+15125550100","called":"+13035550100","not_before":RFC 3339,"not_after":RFC 3339}, times optional)`)
		return
	}
	if _, err := dec.Token(); err != io.EOF {
		httpError(w, http.StatusBadRequest, "body", "body: one JSON object expected, found more after it")
		return
	}
	k, err := body.key()
	if err != nil {
		httpError(w, http.StatusBadRequest, FieldOf(err), err.Error())
		return
	}
	k, err = h.r.RegisterWait(req.Context(), ent.ID, k)
	switch {
	case errors.Is(err, ErrInvalid):
		httpError(w, http.StatusBadRequest, FieldOf(err), err.Error())
		return
	case errors.Is(err, ErrNotEnrolled):
		httpError(w, http.StatusForbidden, FieldOf(err), err.Error())
		return
	case errors.Is(err, ErrRevoked):
		httpError(w, http.StatusConflict, FieldOf(err), err.Error())
		return
	case err != nil:
		w.Header().Set("Retry-After", "1")
		httpError(w, http.StatusServiceUnavailable, "", err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(Response{Calling: k.Calling.String(), Called: k.Called.String(),
		NotBefore: k.NotBefore, NotAfter: k.NotAfter, SingleUse: h.r.cfg.SingleUse})
}

// revoke revokes the enterprise's keys of the pair named by the path
// ("{calling}/{called}") or, for the collection, all of them.
func (h *handler) revoke(w http.ResponseWriter, req *http.Request, ent store.Enterprise, pair string, isPair bool) {
	var n int
	var err error
	rec := store.KeyRevocation{ByEnterprise: true}
	if !isPair {
		n, err = h.r.RevokeAll(req.Context(), ent.ID)
	} else {
		first, second, ok := strings.Cut(pair, "/")
		if !ok || strings.Contains(second, "/") {
			httpError(w, http.StatusNotFound, "path", fmt.Sprintf("%s %s: want DELETE %s/{calling}/{called}, e.g. %s/+15125550100/+13035550100", req.Method, req.URL.Path, keysPath, keysPath))
			return
		}
		calling, perr := e164.Parse(first)
		if perr != nil {
			httpError(w, http.StatusBadRequest, "calling", fmt.Sprintf("calling %q: %v", first, perr))
			return
		}
		called, perr := e164.Parse(second)
		if perr != nil {
			httpError(w, http.StatusBadRequest, "called", fmt.Sprintf("called %q: %v", second, perr))
			return
		}
		n, err = h.r.Revoke(req.Context(), ent.ID, calling, called)
		if err == nil && n == 0 {
			httpError(w, http.StatusNotFound, "path", fmt.Sprintf("enterprise %s has no key of %s -> %s that could still match (ended, used, revoked, or never registered)", ent.Name, calling, called))
			return
		}
		rec.Calling, rec.Called = calling.String(), called.String()
	}
	rec.Revoked = n
	if err != nil {
		rec.Error = err.Error()
	}
	if n > 0 || err == nil {
		h.audit(req, ent.Name, rec)
	}
	if err != nil {
		w.Header().Set("Retry-After", "1")
		httpError(w, http.StatusServiceUnavailable, "", err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(Revoked{Revoked: n})
}

// audit records the enterprise's revocation in the audit log. The keys
// are revoked already, and stay so whatever the store answers: a record
// that could not be written is logged with what it would have said. The
// client hanging up does not cancel it.
func (h *handler) audit(req *http.Request, ent string, rec store.KeyRevocation) {
	if err := h.dir.AuditKeyRevocation(context.WithoutCancel(req.Context()), store.Actor{}, ent, rec); err != nil {
		h.r.cfg.Logger.Warn("call keys revoked by the enterprise, not in the audit log", "enterprise", ent,
			"calling", rec.Calling, "called", rec.Called, "revoked", rec.Revoked, "err", err)
	}
}

// authenticate finds the enterprise whose token the request carries, or
// answers 401.
func (h *handler) authenticate(w http.ResponseWriter, req *http.Request) (store.Enterprise, bool) {
	deny := func(msg string) (store.Enterprise, bool) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="callgate keys"`)
		httpError(w, http.StatusUnauthorized, "Authorization", msg)
		return store.Enterprise{}, false
	}
	scheme, tok, _ := strings.Cut(strings.TrimSpace(req.Header.Get("Authorization")), " ")
	if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return deny("missing Authorization: Bearer ENTERPRISE.SECRET (issue one with 'callgate enterprise token ENTERPRISE')")
	}
	name, secret, err := ParseToken(strings.TrimSpace(tok))
	if err != nil {
		return deny(err.Error())
	}
	e, err := h.dir.GetEnterprise(store.Operator, name)
	// One answer for an unknown enterprise and a wrong secret: the API
	// does not say which enterprises exist.
	if err != nil || !e.Signals.TokenMatches(secret) {
		return deny("API token not valid (revoked, or for another enterprise)")
	}
	return e, true
}

// key turns a request into a Key, naming the bad field.
func (b *Request) key() (Key, error) {
	var k Key
	var err error
	if b.Calling == "" {
		return k, &FieldError{"calling", errors.New("calling: missing (the enterprise's enrolled number placing the call)")}
	}
	if k.Calling, err = e164.Parse(b.Calling); err != nil {
		return k, &FieldError{"calling", fmt.Errorf("calling %q: %w", b.Calling, err)}
	}
	if b.Called == "" {
		return k, &FieldError{"called", errors.New("called: missing (the number the call goes to)")}
	}
	if k.Called, err = e164.Parse(b.Called); err != nil {
		return k, &FieldError{"called", fmt.Errorf("called %q: %w", b.Called, err)}
	}
	if b.NotBefore != nil {
		k.NotBefore = *b.NotBefore
	}
	if b.NotAfter != nil {
		k.NotAfter = *b.NotAfter
	}
	return k, nil
}

// problem is an RFC 9457 problem detail; Field names the body member
// (or header) at fault, as the management API's problems do.
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Field  string `json:"field,omitempty"`
}

func httpError(w http.ResponseWriter, code int, field, msg string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(problem{Type: "about:blank", Title: http.StatusText(code), Status: code, Detail: msg, Field: field})
}

// decodeField is the body member a JSON decoding error of raw is about:
// the member of a wrong type, the time that is not RFC 3339, an unknown
// member, else the body as a whole.
func decodeField(err error, raw []byte) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return te.Field
	}
	var pe *time.ParseError
	if errors.As(err, &pe) {
		// encoding/json does not say which member held the time: try each.
		var times struct {
			NotBefore *string `json:"not_before"`
			NotAfter  *string `json:"not_after"`
		}
		_ = json.Unmarshal(raw, &times)
		for _, m := range []struct {
			name string
			v    *string
		}{{"not_before", times.NotBefore}, {"not_after", times.NotAfter}} {
			var t time.Time
			if m.v != nil && t.UnmarshalText([]byte(*m.v)) != nil {
				return m.name
			}
		}
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		if f, err := strconv.Unquote(name); err == nil {
			return f
		}
	}
	return "body"
}
