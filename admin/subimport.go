package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"callgate/store"
)

// Bulk subscriber provisioning over the API: POST /api/v1/subscribers:import
// with the CSV as the body (text/csv, name,provider,numbers[,permissions]).
// The body is streamed into the store, never held whole (a 1M-subscriber
// file is 34 MB; the limit is Config.MaxImport, not MaxBody). The import is
// all or nothing (store.ImportSubscribers); ?dry_run=true checks only.
//
// The answer is the report (200) or a problem naming every bad row (422);
// or, when the client accepts application/x-ndjson, a stream of JSON
// lines, each one object with one member: "progress" (phase, done, total:
// bytes while reading, subscribers while writing) as the import goes,
// "row_error" (line, error) for each bad row as it is found (the first
// 1,000), and last "report" (as the 200 answer) or "problem" (as the
// problem+json answer, with its status). A streamed answer is always 200:
// its last line says how it ended.

// bodyLimit is the request body limit of an operation.
func (t *Tier) bodyLimit(pattern string) int64 {
	if pattern == "/api/v1/subscribers:import" {
		return t.cfg.MaxImport
	}
	return t.cfg.MaxBody
}

// importEvent is one line of a streamed import answer.
type importEvent struct {
	Progress *importProgress               `json:"progress,omitempty"`
	RowError *rowError                     `json:"row_error,omitempty"`
	Report   *store.SubscriberImportReport `json:"report,omitempty"`
	Problem  *problem                      `json:"problem,omitempty"`
}

type importProgress struct {
	Phase string `json:"phase"` // reading, writing, committing
	Done  int64  `json:"done"`
	Total int64  `json:"total"` // -1: unknown (no Content-Length)
}

const maxRowErrors = 1000

func importSubscribers(c *call) (int, any, error) {
	if c.wantsReport() {
		return importSubscribersReport(c) // bulk.go
	}
	opts := store.SubscriberImportOptions{Actor: c.actor, DryRun: c.r.URL.Query().Get("dry_run") == "true", MaxErrors: maxRowErrors}
	if c.r.ContentLength > 0 {
		opts.Size = c.r.ContentLength
	}
	if acceptsNDJSON(c.r) {
		c.streamImport(c.r.Body, opts)
		return http.StatusOK, written{}, nil
	}
	rep, err := c.t.st.ImportSubscribers(c.r.Body, opts)
	if err != nil {
		return 0, nil, importError(err)
	}
	if rep.Refused {
		return 0, nil, refusedImport(rep)
	}
	return http.StatusOK, rep, nil
}

// importError maps an import that failed (not a refused one).
func importError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return &apiError{status: http.StatusRequestEntityTooLarge, field: "body", err: err}
	}
	return fieldErr("body", err)
}

// refusedImport is the problem of a file with bad rows.
func refusedImport(rep store.SubscriberImportReport) error {
	ae := &apiError{status: http.StatusUnprocessableEntity, field: "body",
		err: fmt.Errorf("%d of %d rows are bad; nothing was imported", rep.ErrorCount, rep.Rows)}
	for _, e := range rep.Errors {
		ae.rows = append(ae.rows, rowError{Line: e.Line, Error: e.Err})
		// A row naming a provider the caller may not provision (or that
		// does not exist: the two read alike) refuses the whole request,
		// as any other request about it would be.
		if strings.Contains(e.Err, "not yours to provision") {
			ae.status = http.StatusNotFound
		}
	}
	return ae
}

// acceptsNDJSON says whether the client asked for a streamed answer.
func acceptsNDJSON(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		if mt, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && mt == "application/x-ndjson" {
			return true
		}
	}
	return false
}

// streamImport runs the import of body answering with JSON lines as it
// goes (the request's body for the API; the web UI's upload, once
// received).
func (c *call) streamImport(body io.Reader, opts store.SubscriberImportOptions) {
	rc := http.NewResponseController(c.w)
	// HTTP/1.1 stops reading a request once the answer starts, unless
	// told otherwise; the file is still arriving.
	if err := rc.EnableFullDuplex(); err != nil {
		c.t.log.Warn("api: streamed import without full duplex", "err", err)
	}
	c.w.Header().Set("Content-Type", "application/x-ndjson")
	c.w.Header().Set("Cache-Control", "no-store")
	c.w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(c.w)
	send := func(ev importEvent) {
		_ = enc.Encode(&ev)
		_ = rc.Flush()
	}
	// The store reports every 256 KiB read and every batch written: a
	// line each is a few hundred lines for a million subscribers.
	opts.Progress = func(p store.ImportProgress) {
		send(importEvent{Progress: &importProgress{Phase: p.Phase.String(), Done: p.Done, Total: p.Total}})
	}
	sent := 0
	opts.OnError = func(e store.RowError) {
		if sent < maxRowErrors {
			sent++
			send(importEvent{RowError: &rowError{Line: e.Line, Error: e.Err}})
		}
	}
	rep, err := c.t.st.ImportSubscribers(body, opts)
	switch {
	case err != nil:
		err = importError(err)
	case rep.Refused:
		err = refusedImport(rep)
	}
	if err != nil {
		p := problemOf(err)
		if p.Status == http.StatusInternalServerError {
			c.t.log.Error("api", "method", c.r.Method, "path", c.r.URL.Path, "err", err)
		}
		send(importEvent{Problem: &p})
		return
	}
	send(importEvent{Report: &rep})
}
