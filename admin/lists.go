package admin

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"callgate/e164"
	"callgate/store"
)

type listRequest struct {
	Numbers []string `json:"numbers"`
	Note    string   `json:"note,omitempty"`
}

type listChange struct {
	Changed  int   `json:"changed"` // rows added or removed
	Revision int64 `json:"revision"`
}

func (c *call) list() (string, store.List, error) {
	l, err := store.ParseList(c.r.PathValue("list"))
	if err != nil {
		return "", 0, fieldErr("list", err)
	}
	return c.r.PathValue("owner"), l, nil
}

func getList(c *call) (int, any, error) {
	owner, l, err := c.list()
	if err != nil {
		return 0, nil, err
	}
	lim, err := c.limit(100, 10000)
	if err != nil {
		return 0, nil, err
	}
	cur, err := c.cursor()
	if err != nil {
		return 0, nil, err
	}
	var after e164.Number
	if a := c.r.URL.Query().Get("after"); a != "" && cur == "" {
		if after, err = e164.Parse(a); err != nil {
			return 0, nil, badRequest("after", "after: %v", err)
		}
	}
	if cur != "" {
		n, err := strconv.ParseUint(cur, 10, 64)
		if err != nil {
			return 0, nil, badRequest("cursor", "cursor: not one this API returned")
		}
		after = e164.Number(n)
	}
	p, err := c.t.st.ListEntries(c.actor, owner, l, after, lim)
	if err != nil {
		return 0, nil, fieldErr("owner", err)
	}
	out := page[store.Entry]{Items: p.Entries, Total: p.Total, Revision: p.Revision}
	if out.Items == nil {
		out.Items = []store.Entry{}
	}
	if p.Next != 0 {
		out.NextCursor = encodeCursor(strconv.FormatUint(uint64(p.Next), 10))
	}
	c.setETag(p.Revision)
	return http.StatusOK, out, nil
}

// addToList adds numbers; with If-Match only if the list is unchanged.
func addToList(c *call) (int, any, error) {
	owner, l, err := c.list()
	if err != nil {
		return 0, nil, err
	}
	rev, err := c.optIfMatch()
	if err != nil {
		return 0, nil, err
	}
	var req listRequest
	if err := c.decode(&req); err != nil {
		return 0, nil, err
	}
	if len(req.Numbers) == 0 {
		return 0, nil, badRequest("numbers", "no numbers given")
	}
	n, err := c.t.st.AddToList(c.at(rev), owner, l, req.Numbers, req.Note)
	if err != nil {
		return 0, nil, fieldErr("numbers", err)
	}
	return c.listAnswer(owner, l, n)
}

func removeFromList(c *call) (int, any, error) {
	owner, l, err := c.list()
	if err != nil {
		return 0, nil, err
	}
	rev, err := c.optIfMatch()
	if err != nil {
		return 0, nil, err
	}
	n, err := c.t.st.RemoveFromList(c.at(rev), owner, l, []string{c.r.PathValue("number")})
	if err != nil {
		return 0, nil, fieldErr("number", err)
	}
	return c.listAnswer(owner, l, n)
}

func (c *call) listAnswer(owner string, l store.List, n int) (int, any, error) {
	p, err := c.t.st.ListEntries(c.actor, owner, l, 0, 1)
	if err != nil {
		return 0, nil, fieldErr("owner", err)
	}
	c.setETag(p.Revision)
	return http.StatusOK, listChange{Changed: n, Revision: p.Revision}, nil
}

// importLists takes list rows as CSV (the `callgate list import` format),
// all or nothing: rows are validated first (a dry run with the caller's
// actor, so rows outside its scope are errors too), and with any bad row
// nothing is written and every error comes back with its line (422).
// ?replace=true replaces each list named in the file.
func importLists(c *call) (int, any, error) {
	if c.wantsReport() {
		return importListsReport(c) // bulk.go
	}
	body, err := readAll(c)
	if err != nil {
		return 0, nil, err
	}
	replace := c.r.URL.Query().Get("replace") == "true"
	opts := store.ImportOptions{Actor: c.actor, Replace: replace, DryRun: true, MaxErrors: 1000}
	rep, err := c.t.st.Import(bytesReader(body), opts)
	if err != nil {
		return 0, nil, fieldErr("body", err)
	}
	if rep.ErrorCount == 0 {
		opts.DryRun = false
		rep, err = c.t.st.Import(bytesReader(body), opts)
		if err != nil {
			return 0, nil, fieldErr("body", err)
		}
	}
	if rep.ErrorCount > 0 {
		ae := &apiError{status: http.StatusUnprocessableEntity, field: "body",
			err: fmt.Errorf("%d of %d rows are bad; nothing was imported", rep.ErrorCount, rep.Rows)}
		for _, e := range rep.Errors {
			ae.rows = append(ae.rows, rowError{Line: e.Line, Error: e.Err})
			// A row about a list the caller may see but not change (a
			// subscriber's locked list) makes the whole request a refusal,
			// as any other request about it would be. Another tenant's
			// list reads as an owner that does not exist (422), as
			// elsewhere.
			if strings.Contains(e.Err, store.ErrForbidden.Error()) || strings.Contains(e.Err, store.ErrLocked.Error()) {
				ae.status = http.StatusForbidden
			}
		}
		return 0, nil, ae
	}
	return http.StatusOK, rep, nil
}
