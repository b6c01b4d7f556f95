package admin

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"callgate/store"
)

// Bulk changes beside the single-number routes of lists.go and
// tenants.go: removing many numbers from a list or a subscriber in one
// write, and imports that answer with their report (?report=true: the
// CLI's import, which writes the good rows of a merge and lists the bad
// ones, instead of refusing the whole file).

// removeFromListBulk removes numbers from a list, all or none (one bad
// number fails the request and names it); with If-Match only if the list
// is unchanged.
func removeFromListBulk(c *call) (int, any, error) {
	owner, l, err := c.list()
	if err != nil {
		return 0, nil, err
	}
	rev, err := c.optIfMatch()
	if err != nil {
		return 0, nil, err
	}
	var req numbersRequest
	if err := c.decode(&req); err != nil {
		return 0, nil, err
	}
	if len(req.Numbers) == 0 {
		return 0, nil, badRequest("numbers", "no numbers given")
	}
	n, err := c.t.st.RemoveFromList(c.at(rev), owner, l, req.Numbers)
	if err != nil {
		return 0, nil, fieldErr("numbers", err)
	}
	return c.listAnswer(owner, l, n)
}

// unassignNumbers takes numbers from a subscriber, all or none.
func unassignNumbers(c *call) (int, any, error) {
	var req numbersRequest
	if err := c.decode(&req); err != nil {
		return 0, nil, err
	}
	if len(req.Numbers) == 0 {
		return 0, nil, badRequest("numbers", "no numbers given")
	}
	s, err := c.t.st.UnassignNumbers(c.actor, c.r.PathValue("subscriber"), req.Numbers...)
	if err != nil {
		return 0, nil, fieldErr("numbers", err)
	}
	return c.subscriberAnswer(http.StatusOK, s.Name)
}

// wantsReport reports whether the import asks for its report whatever
// the rows (?report=true).
func (c *call) wantsReport() bool { return c.r.URL.Query().Get("report") == "true" }

// maxErrors is ?max_errors (default 1000; 0 or less: the store's 100):
// the bad rows listed in a report (all are counted).
func (c *call) maxErrors() (int, error) {
	s := c.r.URL.Query().Get("max_errors")
	if s == "" {
		return 1000, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, badRequest("max_errors", "max_errors %q: want a whole number (0: the default, 100)", s)
	}
	return n, nil
}

// bodyErr reports a body cut short by the size limit as such.
func bodyErr(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return &apiError{status: http.StatusRequestEntityTooLarge, field: "body", err: err}
	}
	return fieldErr("body", err)
}

// importListsReport imports list rows as `callgate import` does: a merge
// writes the good rows, a replace (any bad row) or a dry run writes
// nothing; the answer is the report, 200, with every bad row (up to
// max_errors) in errors. A row about a list the caller may see but not
// change (a subscriber's locked list) refuses the whole request (403,
// nothing written), as any other request about that list would be; one
// about another tenant's list is a bad row naming an owner that does not
// exist, as it would be were there none. A tenant's rows are checked first (a dry run
// over the body held in memory, which the body limit bounds); the platform
// owner may change every list, so its body is read once, as a stream of
// any size.
func importListsReport(c *call) (int, any, error) {
	q := c.r.URL.Query()
	maxErr, err := c.maxErrors()
	if err != nil {
		return 0, nil, err
	}
	opts := store.ImportOptions{Actor: c.actor, Replace: q.Get("replace") == "true", DryRun: q.Get("dry_run") == "true", MaxErrors: maxErr}
	in := io.Reader(c.r.Body)
	if c.actor.Role != store.RoleOperator {
		body, err := readAll(c)
		if err != nil {
			return 0, nil, err
		}
		check := opts
		check.DryRun, check.MaxErrors = true, max(maxErr, 1000)
		rep, err := c.t.st.Import(bytesReader(body), check)
		if err != nil {
			return 0, nil, bodyErr(err)
		}
		if refused := refusedRows(rep.Errors); refused != nil {
			return 0, nil, refused
		}
		in = bytesReader(body)
	}
	rep, err := c.t.st.Import(in, opts)
	if err != nil {
		return 0, nil, bodyErr(err)
	}
	return http.StatusOK, rep, nil
}

// refusedRows is the 403 of an import with rows about lists the caller may
// see but not change (a subscriber's locked lists), naming them; nil if
// there are none. Another tenant's lists are not found, as elsewhere.
func refusedRows(errs []store.RowError) error {
	ae := &apiError{status: http.StatusForbidden, field: "body", err: errors.New("rows name lists you may not change; nothing was imported")}
	for _, e := range errs {
		if strings.Contains(e.Err, store.ErrForbidden.Error()) || strings.Contains(e.Err, store.ErrLocked.Error()) {
			ae.rows = append(ae.rows, rowError{Line: e.Line, Error: e.Err})
		}
	}
	if ae.rows == nil {
		return nil
	}
	return ae
}

// importSubscribersReport is bulk provisioning answering with its report
// (refused: true, and nothing written, when any row is bad).
func importSubscribersReport(c *call) (int, any, error) {
	maxErr, err := c.maxErrors()
	if err != nil {
		return 0, nil, err
	}
	rep, err := c.t.st.ImportSubscribers(c.r.Body, store.SubscriberImportOptions{Actor: c.actor,
		DryRun: c.r.URL.Query().Get("dry_run") == "true", MaxErrors: maxErr, Size: max(c.r.ContentLength, 0)})
	if err != nil {
		return 0, nil, bodyErr(err)
	}
	// A row naming a provider the caller may not provision refuses the
	// request as importSubscribers does (nothing was written either way).
	for _, e := range rep.Errors {
		if strings.Contains(e.Err, "not yours to provision") {
			return 0, nil, &apiError{status: http.StatusNotFound, field: "body",
				err: fmt.Errorf("line %d: %s; nothing was imported", e.Line, e.Err)}
		}
	}
	return http.StatusOK, rep, nil
}
