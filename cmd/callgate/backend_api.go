package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"callgate/admin"
	"callgate/daemon"
	"callgate/e164"
	"callgate/policy"
	"callgate/policy/decisionlog"
	"callgate/store"
)

// apiBackend runs the operator commands through the running daemon's
// management API (/api/v1 on its socket; admin/openapi.json): each
// backend call is one typed endpoint, or a few.
type apiBackend struct{ c *apiClient }

var _ backend = (*apiBackend)(nil)

func newAPIBackend(ctx context.Context, socket, storePath string) *apiBackend {
	return &apiBackend{newAPIClient(ctx, socket, storePath)}
}

// apiPage is one page of a collection.
type apiPage[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor"`
	Total      int    `json:"total"`
	Revision   int64  `json:"revision"`
}

// Collections are read in pages of at most this many (the API's bound).
const apiPageMax = 1000

type apiProvider struct {
	ID                 uint32           `json:"id"`
	Name               string           `json:"name"`
	Defaults           store.Settings   `json:"defaults"`
	DefaultPermissions store.Permission `json:"default_permissions"`
	Route              string           `json:"route"`
	Allocations        []store.Range    `json:"allocations"`
	Created            time.Time        `json:"created"`
	Revision           int64            `json:"revision"`
}

func (p apiProvider) provider() store.Provider {
	return store.Provider{ID: p.ID, Name: p.Name, Defaults: p.Defaults, DefaultPermissions: p.DefaultPermissions,
		Route: p.Route, Allocations: p.Allocations, Created: p.Created, Revision: p.Revision}
}

type apiSubscriber struct {
	ID          uint32           `json:"id"`
	Name        string           `json:"name"`
	Provider    string           `json:"provider"`
	Numbers     []e164.Number    `json:"numbers"`
	Settings    store.Settings   `json:"settings"`
	Permissions store.Permission `json:"permissions"`
	// SetByProvider: absent from an older daemon's answer (none marked).
	SetByProvider store.Permission `json:"set_by_provider"`
	HasPIN        bool             `json:"has_pin"`
	Created       time.Time        `json:"created"`
	Revision      int64            `json:"revision"`
}

func (s apiSubscriber) subscriber() store.Subscriber {
	return store.Subscriber{ID: s.ID, Name: s.Name, Provider: s.Provider, Numbers: s.Numbers, Settings: s.Settings,
		Permissions: s.Permissions, SetByProvider: s.SetByProvider, HasPIN: s.HasPIN, Created: s.Created, Revision: s.Revision}
}

type apiEnterprise struct {
	ID       uint32        `json:"id"`
	Name     string        `json:"name"`
	Provider string        `json:"provider"`
	Numbers  []e164.Number `json:"numbers"`
	Created  time.Time     `json:"created"`
	Revision int64         `json:"revision"`
}

func (e apiEnterprise) enterprise() store.Enterprise {
	return store.Enterprise{ID: e.ID, Name: e.Name, Provider: e.Provider, Numbers: e.Numbers, Created: e.Created, Revision: e.Revision}
}

// ProviderSignals shows the platform defaults the daemon answers with:
// its engine's, from the configuration it was started with, which may
// differ from this command's.
func (b *apiBackend) ProviderSignals(name string, change func(*store.ProviderSignals)) (providerSignals, error) {
	path := apiPath("providers", name, "signals")
	var err error
	for range 3 {
		var v apiProviderSignals
		var tag string
		if tag, err = b.c.do(request{method: http.MethodGet, path: path}, &v); err != nil {
			return providerSignals{}, err
		}
		if change == nil {
			return v.result(b.c.socket)
		}
		change(&v.Signals)
		if _, err = b.c.do(request{method: http.MethodPut, path: path, json: v.Signals, ifMatch: tag}, &v); err == nil {
			return v.result(b.c.socket)
		}
		if !errors.Is(err, store.ErrStale) {
			break // a refusal; a 412 (changed meanwhile) reads it again
		}
	}
	return providerSignals{}, err
}

