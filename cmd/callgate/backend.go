package main

// Where an operator command's data comes from. bbolt lets one process hold
// the store file: while `callgate serve` runs it holds it, and serves the
// management API (package admin) on a unix socket next to it (api.socket,
// mode 0600: only its user may connect, and acts as the platform owner,
// "cli:USER" in the audit log). So every operator command runs the same
// code over a backend, one of:
//
//   - apiBackend (backend_api.go): the typed /api/v1 endpoints on the
//     daemon's socket, when a daemon answers there; changes take effect
//     on the next call, without a restart;
//   - localBackend (backend_local.go): the store file itself, when no
//     daemon runs.
//
// A command composes backend calls into its typed result and renders it
// with one function, so its output is the same either way (cliapi_test.go
// runs the commands both ways and compares). The socket is tried first:
// a running daemon is reached at once, never after the store's lock_timeout.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"callgate/daemon"
	"callgate/e164"
	"callgate/internal/config"
	"callgate/policy"
	"callgate/policy/decisionlog"
	"callgate/store"
)

// backend is what the operator commands do to the platform. The actor is
// the backend's own: the platform owner, as this OS user.
type backend interface {
	// providers
	CreateProvider(spec store.ProviderSpec) (store.Provider, error)
	// ProviderSignals returns a provider's signal policy with the
	// platform defaults that apply where it left a setting at default;
	// with change, it applies change to the policy as read and stores it
	// (unless someone changed it meanwhile: then it reads it again and
	// retries).
	ProviderSignals(name string, change func(*store.ProviderSignals)) (providerSignals, error)
	// GetProvider returns the provider with its allocations (its STIR
	// policy: ProviderStir).
	GetProvider(name string) (store.Provider, error)
	ListProviders() ([]store.Provider, error) // with allocations
	CountSubscribers(provider string) (int, error)
	// PatchProvider changes what is given, in this order: defaults,
	// default permissions, route; it returns the provider afterwards.
	PatchProvider(name string, p providerPatch) (store.Provider, error)
	ProviderStir(name string) (stirJSON, error)
	PatchProviderStir(name string, p stirPatch) (stirJSON, error)
	DeleteProvider(name string) error
	AllocateNumbers(provider string, ranges []store.Range) error
	ReleaseNumbers(provider string, r store.Range) error

	// subscribers
	CreateSubscriber(spec store.SubscriberSpec) (store.Subscriber, error)
	GetSubscriber(ref string) (store.Subscriber, error)
	Treatment(ref string) (treatmentJSON, error)
	ListSubscribers(provider string, limit int) ([]store.Subscriber, error)
	AssignNumbers(ref string, numbers []string) (store.Subscriber, error)
	UnassignNumbers(ref string, numbers []string) (store.Subscriber, error)
	// PatchSubscriber changes the permissions, then the settings, if given.
	PatchSubscriber(ref string, p subscriberPatch) (store.Subscriber, error)
	DeleteSubscriber(ref string) error
	ImportSubscribers(r io.Reader, dryRun bool, maxErrors int) (store.SubscriberImportReport, error)

	// enterprises
	CreateEnterprise(spec store.EnterpriseSpec) (store.Enterprise, error)
	ListEnterprises() ([]store.Enterprise, error)
	DeleteEnterprise(name string) error
	EnterpriseSignals(name string) (enterpriseSignalsJSON, error)
	PatchEnterpriseSignals(name string, p signalsPatch) (enterpriseSignalsJSON, error)
	// IssueEnterpriseToken with revokeKeys revokes every call key of the
	// enterprise too (answered in the JSON's revoked_keys, revoke_error).
	IssueEnterpriseToken(name string, revokeKeys bool) (enterpriseSignalsJSON, error)
	RevokeEnterpriseKeys(name string) (int, error)

	// lists and PINs
	AddToList(owner string, l store.List, numbers []string, note string) (int, error)
	RemoveFromList(owner string, l store.List, numbers []string) (int, error)
	ListEntries(owner string, l store.List, after e164.Number, limit int) (store.ListPage, error)
	SetPIN(subscriber, pin string) error
	ClearPIN(subscriber string) error
	// PIN lockouts (pinlock.go): those the actor may see, one subscriber's,
	// and a clear that returns the lockout as it was.
	PINLockouts() ([]store.PINLockout, error)
	PINLockout(subscriber string) (store.PINLockout, error)
	ClearPINLockout(subscriber string) (store.PINLockout, error)
	// Import imports list rows (opts without an actor); Progress hears the
	// phases the backend sees.
	Import(r io.Reader, opts store.ImportOptions) (store.ImportReport, error)
	Export(w io.Writer, opts store.ExportOptions) (int, error)

	// egress routes
	SetRoute(spec store.RouteSpec) (store.Route, error)
	SetDefaultRoute(name string) error
	Routes() ([]store.Route, string, error)
	DeleteRoute(name string) error

	// audit log, API tokens, web users
	SearchAudit(q store.AuditQuery) ([]store.AuditRecord, error)
	APITokens() ([]store.APIToken, error)
	CreateAPIToken(whom store.Actor, label string, ttl time.Duration) (store.APIToken, string, error)
	CreateWebUser(whom store.Actor, name, password string) (store.WebUser, error)
	DeleteWebUser(name string) error

	// Decide runs the signal stage and the engine once on c, without
	// logging it; w gives signals by hand.
	Decide(ctx context.Context, c policy.Call, w daemon.WhatIf) (decideResult, error)
}

// providerPatch, subscriberPatch, stirPatch and signalsPatch change the
// members given and keep the rest (the API's PATCH bodies).
type providerPatch struct {
	Defaults           *store.SettingsUpdate `json:"defaults,omitempty"`
	DefaultPermissions *store.Permission     `json:"default_permissions,omitempty"`
	Route              *string               `json:"route,omitempty"`
}

