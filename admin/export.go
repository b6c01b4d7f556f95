package admin

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"callgate/store"
)

// written is the body a handler returns once it has written its answer
// itself (a CSV stream): the route wrapper then writes nothing more.
type written struct{}

// Trailers of a CSV export: the rows written, and what cut the export
// short (the status was sent before the rows).
const (
	exportRowsTrailer  = "Callgate-Rows"
	exportErrorTrailer = "Callgate-Error"
)

// exportLists streams list rows as CSV (owner,list,number,note), the
// format POST /api/v1/lists/import reads back, from one consistent
// snapshot. ?owner= limits it to one subscriber or provider:NAME (a
// provider or subscriber must name one it may read), ?list= to one list.
func exportLists(c *call) (int, any, error) {
	q := c.r.URL.Query()
	opts := store.ExportOptions{Owner: q.Get("owner")}
	if s := q.Get("list"); s != "" {
		l, err := store.ParseList(s)
		if err != nil {
			return 0, nil, fieldErr("list", err)
		}
		opts.List = l
	}
	if opts.Owner == "" && c.actor.Role != store.RoleOperator {
		return 0, nil, &apiError{status: http.StatusForbidden, field: "owner",
			err: errors.New("owner: a provider or subscriber exports the lists of one owner it manages: give owner")}
	}
	if opts.Owner != "" && c.actor.Role != store.RoleOperator {
		// The export itself takes no actor: the lists are checked
		// readable by this one first.
		lists := []store.List{store.ListVIP, store.ListBlocked}
		if opts.List != 0 {
			lists = []store.List{opts.List}
		}
		for _, l := range lists {
			if _, err := c.t.st.ListEntries(c.actor, opts.Owner, l, 0, 1); err != nil {
				return 0, nil, fieldErr("owner", err)
			}
		}
	}
	out := &csvAnswer{w: c.w}
	n, err := c.t.st.Export(out, opts)
	if err != nil && !out.started {
		return 0, nil, fieldErr("owner", err) // nothing sent yet: a problem, as for any request
	}
	h := c.w.Header()
	h.Set(exportRowsTrailer, strconv.Itoa(n))
	if err != nil {
		c.t.log.Error("api: export", "owner", opts.Owner, "err", err)
		h.Set(exportErrorTrailer, strings.Join(strings.Fields(err.Error()), " "))
	}
	return http.StatusOK, written{}, nil
}

// csvAnswer sends the status and headers of a CSV answer with its first
// bytes, so an export that fails before writing any (a missing owner) is
// answered with a problem instead.
type csvAnswer struct {
	w       http.ResponseWriter
	started bool
}

func (a *csvAnswer) Write(p []byte) (int, error) {
	if !a.started {
		a.started = true
		h := a.w.Header()
		h.Set("Content-Type", "text/csv; charset=utf-8")
		h.Set("Trailer", exportRowsTrailer+", "+exportErrorTrailer)
		a.w.WriteHeader(http.StatusOK)
	}
	return a.w.Write(p)
}