// apiProviderSignals is the answer of /api/v1/providers/{p}/signals.
type apiProviderSignals struct {
	Provider string                `json:"provider"`
	Signals  store.ProviderSignals `json:"signals"`
	Platform *struct {
		Reputation struct {
			Low     string `json:"low"`
			Medium  string `json:"medium"`
			High    string `json:"high"`
			Exempt  string `json:"exempt"`
			Unknown string `json:"unknown"`
		} `json:"reputation"`
		KeyMissing string `json:"key_missing"`
	} `json:"platform"`
}

// result reads the platform defaults by name; a daemon that gives none
// is refused rather than replaced by this command's configuration, which
// may not be the daemon's.
func (v *apiProviderSignals) result(socket string) (providerSignals, error) {
	out := providerSignals{Name: v.Provider, Signals: v.Signals, From: platformFromDaemon}
	p := v.Platform
	if p == nil {
		return out, fmt.Errorf("the daemon on %s did not say its platform signal defaults (an older callgate?): "+
			"upgrade and restart it, or read reputation.actions and keys.on_missing in the configuration it was started with", socket)
	}
	r := &p.Reputation
	var errs []error
	for _, f := range []struct {
		name string
		v    string
		dst  *policy.ReputationAction
	}{{"reputation.low", r.Low, &out.Platform.Low}, {"reputation.medium", r.Medium, &out.Platform.Medium},
		{"reputation.high", r.High, &out.Platform.High}, {"reputation.exempt", r.Exempt, &out.Platform.Exempt},
		{"reputation.unknown", r.Unknown, &out.Platform.Unknown}, {"key_missing", p.KeyMissing, &out.KeyMissing}} {
		a, err := policy.ParseReputationAction(f.v)
		if err != nil {
			errs = append(errs, fmt.Errorf("platform %s: %w", f.name, err))
		}
		*f.dst = a
	}
	if len(errs) > 0 {
		return out, fmt.Errorf("the daemon's answer: %w", errors.Join(errs...))
	}
	return out, nil
}

func (b *apiBackend) CreateProvider(spec store.ProviderSpec) (store.Provider, error) {
	var p apiProvider
	_, err := b.c.do(request{method: http.MethodPost, path: apiPath("providers"), json: map[string]any{
		"name": spec.Name, "defaults": spec.Defaults, "default_permissions": spec.DefaultPermissions, "route": spec.Route}}, &p)
	return p.provider(), err
}

func (b *apiBackend) GetProvider(name string) (store.Provider, error) {
	var p apiProvider
	_, err := b.c.do(request{method: http.MethodGet, path: apiPath("providers", name)}, &p)
	return p.provider(), err
}

// ListProviders reads each provider for its allocations (the list has
// none).
func (b *apiBackend) ListProviders() ([]store.Provider, error) {
	var pg apiPage[apiProvider]
	if _, err := b.c.do(request{method: http.MethodGet, path: apiPath("providers")}, &pg); err != nil {
		return nil, err
	}
	var out []store.Provider
	for _, p := range pg.Items {
		full, err := b.GetProvider(p.Name)
		if err != nil {
			return nil, err
		}
		out = append(out, full)
	}
	return out, nil
}

// CountSubscribers asks the daemon for the count (one request, O(1) in the
// store) rather than paging through every subscriber.
func (b *apiBackend) CountSubscribers(provider string) (int, error) {
	var out struct {
		Count int `json:"count"`
	}
	q := url.Values{}
	if provider != "" {
		q.Set("provider", provider)
	}
	_, err := b.c.do(request{method: http.MethodGet, path: "/api/v1/subscribers:count", query: q}, &out)
	return out.Count, err
}

