package admin

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"callgate/fraud"
	"callgate/store"
)

// The toll-fraud monitor's operations (package fraud), one for each
// command of `callgate fraud`, answering the same JSON as its --json:
//
//	GET  /api/v1/fraud/groups                  fraud status [--top N]
//	GET  /api/v1/fraud/groups/{group}          fraud status GROUP
//	GET  /api/v1/fraud/groups/{group}/history  fraud history GROUP [--events N]
//	POST /api/v1/fraud/groups/{group}/unlock   fraud unlock GROUP --reason TEXT
//	POST /api/v1/fraud/rates                   fraud rates import [--dry-run] FILE
//	GET  /api/v1/fraud/rates                   fraud rates versions
//	POST /api/v1/fraud/cdrs                    the CDR feed (as POST /fraud/cdrs on the admin listener)
//
// Who may do what (the scope of a group is package fraud's, access.go,
// over the store's tenant lookups): the platform owner every group; a
// service provider the groups of its own subscribers and enterprises (a
// group is an enterprise, else the subscriber owning the line: see
// fraud.GroupID), a group of another's reading as one that does not exist
// (404); a subscriber none (403). The rate table and the CDR feed are
// platform-wide: the platform owner's alone.

// WithFraud lets the API serve the fraud monitor's operations; without it
// they answer 404 (the daemon runs no monitor).
func WithFraud(m *fraud.Monitor) Option { return func(t *Tier) { t.fraud = m } }

// monitor returns the fraud monitor or the 404 that says there is none.
func (c *call) monitor() (*fraud.Monitor, error) {
	if c.t.fraud == nil {
		return nil, &apiError{status: http.StatusNotFound, field: "path",
			err: errors.New("the daemon runs no fraud monitor (fraud.enabled is off in its configuration)")}
	}
	return c.t.fraud, nil
}

// platformOnly refuses what only the platform owner may do.
func (c *call) platformOnly(what string) error {
	if c.actor.Role == store.RoleOperator {
		return nil
	}
	return &apiError{status: http.StatusForbidden,
		err: fmt.Errorf("%s: %w (only the platform owner may %s)", c.actor, store.ErrForbidden, what)}
}

// fraudGroup resolves the {group} path segment within the caller's scope.
func (c *call) fraudGroup(m *fraud.Monitor) (fraud.GroupID, error) {
	id, err := m.ResolveGroupAs(c.actor, c.r.PathValue("group"))
	switch {
	case err == nil:
		return id, nil
	case errors.Is(err, store.ErrForbidden):
		return 0, &apiError{status: http.StatusForbidden, err: err}
	case errors.Is(err, fraud.ErrNoGroup), errors.Is(err, store.ErrNotFound):
		return 0, &apiError{status: http.StatusNotFound, field: "group", err: err}
	}
	return 0, fieldErr("group", err)
}

// intParam reads a non-negative integer query parameter (def when absent).
func (c *call) intParam(name string, def, max int) (int, error) {
	s := c.r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > max {
		return 0, badRequest(name, "%s %q: want 0 to %d", name, s, max)
	}
	return n, nil
}

// fraudOverview is `callgate fraud status --json`.
type fraudOverview struct {
	RatesVersion uint32              `json:"rates_version"`
	RatesRows    int                 `json:"rates_rows"`
	Groups       int                 `json:"groups"` // with spend today or a lock (the caller's)
	Locked       int                 `json:"locked"`
	Status       []fraud.GroupStatus `json:"status"` // locked first, then nearest the lockdown threshold
}

func fraudStatus(c *call) (int, any, error) {
	m, err := c.monitor()
	if err != nil {
		return 0, nil, err
	}
	top, err := c.intParam("top", 20, 100000)
	if err != nil {
		return 0, nil, err
	}
	all, err := m.StatusAs(c.actor)
	if err != nil {
		return 0, nil, &apiError{status: http.StatusForbidden, err: err}
	}
	out := fraudOverview{Groups: len(all), Status: all}
	for _, s := range all {
		if s.Locked {
			out.Locked++
		}
	}
	if top > 0 && len(out.Status) > top {
		out.Status = out.Status[:top]
	}
	if out.Status == nil {
		out.Status = []fraud.GroupStatus{}
	}
	if t := m.Rates(); t != nil {
		out.RatesVersion, out.RatesRows = t.Version, t.Len()
	}
	return http.StatusOK, out, nil
}

func fraudGroupStatus(c *call) (int, any, error) {
	m, err := c.monitor()
	if err != nil {
		return 0, nil, err
	}
	id, err := c.fraudGroup(m)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, m.GroupStatus(id), nil
}

func fraudHistory(c *call) (int, any, error) {
	m, err := c.monitor()
	if err != nil {
		return 0, nil, err
	}
	id, err := c.fraudGroup(m)
	if err != nil {
		return 0, nil, err
	}
	events, err := c.intParam("events", 20, 1000000)
	if err != nil {
		return 0, nil, err
	}
	h, err := m.History(id, events)
	if err != nil {
		return 0, nil, err
	}
	if h.Days == nil {
		h.Days = []fraud.DaySpend{}
	}
	if h.Events == nil {
		h.Events = []fraud.Event{}
	}
	return http.StatusOK, h, nil
}

