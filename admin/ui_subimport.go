package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"

	"callgate/store"
)

// The web UI's bulk subscriber import (/ui/subscribers/import), for a
// provider (its own subscribers) and the platform owner: the CSV file of
// store.ImportSubscribers, all or nothing.
//
// Two ways in, one import:
//   - the page's script (ui/subimport.js) posts the file itself as the
//     body (text/csv, the CSRF token in the X-CSRF-Token header, Accept:
//     application/x-ndjson) and gets the API's streamed answer
//     (subimport.go): progress for the <progress> bar, each bad row as it
//     is found, the report or the problem last;
//   - without JavaScript the form posts multipart/form-data and the page
//     comes back with the final report and every bad row.
//
// A streamed upload is received whole (into a temporary file, not
// memory) before the import starts: a browser reads no answer while it
// is still sending, so a stream of progress and bad rows written
// meanwhile would only pile up in the connection (and, once its buffers
// are full, stop the import). Received first, the file is then read at
// disk speed and its progress and bad rows arrive as they happen.

type subImportData struct {
	Operator bool                          // the platform owner imports for any provider
	Report   *store.SubscriberImportReport // the answer to a form post (no script)
	Outcome  string                        // what happened, in words
	Failed   bool                          // refused or failed: nothing was imported
	Rows     []store.RowError              // the bad rows shown
}

// mayImport refuses the import pages to a subscriber.
func (c *uiCall) mayImport() error {
	if c.actor.Role == store.RoleSubscriber {
		return fmt.Errorf("%s: %w (subscribers are imported by their provider)", c.actor, store.ErrForbidden)
	}
	return nil
}

func uiSubscriberImportForm(c *uiCall) error {
	if err := c.mayImport(); err != nil {
		return err
	}
	c.renderSubImport(http.StatusOK, subImportData{})
	return nil
}

func (c *uiCall) renderSubImport(status int, d subImportData) {
	d.Operator = c.actor.Role == store.RoleOperator
	c.render(status, "subimport.html", uiPage{Title: "Import subscribers", Data: d, Refused: c.posted("import")})
}

// uiSubscriberImport imports the posted file: streamed to the page's
// script, or as a page for a plain form post.
func uiSubscriberImport(c *uiCall) error {
	if err := c.mayImport(); err != nil {
		return err
	}
	opts := store.SubscriberImportOptions{Actor: c.actor, MaxErrors: maxRowErrors,
		DryRun: c.r.URL.Query().Get("dry_run") == "true" || c.r.PostFormValue("dry_run") == "on"}
	if !isMultipart(c.r) {
		return c.streamSubImport(opts)
	}
	f, hdr, err := c.r.FormFile("file")
	if err != nil {
		c.renderSubImport(http.StatusUnprocessableEntity, subImportData{Failed: true,
			Outcome: "Choose a CSV file to import: nothing was imported."})
		return nil
	}
	defer f.Close()
	opts.Size = hdr.Size
	rep, err := c.t.st.ImportSubscribers(f, opts)
	d := subImportData{Report: &rep, Rows: rep.Errors}
	status := http.StatusOK
	switch {
	case err != nil:
		if statusOf(err) == http.StatusInternalServerError {
			c.t.log.Error("ui import", "err", err)
		}
		status, d.Failed, d.Outcome = statusOf(err), true, fmt.Sprintf("The import failed, so nothing was imported: %v.", err)
	case rep.Refused:
		status, d.Failed = http.StatusUnprocessableEntity, true
		d.Outcome = fmt.Sprintf("%d of %d rows are bad; nothing was imported. Fix the rows listed below and import the whole file again.", rep.ErrorCount, rep.Rows)
		if rep.ErrorCount > len(rep.Errors) {
			d.Outcome += fmt.Sprintf(" (The first %d are listed.)", len(rep.Errors))
		}
	case rep.DryRun:
		d.Outcome = fmt.Sprintf("The file is good: %d subscriber(s) with %d number(s) would be imported. Nothing was imported (check only).", rep.Valid, rep.Numbers)
	default:
		d.Outcome = fmt.Sprintf("Imported %d subscriber(s) with %d number(s). %s", rep.Written, rep.Numbers, c.countNow(rep.Subscribers))
	}
	c.renderSubImport(status, d)
	return nil
}

// countNow says how many subscribers the user has after an import.
func (c *uiCall) countNow(n int) string {
	if c.actor.Role == store.RoleOperator {
		return fmt.Sprintf("The platform now has %d subscriber(s).", n)
	}
	return fmt.Sprintf("You now have %d subscriber(s).", n)
}

// streamSubImport receives the script's upload, then imports it answering
// with the API's JSON lines (subimport.go). A failure before the import
// starts is a problem line too: the script reads one kind of answer.
func (c *uiCall) streamSubImport(opts store.SubscriberImportOptions) error {
	cl := &call{w: c.w, r: c.r, t: c.t, actor: c.actor}
	if !acceptsNDJSON(c.r) {
		return fmt.Errorf("a file posted without a form: %w (send it as multipart/form-data, or accept application/x-ndjson)", store.ErrInvalid)
	}
	tmp, size, err := spool(c.r.Body)
	if err != nil {
		c.streamProblem(importError(err))
		return nil
	}
	defer func() { tmp.Close(); os.Remove(tmp.Name()) }()
	opts.Size = size
	cl.streamImport(tmp, opts)
	return nil
}

// streamProblem answers a streamed import with its problem line only.
func (c *uiCall) streamProblem(err error) {
	p := problemOf(err)
	if p.Status == http.StatusInternalServerError {
		c.t.log.Error("ui import", "err", err)
	}
	c.w.Header().Set("Content-Type", "application/x-ndjson")
	c.w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(c.w).Encode(importEvent{Problem: &p})
}

// spool copies body into a temporary file (removed by the caller) and
// returns it at its start with its size.
func spool(body io.Reader) (*os.File, int64, error) {
	tmp, err := os.CreateTemp("", "callgate-import-*.csv")
	if err != nil {
		return nil, 0, fmt.Errorf("receive the file: %w", err)
	}
	n, err := io.Copy(tmp, body)
	if err == nil {
		_, err = tmp.Seek(0, io.SeekStart)
	}
	if err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, 0, fmt.Errorf("the file is larger than the import limit (%d MiB): %w", mbe.Limit>>20, err)
		}
		return nil, 0, fmt.Errorf("receive the file: %w", err)
	}
	return tmp, n, nil
}