// eachSubscriber calls fn for the provider's subscribers ("" = all), at
// most limit (0 = all), in creation order, page by page.
func (b *apiBackend) eachSubscriber(provider string, limit int, fn func(apiSubscriber)) error {
	cursor, n := "", 0
	for {
		q := url.Values{"limit": {strconv.Itoa(apiPageMax)}}
		if limit > 0 {
			q.Set("limit", strconv.Itoa(min(apiPageMax, limit-n)))
		}
		if provider != "" {
			q.Set("provider", provider)
		}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var pg apiPage[apiSubscriber]
		if _, err := b.c.do(request{method: http.MethodGet, path: apiPath("subscribers"), query: q}, &pg); err != nil {
			return err
		}
		for _, s := range pg.Items {
			fn(s)
			n++
		}
		if cursor = pg.NextCursor; cursor == "" || limit > 0 && n >= limit {
			return nil
		}
	}
}

func (b *apiBackend) PatchProvider(name string, p providerPatch) (store.Provider, error) {
	var out apiProvider
	err := b.c.patch(apiPath("providers", name), p, &out)
	return out.provider(), err
}

func (b *apiBackend) ProviderStir(name string) (stirJSON, error) {
	var out stirJSON
	_, err := b.c.do(request{method: http.MethodGet, path: apiPath("providers", name, "stir")}, &out)
	return out, err
}

func (b *apiBackend) PatchProviderStir(name string, p stirPatch) (stirJSON, error) {
	var out stirJSON
	_, err := b.c.do(request{method: http.MethodPatch, path: apiPath("providers", name, "stir"), json: p}, &out)
	return out, err
}

func (b *apiBackend) DeleteProvider(name string) error {
	_, err := b.c.do(request{method: http.MethodDelete, path: apiPath("providers", name)}, nil)
	return err
}

func (b *apiBackend) AllocateNumbers(provider string, ranges []store.Range) error {
	rs := make([]string, len(ranges))
	for i, r := range ranges {
		rs[i] = r.String()
	}
	_, err := b.c.do(request{method: http.MethodPost, path: apiPath("providers", provider, "allocations"), json: map[string]any{"ranges": rs}}, nil)
	return err
}

func (b *apiBackend) ReleaseNumbers(provider string, r store.Range) error {
	_, err := b.c.do(request{method: http.MethodDelete, path: apiPath("providers", provider, "allocations", r.String())}, nil)
	return err
}

func (b *apiBackend) CreateSubscriber(spec store.SubscriberSpec) (store.Subscriber, error) {
	var s apiSubscriber
	_, err := b.c.do(request{method: http.MethodPost, path: apiPath("subscribers"), json: map[string]any{
		"name": spec.Name, "provider": spec.Provider, "numbers": spec.Numbers, "settings": spec.Settings, "permissions": spec.Permissions}}, &s)
	return s.subscriber(), err
}

func (b *apiBackend) GetSubscriber(ref string) (store.Subscriber, error) {
	var s apiSubscriber
	_, err := b.c.do(request{method: http.MethodGet, path: apiPath("subscribers", ref)}, &s)
	return s.subscriber(), err
}

func (b *apiBackend) Treatment(ref string) (treatmentJSON, error) {
	var t treatmentJSON
	_, err := b.c.do(request{method: http.MethodGet, path: apiPath("subscribers", ref, "treatment")}, &t)
	return t, err
}

func (b *apiBackend) ListSubscribers(provider string, limit int) ([]store.Subscriber, error) {
	var out []store.Subscriber
	err := b.eachSubscriber(provider, limit, func(s apiSubscriber) { out = append(out, s.subscriber()) })
	return out, err
}

func (b *apiBackend) AssignNumbers(ref string, numbers []string) (store.Subscriber, error) {
	var s apiSubscriber
	_, err := b.c.do(request{method: http.MethodPost, path: apiPath("subscribers", ref, "numbers"), json: map[string]any{"numbers": numbers}}, &s)
	return s.subscriber(), err
}