type unlockRequest struct {
	Reason string `json:"reason"`
}

// fraudUnlock lifts a lockdown. The fraud audit log records who: the
// principal (token or web user), the role it acts as, and the path.
func fraudUnlock(c *call) (int, any, error) {
	m, err := c.monitor()
	if err != nil {
		return 0, nil, err
	}
	id, err := c.fraudGroup(m)
	if err != nil {
		return 0, nil, err
	}
	var req unlockRequest
	if err := c.decode(&req); err != nil {
		return 0, nil, err
	}
	if err := fraud.CheckReason(req.Reason); err != nil {
		return 0, nil, &apiError{status: http.StatusUnprocessableEntity, field: "reason", err: err}
	}
	ev, err := m.Unlock(id, c.actor, req.Reason)
	switch {
	case errors.Is(err, fraud.ErrNotLocked):
		return 0, nil, &apiError{status: http.StatusConflict, field: "group", err: err}
	case err != nil:
		return 0, nil, &apiError{status: http.StatusServiceUnavailable, err: err}
	}
	return http.StatusOK, ev, nil
}

// fraudRatesImport takes a CSV rate table, all or nothing: every bad row
// comes back with its line (422) and nothing changes; a good one is
// stored as the next version (201), or only checked with ?dry_run=true
// (200). ?source= names the file in the version list and the audit log.
func fraudRatesImport(c *call) (int, any, error) {
	m, err := c.monitor()
	if err != nil {
		return 0, nil, err
	}
	if err := c.platformOnly("import a rate table"); err != nil {
		return 0, nil, err
	}
	q := c.r.URL.Query()
	dry := q.Get("dry_run") == "true"
	source := strings.TrimSpace(q.Get("source"))
	if source == "" {
		source = "api upload"
	}
	body, err := readAll(c)
	if err != nil {
		return 0, nil, err
	}
	meta, err := m.ImportRates(bytesReader(body), source, c.actor, dry)
	var re *fraud.RatesError
	switch {
	case errors.As(err, &re):
		ae := &apiError{status: http.StatusUnprocessableEntity, field: "body",
			err: fmt.Errorf("%d bad row(s); nothing was imported (fix them and send the file again)", len(re.Rows))}
		for _, r := range re.Rows {
			ae.rows = append(ae.rows, rowError{Line: r.Line, Error: r.Err})
		}
		return 0, nil, ae
	case err != nil:
		return 0, nil, &apiError{status: http.StatusServiceUnavailable, err: err}
	case dry:
		return http.StatusOK, meta, nil
	}
	return http.StatusCreated, meta, nil
}

func fraudRateVersions(c *call) (int, any, error) {
	m, err := c.monitor()
	if err != nil {
		return 0, nil, err
	}
	if err := c.platformOnly("read the rate table versions"); err != nil {
		return 0, nil, err
	}
	vs, err := m.RateVersions()
	if err != nil {
		return 0, nil, err
	}
	out := page[fraud.RateMeta]{Items: []fraud.RateMeta{}}
	out.Items = append(out.Items, vs...)
	return http.StatusOK, out, nil
}

type cdrsApplied struct {
	Applied int `json:"applied"`
}

// fraudCDRs is the CDR feed: a batch as text/csv (the line form) or
// application/json, all or nothing (422 with every bad row). 200 once the
// batch is applied and stored; 503 when the checkpoint could not be
// stored (the batch is applied in memory and retried: do not resend it).
func fraudCDRs(c *call) (int, any, error) {
	m, err := c.monitor()
	if err != nil {
		return 0, nil, err
	}
	if err := c.platformOnly("feed CDRs"); err != nil {
		return 0, nil, err
	}
	cdrs, err := fraud.ReadBatch(c.r.Body, c.r.Header.Get("Content-Type"))
	if err == nil {
		err = m.RecordBatch(cdrs)
	}
	var (
		ce  *fraud.CDRError
		cte *fraud.ContentTypeError
		mbe *http.MaxBytesError
	)
	switch {
	case err == nil:
		return http.StatusOK, cdrsApplied{len(cdrs)}, nil
	case errors.As(err, &ce):
		ae := &apiError{status: http.StatusUnprocessableEntity, field: "body",
			err: fmt.Errorf("%d bad row(s); nothing was applied (fix them and send the whole batch again)", len(ce.Rows))}
		for _, r := range ce.Rows {
			ae.rows = append(ae.rows, rowError{Line: r.Line, Error: r.Err})
		}
		return 0, nil, ae
	case errors.As(err, &cte):
		return 0, nil, &apiError{status: http.StatusUnsupportedMediaType, field: "Content-Type", err: err}
	case errors.As(err, &mbe):
		return 0, nil, &apiError{status: http.StatusRequestEntityTooLarge, field: "body", err: err}
	}
	return 0, nil, &apiError{status: http.StatusServiceUnavailable,
		err: fmt.Errorf("%d CDRs applied in memory, not yet stored (retried at the next recompute; do not resend them): %w", len(cdrs), err)}
}
