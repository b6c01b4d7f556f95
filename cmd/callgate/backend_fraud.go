package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"callgate/fraud"
	"callgate/store"
)

// fraudBackend is what the `callgate fraud` commands do: on a monitor over
// the store file when no daemon runs (localFraud), else through the
// daemon's /api/v1/fraud operations (apiFraud), whose answers are the
// commands' --json.
type fraudBackend interface {
	Status(top int) (fraudOverview, error)
	GroupStatus(group string) (fraud.GroupStatus, error)
	History(group string, events int) (fraud.History, error)
	Unlock(group, reason string) (fraud.Event, error)
	// ImportRates returns a *fraud.RatesError naming every bad row.
	ImportRates(r io.Reader, source string, dryRun bool) (fraud.RateMeta, error)
	RateVersions() ([]fraud.RateMeta, error)
}

// fraudOverview is `callgate fraud status --json`: the groups with spend
// today or a lock, the first top of them.
type fraudOverview struct {
	RatesVersion uint32              `json:"rates_version"` // 0: no rate table
	RatesRows    int                 `json:"rates_rows"`
	Groups       int                 `json:"groups"`
	Locked       int                 `json:"locked"`
	Status       []fraud.GroupStatus `json:"status"`
}

// withFraud runs fn on the running daemon's monitor, else on one over the
// store file.
func (e *env) withFraud(readOnly bool, fn func(fraudBackend) error) error {
	cfg, err := e.loadConfig()
	if err != nil {
		return err
	}
	api, err := e.daemonAPI(&cfg)
	if err != nil {
		return err
	}
	if api != nil {
		defer api.c.close()
		return fn(apiFraud{api.c})
	}
	return e.onStoreFile(&cfg, readOnly, func(st *store.Store) error {
		mc, err := cfg.Fraud.MonitorConfig()
		if err != nil {
			return err
		}
		m, err := fraud.New(mc, st, fraud.StoreState(st))
		if err != nil {
			return err
		}
		return fn(localFraud{m, e.op()})
	})
}

// localFraud is a monitor over the store file; actor is who acts (the
// platform owner, as this OS user), for the audit logs.
type localFraud struct {
	m     *fraud.Monitor
	actor store.Actor
}

func (l localFraud) Status(top int) (fraudOverview, error) {
	all := l.m.Status()
	out := fraudOverview{Groups: len(all), Locked: len(l.m.Locks()), Status: all}
	if top > 0 && len(out.Status) > top {
		out.Status = out.Status[:top]
	}
	if t := l.m.Rates(); t != nil {
		out.RatesVersion, out.RatesRows = t.Version, t.Len()
	}
	return out, nil
}

func (l localFraud) GroupStatus(group string) (fraud.GroupStatus, error) {
	id, err := l.m.ResolveGroup(group)
	if err != nil {
		return fraud.GroupStatus{}, err
	}
	return l.m.GroupStatus(id), nil
}

func (l localFraud) History(group string, events int) (fraud.History, error) {
	id, err := l.m.ResolveGroup(group)
	if err != nil {
		return fraud.History{}, err
	}
	return l.m.History(id, events)
}

func (l localFraud) Unlock(group, reason string) (fraud.Event, error) {
	id, err := l.m.ResolveGroup(group)
	if err != nil {
		return fraud.Event{}, err
	}
	return l.m.Unlock(id, l.actor, reason)
}

func (l localFraud) ImportRates(r io.Reader, source string, dryRun bool) (fraud.RateMeta, error) {
	return l.m.ImportRates(r, source, l.actor, dryRun)
}

func (l localFraud) RateVersions() ([]fraud.RateMeta, error) { return l.m.RateVersions() }

// apiFraud is the daemon's monitor, through /api/v1/fraud.
type apiFraud struct{ c *apiClient }

// do is apiClient.do, saying what to do when the daemon's API has no
// fraud operations (a callgate from before them).
func (a apiFraud) do(req request, out any) error {
	_, err := a.c.do(req, out)
	var ae *apiError
	if errors.As(err, &ae) && ae.Status == http.StatusNotFound && ae.Field == "path" && strings.Contains(ae.Detail, "no such operation") {
		return fmt.Errorf("the running daemon's management API has no fraud operations (%s): a daemon built without them; "+
			"restart it with a callgate that has them, or stop it to run the command on the store file", ae.Detail)
	}
	return err
}

func (a apiFraud) Status(top int) (fraudOverview, error) {
	var out fraudOverview
	err := a.do(request{method: http.MethodGet, path: apiPath("fraud", "groups"), query: url.Values{"top": {strconv.Itoa(top)}}}, &out)
	return out, err
}

func (a apiFraud) GroupStatus(group string) (fraud.GroupStatus, error) {
	var out fraud.GroupStatus
	err := a.do(request{method: http.MethodGet, path: apiPath("fraud", "groups", group)}, &out)
	return out, err
}

func (a apiFraud) History(group string, events int) (fraud.History, error) {
	var out fraud.History
	err := a.do(request{method: http.MethodGet, path: apiPath("fraud", "groups", group, "history"),
		query: url.Values{"events": {strconv.Itoa(events)}}}, &out)
	return out, err
}

func (a apiFraud) Unlock(group, reason string) (fraud.Event, error) {
	var out fraud.Event
	err := a.do(request{method: http.MethodPost, path: apiPath("fraud", "groups", group, "unlock"),
		json: map[string]string{"reason": reason}}, &out)
	return out, err
}

func (a apiFraud) ImportRates(r io.Reader, source string, dryRun bool) (fraud.RateMeta, error) {
	q := url.Values{"source": {source}}
	if dryRun {
		q.Set("dry_run", "true")
	}
	var out fraud.RateMeta
	err := a.do(request{method: http.MethodPost, path: apiPath("fraud", "rates"), query: q, body: r}, &out)
	var ae *apiError
	if errors.As(err, &ae) && ae.Status == http.StatusUnprocessableEntity && len(ae.Errors) > 0 {
		re := &fraud.RatesError{}
		for _, row := range ae.Errors {
			re.Rows = append(re.Rows, fraud.RowError{Line: row.Line, Err: row.Error})
		}
		return out, re
	}
	return out, err
}

func (a apiFraud) RateVersions() ([]fraud.RateMeta, error) {
	var pg apiPage[fraud.RateMeta]
	err := a.do(request{method: http.MethodGet, path: apiPath("fraud", "rates")}, &pg)
	if len(pg.Items) == 0 {
		pg.Items = nil
	}
	return pg.Items, err
}