func (b *apiBackend) UnassignNumbers(ref string, numbers []string) (store.Subscriber, error) {
	var s apiSubscriber
	_, err := b.c.do(request{method: http.MethodPost, path: apiPath("subscribers", ref, "numbers", "remove"), json: map[string]any{"numbers": numbers}}, &s)
	return s.subscriber(), err
}

func (b *apiBackend) PatchSubscriber(ref string, p subscriberPatch) (store.Subscriber, error) {
	var s apiSubscriber
	err := b.c.patch(apiPath("subscribers", ref), p, &s)
	return s.subscriber(), err
}

func (b *apiBackend) DeleteSubscriber(ref string) error {
	_, err := b.c.do(request{method: http.MethodDelete, path: apiPath("subscribers", ref)}, nil)
	return err
}

func (b *apiBackend) ImportSubscribers(r io.Reader, dryRun bool, maxErrors int) (store.SubscriberImportReport, error) {
	var rep store.SubscriberImportReport
	q := url.Values{"report": {"true"}, "max_errors": {strconv.Itoa(maxErrors)}}
	if dryRun {
		q.Set("dry_run", "true")
	}
	_, err := b.c.do(request{method: http.MethodPost, path: "/api/v1/subscribers:import", query: q, body: r}, &rep)
	return rep, err
}

func (b *apiBackend) CreateEnterprise(spec store.EnterpriseSpec) (store.Enterprise, error) {
	var e apiEnterprise
	_, err := b.c.do(request{method: http.MethodPost, path: apiPath("enterprises"), json: map[string]any{
		"name": spec.Name, "provider": spec.Provider, "numbers": spec.Numbers}}, &e)
	return e.enterprise(), err
}

func (b *apiBackend) ListEnterprises() ([]store.Enterprise, error) {
	var pg apiPage[apiEnterprise]
	if _, err := b.c.do(request{method: http.MethodGet, path: apiPath("enterprises")}, &pg); err != nil {
		return nil, err
	}
	out := make([]store.Enterprise, 0, len(pg.Items))
	for _, e := range pg.Items {
		out = append(out, e.enterprise())
	}
	return out, nil
}

func (b *apiBackend) DeleteEnterprise(name string) error {
	_, err := b.c.do(request{method: http.MethodDelete, path: apiPath("enterprises", name)}, nil)
	return err
}

func (b *apiBackend) EnterpriseSignals(name string) (enterpriseSignalsJSON, error) {
	var out enterpriseSignalsJSON
	_, err := b.c.do(request{method: http.MethodGet, path: apiPath("enterprises", name, "signals")}, &out)
	return out, err
}

func (b *apiBackend) PatchEnterpriseSignals(name string, p signalsPatch) (enterpriseSignalsJSON, error) {
	var out enterpriseSignalsJSON
	_, err := b.c.do(request{method: http.MethodPatch, path: apiPath("enterprises", name, "signals"), json: p}, &out)
	return out, err
}

func (b *apiBackend) IssueEnterpriseToken(name string, revokeKeys bool) (enterpriseSignalsJSON, error) {
	var out enterpriseSignalsJSON
	req := request{method: http.MethodPost, path: apiPath("enterprises", name, "token")}
	if revokeKeys {
		req.query = url.Values{"revoke_keys": {"true"}}
	}
	_, err := b.c.do(req, &out)
	return out, err
}

func (b *apiBackend) RevokeEnterpriseKeys(name string) (int, error) {
	var out struct {
		Revoked int `json:"revoked"`
	}
	_, err := b.c.do(request{method: http.MethodDelete, path: apiPath("enterprises", name, "keys")}, &out)
	return out.Revoked, err
}

// listChange is the answer to a list change.
type listChange struct {
	Changed int `json:"changed"`
}