type subscriberPatch struct {
	Settings    *store.SettingsUpdate `json:"settings,omitempty"`
	Permissions *store.Permission     `json:"permissions,omitempty"`
}

type stirPatch struct {
	OnC         *store.StirAction `json:"on_c,omitempty"`
	OnFailed    *store.StirAction `json:"on_failed,omitempty"`
	Tag         *bool             `json:"tag,omitempty"`
	VerifiedTag *string           `json:"verified_tag,omitempty"`
	UnknownTag  *string           `json:"unknown_tag,omitempty"`
}

func (p stirPatch) apply(pol *store.StirPolicy) {
	if p.OnC != nil {
		pol.OnC = *p.OnC
	}
	if p.OnFailed != nil {
		pol.OnFailed = *p.OnFailed
	}
	if p.Tag != nil {
		pol.Tag = *p.Tag
	}
	if p.VerifiedTag != nil {
		pol.VerifiedTag = *p.VerifiedTag
	}
	if p.UnknownTag != nil {
		pol.UnknownTag = *p.UnknownTag
	}
}

type signalsPatch struct {
	Brand  *brandPatch `json:"brand,omitempty"`
	Trunk  *string     `json:"trunk,omitempty"`
	Onward *string     `json:"onward,omitempty"`
}

type brandPatch struct {
	Name    *string `json:"name,omitempty"`
	LogoURL *string `json:"logo_url,omitempty"`
	Reason  *string `json:"reason,omitempty"`
}

func (p signalsPatch) apply(g *store.EnterpriseSignals) {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	if b := p.Brand; b != nil {
		set(&g.Brand.Name, b.Name)
		set(&g.Brand.LogoURL, b.LogoURL)
		set(&g.Brand.Reason, b.Reason)
	}
	set(&g.Trunk, p.Trunk)
	set(&g.Onward, p.Onward)
}

// providerSignals is a provider's signal policy and the platform's
// defaults for what it left at default, with whose defaults they are:
// the running daemon's (its engine's, from the file it was started with)
// or, when no daemon runs, this command's configuration's.
type providerSignals struct {
	Name       string
	Signals    store.ProviderSignals
	Platform   policy.ReputationPolicy
	KeyMissing policy.ReputationAction
	From       string // platformFromDaemon or platformFromConfig
}

// Whose platform defaults `provider signals` shows.
const (
	platformFromDaemon = "daemon"
	platformFromConfig = "config"
)

// stirJSON is a provider's STIR/SHAKEN policy (`provider stir --json`).
type stirJSON struct {
	Provider string           `json:"provider"`
	Stir     store.StirPolicy `json:"stir"`
}

// treatmentJSON is a subscriber's treatment (`treatment show --json`).
type treatmentJSON struct {
	Subscriber    string               `json:"subscriber"`
	Own           store.Settings       `json:"own"`
	SetByProvider store.Permission     `json:"set_by_provider"`
	Effective     effectiveJSON        `json:"effective"`
	Sources       store.SettingSources `json:"sources"`
	Permissions   store.Permission     `json:"permissions"`
}

// withBackend runs fn on the running daemon's API if one answers on the
// socket of this command's configuration, else on the store file (opened
// read-only for readOnly: a shared lock, so several commands can read at
// once).
func (e *env) withBackend(readOnly bool, fn func(backend) error) error {
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
		return fn(api)
	}
	return e.onStoreFile(&cfg, readOnly, func(st *store.Store) error {
		return fn(&localBackend{st: st, actor: e.op(), cfg: &cfg})
	})
}

// daemonAPI returns a client of the daemon answering on the socket of cfg,
// nil when none does (no socket, or one left by a daemon that is gone).
func (e *env) daemonAPI(cfg *config.Config) (*apiBackend, error) {
	sock := cfg.SocketPath()
	c, err := net.DialTimeout("unix", sock, 5*time.Second)
	switch {
	case err == nil:
		c.Close()
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ECONNREFUSED):
		return nil, nil
	case errors.Is(err, fs.ErrPermission):
		return nil, fmt.Errorf("the daemon's socket %s refuses you (%v): it answers the user running 'callgate serve' (and root) only; run the command as that user", sock, err)
	default:
		return nil, fmt.Errorf("asking the daemon on its socket %s: %w", sock, err)
	}
	storePath, err := filepath.Abs(cfg.StorePath())
	if err != nil {
		return nil, err
	}
	return newAPIBackend(e.ctx, sock, storePath), nil
}

// logFound is what a search of the decision log found: the records,
// each one's treatment steps (the B2BUA's, see decisionlog.AddSteps), and
// what the search could not read.
type logFound struct {
	recs   []decisionlog.Record
	steps  [][]decisionlog.Step
	damage decisionlog.Damage
}

// searchLog searches the decision log: the running daemon's (which writes
// it), else the file, opened read-only.
func (e *env) searchLog(q decisionlog.Query) (logFound, error) {
	cfg, err := e.loadConfig()
	if err != nil {
		return logFound{}, err
	}
	api, err := e.daemonAPI(&cfg)
	if err != nil {
		return logFound{}, err
	}
	if api != nil {
		defer api.c.close()
		return api.SearchDecisions(q)
	}
	path := cfg.DecisionLogPath()
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return logFound{}, fmt.Errorf("no decision log at %s yet: it is created by 'callgate serve'", path)
	}
	l, err := decisionlog.OpenReadOnly(path)
	if err != nil {
		return logFound{}, err
	}
	defer l.Close()
	res, err := l.Find(q)
	if err != nil {
		return logFound{}, err
	}
	steps, err := l.StepsOf(res.Records)
	return logFound{recs: res.Records, steps: steps, damage: res.Damage}, err
}
