package admin

import (
	"net/http"

	"callgate/store"
)

// searchAudit searches the audit log, newest first, within the actor's
// scope (the store filters: a provider sees the records of itself and its
// subscribers, a subscriber its own). The cursor is the id of the last
// record returned.
func searchAudit(c *call) (int, any, error) {
	q := c.r.URL.Query()
	var aq store.AuditQuery
	var err error
	if aq.Since, err = parseTime("since", q.Get("since")); err != nil {
		return 0, nil, err
	}
	if aq.Until, err = parseTime("until", q.Get("until")); err != nil {
		return 0, nil, err
	}
	aq.Actor, aq.Object = q.Get("actor"), q.Get("object")
	lim, err := c.limit(100, 1000)
	if err != nil {
		return 0, nil, err
	}
	if aq.Before, err = c.cursor(); err != nil {
		return 0, nil, err
	}
	aq.Limit = lim + 1
	recs, err := c.t.st.SearchAudit(c.actor, aq)
	if err != nil {
		return 0, nil, fieldErr("cursor", err)
	}
	out := page[store.AuditRecord]{Items: []store.AuditRecord{}}
	if len(recs) > lim {
		recs = recs[:lim]
		out.NextCursor = encodeCursor(recs[lim-1].ID)
	}
	out.Items = append(out.Items, recs...)
	return http.StatusOK, out, nil
}