func (b *apiBackend) AddToList(owner string, l store.List, numbers []string, note string) (int, error) {
	var ch listChange
	_, err := b.c.do(request{method: http.MethodPost, path: apiPath("lists", owner, l.String()),
		json: map[string]any{"numbers": numbers, "note": note}}, &ch)
	return ch.Changed, err
}

func (b *apiBackend) RemoveFromList(owner string, l store.List, numbers []string) (int, error) {
	var ch listChange
	_, err := b.c.do(request{method: http.MethodPost, path: apiPath("lists", owner, l.String(), "remove"),
		json: map[string]any{"numbers": numbers}}, &ch)
	return ch.Changed, err
}

func (b *apiBackend) ListEntries(owner string, l store.List, after e164.Number, limit int) (store.ListPage, error) {
	q := url.Values{}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(min(limit, 10000)))
	}
	if after != 0 {
		q.Set("after", after.String())
	}
	var pg apiPage[store.Entry]
	if _, err := b.c.do(request{method: http.MethodGet, path: apiPath("lists", owner, l.String()), query: q}, &pg); err != nil {
		return store.ListPage{}, err
	}
	p := store.ListPage{Entries: pg.Items, Total: pg.Total, Revision: pg.Revision}
	if pg.NextCursor != "" && len(pg.Items) > 0 {
		p.Next = pg.Items[len(pg.Items)-1].Number // the page goes on after its last number
	}
	if len(p.Entries) == 0 {
		p.Entries = nil
	}
	return p, nil
}

func (b *apiBackend) SetPIN(subscriber, pin string) error {
	_, err := b.c.do(request{method: http.MethodPut, path: apiPath("subscribers", subscriber, "pin"), json: map[string]any{"pin": pin}}, nil)
	return err
}

func (b *apiBackend) ClearPIN(subscriber string) error {
	_, err := b.c.do(request{method: http.MethodDelete, path: apiPath("subscribers", subscriber, "pin")}, nil)
	return err
}

// Import sends the rows as they are read; opts.Progress hears the upload
// (the reading phase, in bytes).
func (b *apiBackend) Import(r io.Reader, opts store.ImportOptions) (store.ImportReport, error) {
	q := url.Values{"report": {"true"}, "max_errors": {strconv.Itoa(opts.MaxErrors)}}
	if opts.Replace {
		q.Set("replace", "true")
	}
	if opts.DryRun {
		q.Set("dry_run", "true")
	}
	if opts.Progress != nil {
		total := opts.Size
		if total <= 0 {
			total = -1
		}
		r = &countingReader{r: r, fn: func(n int64) {
			opts.Progress(store.ImportProgress{Phase: store.PhaseRead, Done: n, Total: total})
		}}
	}
	var rep store.ImportReport
	_, err := b.c.do(request{method: http.MethodPost, path: apiPath("lists", "import"), query: q, body: r}, &rep)
	return rep, err
}

// Export copies the CSV the daemon streams; its trailers say how many rows
// it wrote and whether something cut it short.
func (b *apiBackend) Export(w io.Writer, opts store.ExportOptions) (int, error) {
	q := url.Values{}
	if opts.Owner != "" {
		q.Set("owner", opts.Owner)
	}
	if opts.List != 0 {
		q.Set("list", opts.List.String())
	}
	resp, err := b.c.send(request{method: http.MethodGet, path: apiPath("lists", "export"), query: q})
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(w, resp.Body); err != nil {
		return 0, err
	}
	if msg := resp.Trailer.Get("Callgate-Error"); msg != "" {
		return 0, fmt.Errorf("export cut short by the daemon: %s", msg)
	}
	n, err := strconv.Atoi(resp.Trailer.Get("Callgate-Rows"))
	if err != nil {
		return 0, fmt.Errorf("the daemon's export ended without its row count (cut short?)")
	}
	return n, nil
}

// apiRoute is a route as the API shows it (openapi.json's Route).
type apiRoute struct {
	Name          string `json:"name"`
	RoutingNumber string `json:"routing_number"`
	SIPURI        string `json:"sip_uri"`
}

