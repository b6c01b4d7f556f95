package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"callgate/e164"
	"callgate/store"
)

// problem is an RFC 9457 problem detail. Field names the request field
// (JSON member, query parameter, path segment or header) at fault.
type problem struct {
	Type   string     `json:"type"`
	Title  string     `json:"title"`
	Status int        `json:"status"`
	Detail string     `json:"detail,omitempty"`
	Field  string     `json:"field,omitempty"`
	Errors []rowError `json:"errors,omitempty"` // per-row errors of a bulk request
}

type rowError struct {
	Line  int    `json:"line"`
	Error string `json:"error"`
}

// apiError is an error with the status and field it is reported with.
type apiError struct {
	status int
	field  string
	err    error
	rows   []rowError
}

func (e *apiError) Error() string { return e.err.Error() }
func (e *apiError) Unwrap() error { return e.err }

// fieldErr attributes err to a request field; the status follows err.
func fieldErr(field string, err error) error {
	if err == nil {
		return nil
	}
	return &apiError{field: field, err: err}
}

// badRequest is a malformed request (400) at field.
func badRequest(field, format string, a ...any) error {
	return &apiError{status: http.StatusBadRequest, field: field, err: fmt.Errorf(format, a...)}
}

// statusOf maps the store's sentinel errors onto HTTP statuses.
func statusOf(err error) int {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, store.ErrForbidden), errors.Is(err, store.ErrLocked):
		return http.StatusForbidden
	case errors.Is(err, store.ErrStale):
		return http.StatusPreconditionFailed
	case errors.Is(err, store.ErrExists), errors.Is(err, store.ErrInUse):
		return http.StatusConflict
	case errors.Is(err, store.ErrInvalid), badNumber(err):
		return http.StatusUnprocessableEntity
	case errors.Is(err, store.ErrTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, store.ErrContention), errors.Is(err, store.ErrReadOnly), errors.Is(err, store.ErrClosed),
		errors.Is(err, store.ErrNotApplied), errors.Is(err, store.ErrUnavailable):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// badNumber says whether err is e164's refusal of a telephone number
// that reached the API without the store (a query, a path segment, a
// range): a bad value, not the server's fault.
func badNumber(err error) bool {
	for _, e := range []error{e164.ErrEmpty, e164.ErrCharacter, e164.ErrLength, e164.ErrLeading0, e164.ErrNANP} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// unavailableRetry is the Retry-After of a 503 for a store that cannot
// write now (etcd without a quorum, writes contending): about the time a
// node needs to see etcd back (a probe) and catch up.
const unavailableRetry = "5"

// writeProblem answers err as problem+json.
func writeProblem(w http.ResponseWriter, err error) {
	p := problemOf(err)
	if p.Status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", unavailableRetry)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(&p)
}

// problemOf is the problem detail of err.
func problemOf(err error) problem {
	p := problem{Type: "about:blank", Detail: err.Error()}
	var ae *apiError
	if errors.As(err, &ae) {
		p.Status, p.Field, p.Errors = ae.status, ae.field, ae.rows
	}
	if p.Status == 0 {
		p.Status = statusOf(err)
	}
	if errors.Is(err, store.ErrUnavailable) || errors.Is(err, store.ErrContention) {
		// The store could not write: no request field is at fault, and
		// naming one sends the client looking for a mistake it did not make.
		p.Field = ""
	}
	if p.Status == http.StatusInternalServerError {
		p.Detail = "internal error (logged)"
	}
	p.Title = http.StatusText(p.Status)
	return p
}