func (r apiRoute) route() (store.Route, error) {
	out := store.Route{Name: r.Name, SIPURI: r.SIPURI}
	if r.RoutingNumber != "" {
		n, err := e164.Parse(r.RoutingNumber)
		if err != nil {
			return store.Route{}, fmt.Errorf("the daemon's route %s: routing number: %w", r.Name, err)
		}
		out.RoutingNumber = n
	}
	return out, nil
}

func (b *apiBackend) SetRoute(spec store.RouteSpec) (store.Route, error) {
	var r apiRoute
	_, err := b.c.do(request{method: http.MethodPut, path: apiPath("routes", spec.Name),
		json: map[string]any{"routing_number": spec.RoutingNumber, "sip_uri": spec.SIPURI}}, &r)
	if err != nil {
		return store.Route{}, err
	}
	return r.route()
}

func (b *apiBackend) SetDefaultRoute(name string) error {
	_, err := b.c.do(request{method: http.MethodPut, path: apiPath("default-route"), json: map[string]any{"name": name}}, nil)
	return err
}

func (b *apiBackend) Routes() ([]store.Route, string, error) {
	var out struct {
		Items   []apiRoute `json:"items"`
		Default string     `json:"default"`
	}
	if _, err := b.c.do(request{method: http.MethodGet, path: apiPath("routes")}, &out); err != nil {
		return nil, "", err
	}
	var rs []store.Route
	for _, x := range out.Items {
		r, err := x.route()
		if err != nil {
			return nil, "", err
		}
		rs = append(rs, r)
	}
	return rs, out.Default, nil
}

func (b *apiBackend) DeleteRoute(name string) error {
	_, err := b.c.do(request{method: http.MethodDelete, path: apiPath("routes", name)}, nil)
	return err
}

// SearchAudit reads pages of records until q.Limit.
func (b *apiBackend) SearchAudit(q store.AuditQuery) ([]store.AuditRecord, error) {
	v := url.Values{}
	if !q.Since.IsZero() {
		v.Set("since", q.Since.UTC().Format(time.RFC3339Nano))
	}
	if !q.Until.IsZero() {
		v.Set("until", q.Until.UTC().Format(time.RFC3339Nano))
	}
	if q.Actor != "" {
		v.Set("actor", q.Actor)
	}
	if q.Object != "" {
		v.Set("object", q.Object)
	}
	var out []store.AuditRecord
	for {
		v.Set("limit", strconv.Itoa(min(apiPageMax, q.Limit-len(out))))
		var pg apiPage[store.AuditRecord]
		if _, err := b.c.do(request{method: http.MethodGet, path: apiPath("audit"), query: v}, &pg); err != nil {
			return nil, err
		}
		for _, r := range pg.Items {
			// The answer is indented; the records are compact JSON.
			r.Before, r.After = compactJSON(r.Before), compactJSON(r.After)
			out = append(out, r)
		}
		if pg.NextCursor == "" || len(out) >= q.Limit {
			return out, nil
		}
		v.Set("cursor", pg.NextCursor)
	}
}

func compactJSON(m json.RawMessage) json.RawMessage {
	if m == nil {
		return nil
	}
	var b bytes.Buffer
	if json.Compact(&b, m) != nil {
		return m
	}
	return b.Bytes()
}

type apiToken struct {
	ID      string    `json:"id"`
	Role    string    `json:"role"`
	Name    string    `json:"name"`
	Label   string    `json:"label"`
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires"`
	Revoked time.Time `json:"revoked"`
	By      string    `json:"created_by"`
	Token   string    `json:"token"`
}

func (t apiToken) token() store.APIToken {
	role, _ := admin.ParseRole(t.Role)
	return store.APIToken{ID: t.ID, Role: role, Name: t.Name, Label: t.Label, Created: t.Created, Expires: t.Expires, Revoked: t.Revoked, By: t.By}
}

func (b *apiBackend) APITokens() ([]store.APIToken, error) {
	var pg apiPage[apiToken]
	if _, err := b.c.do(request{method: http.MethodGet, path: apiPath("tokens")}, &pg); err != nil {
		return nil, err
	}
	out := make([]store.APIToken, 0, len(pg.Items))
	for _, t := range pg.Items {
		out = append(out, t.token())
	}
	return out, nil
}

func (b *apiBackend) CreateAPIToken(whom store.Actor, label string, ttl time.Duration) (store.APIToken, string, error) {
	switch {
	case ttl <= 0: // the store's refusal (ttl_seconds 0 would mean the API's default)
		return store.APIToken{}, "", fmt.Errorf("create API token for %s: lifetime %s: %w (want more than 0 and at most %s)", whom, ttl, store.ErrInvalid, store.MaxTokenTTL)
	case ttl%time.Second != 0:
		return store.APIToken{}, "", fmt.Errorf("create API token for %s: lifetime %s: %w (the daemon takes whole seconds)", whom, ttl, store.ErrInvalid)
	}
	body := map[string]any{"role": store.RoleName(whom.Role), "name": whom.Name, "label": label, "ttl_seconds": int64(ttl / time.Second)}
	var t apiToken
	_, err := b.c.do(request{method: http.MethodPost, path: apiPath("tokens"), json: body}, &t)
	return t.token(), t.Token, err
}

func (b *apiBackend) CreateWebUser(whom store.Actor, name, password string) (store.WebUser, error) {
	var u struct {
		Name   string `json:"name"`
		Role   string `json:"role"`
		Tenant string `json:"tenant"`
	}
	_, err := b.c.do(request{method: http.MethodPost, path: apiPath("users"), json: map[string]any{
		"name": name, "role": store.RoleName(whom.Role), "tenant": whom.Name, "password": password}}, &u)
	role, _ := admin.ParseRole(u.Role)
	return store.WebUser{Name: u.Name, Role: role, Tenant: u.Tenant}, err
}

func (b *apiBackend) DeleteWebUser(name string) error {
	_, err := b.c.do(request{method: http.MethodDelete, path: apiPath("users", name)}, nil)
	return err
}

// apiDecision is a decision-log record as the API shows it
// (admin/decisions.go, decisiondetail.go).
type apiDecision struct {
	Time           time.Time                `json:"time"`
	Origin         policy.Origin            `json:"origin"`
	Peer           string                   `json:"peer"`
	Calling        e164.Number              `json:"calling"`
	Called         e164.Number              `json:"called"`
	OriginalCalled e164.Number              `json:"original_called"`
	Presentation   policy.Presentation      `json:"presentation"`
	Attestation    policy.Attestation       `json:"attestation"`
	Subscriber     string                   `json:"subscriber"`
	Decision       policy.Decision          `json:"decision"`
	Direction      policy.Direction         `json:"direction"`
	StirReason     string                   `json:"stir_reason"`
	Reputation     policy.Reputation        `json:"reputation"`
	KeyMatch       policy.KeyMatch          `json:"key_match"`
	FraudLocked    bool                     `json:"fraud_locked"`
	Lookup         *policy.ReputationLookup `json:"reputation_lookup"`
	Brand          string                   `json:"brand"`
	LatencyNS      int64                    `json:"latency_ns"`
	Steps          []decisionlog.Step       `json:"steps"`
}

// record is the decision-log record as logged.
func (d *apiDecision) record() decisionlog.Record {
	r := decisionlog.Record{Time: d.Time, Origin: d.Origin, Direction: d.Direction, Peer: d.Peer,
		Calling: d.Calling, Called: d.Called, OriginalCalled: d.OriginalCalled, Presentation: d.Presentation,
		Attestation: d.Attestation, StirReason: d.StirReason, Reputation: d.Reputation, KeyMatch: d.KeyMatch,
		FraudLocked: d.FraudLocked, Action: d.Decision.Action, Subscriber: d.Decision.Subscriber,
		Announcement: d.Decision.Announcement, PINAllowed: d.Decision.PINAllowed, Voicemail: d.Decision.Voicemail,
		Route: d.Decision.Route, Trace: d.Decision.Trace, Latency: time.Duration(d.LatencyNS), Brand: d.Brand}
	if d.Lookup != nil {
		r.Lookup = *d.Lookup
	}
	return r
}

// apiDecisionPage is a page of GET /decisions: a page, and what the
// daemon's search could not read.
type apiDecisionPage struct {
	apiPage[apiDecision]
	Damaged decisionlog.Damage `json:"damaged"`
}

// SearchDecisions reads pages of the decision log until q.Limit.
func (b *apiBackend) SearchDecisions(q decisionlog.Query) (logFound, error) {
	v := url.Values{}
	if q.Number != 0 {
		v.Set("number", q.Number.String())
	}
	if !q.From.IsZero() {
		v.Set("since", q.From.UTC().Format(time.RFC3339Nano))
	}
	if !q.To.IsZero() {
		v.Set("until", q.To.UTC().Format(time.RFC3339Nano))
	}
	if q.Action != 0 || q.NoAction {
		v.Set("action", q.Action.String()) // the zero Action is "none"
	}
	var f logFound
	for {
		v.Set("limit", strconv.Itoa(min(apiPageMax, q.Limit-len(f.recs))))
		var pg apiDecisionPage
		if _, err := b.c.do(request{method: http.MethodGet, path: apiPath("decisions"), query: v}, &pg); err != nil {
			return logFound{}, err
		}
		for i := range pg.Items {
			f.recs = append(f.recs, pg.Items[i].record())
			f.steps = append(f.steps, pg.Items[i].Steps)
		}
		f.damage.Segments += pg.Damaged.Segments
		f.damage.Blocks += pg.Damaged.Blocks
		f.damage.Records += pg.Damaged.Records
		if pg.NextCursor == "" || len(f.recs) >= q.Limit {
			return f, nil
		}
		v.Set("cursor", pg.NextCursor)
	}
}

func (b *apiBackend) Decide(_ context.Context, c policy.Call, w daemon.WhatIf) (decideResult, error) {
	req := map[string]any{"called": c.Called, "presentation": c.Presentation, "origin": c.Origin}
	if w.Key != nil {
		req["key"] = *w.Key
	}
	if w.Reputation != nil {
		req["reputation"] = *w.Reputation
	}
	if c.Calling != 0 {
		req["calling"] = c.Calling
	}
	if c.OriginalCalled != 0 {
		req["original_called"] = c.OriginalCalled
	}
	if c.Attestation != policy.AttestationNone {
		req["attestation"] = c.Attestation
	}
	var d apiDecision
	if _, err := b.c.do(request{method: http.MethodPost, path: apiPath("decide"), json: req}, &d); err != nil {
		return decideResult{}, err
	}
	var res decideResult
	res.Call.Calling, res.Call.Called, res.Call.OriginalCalled = d.Calling, d.Called, d.OriginalCalled
	res.Call.Presentation, res.Call.Origin, res.Call.Attestation = d.Presentation, d.Origin, d.Attestation
	res.Call.KeyMatch, res.Call.Reputation, res.Call.Lookup, res.Call.Brand = d.KeyMatch, d.Reputation, d.Lookup, d.Brand
	res.Given = givenSignals(c, w)
	res.Decision, res.Subscriber, res.Source = d.Decision, d.Subscriber, "daemon"
	return res, nil
}

// countingReader reports the bytes read so far to fn.
type countingReader struct {
	r  io.Reader
	n  int64
	fn func(int64)
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	c.fn(c.n)
	return n, err
}
