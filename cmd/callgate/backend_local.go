package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"callgate/daemon"
	"callgate/e164"
	"callgate/internal/config"
	"callgate/keys"
	"callgate/policy"
	"callgate/store"
)

// localBackend works on the store file, when no daemon holds it.
type localBackend struct {
	st    *store.Store
	actor store.Actor
	cfg   *config.Config // for decide: the engine serve would run
}

var _ backend = (*localBackend)(nil)

func (b *localBackend) CreateProvider(spec store.ProviderSpec) (store.Provider, error) {
	return b.st.CreateProvider(b.actor, spec)
}

func (b *localBackend) GetProvider(name string) (store.Provider, error) {
	return b.st.GetProvider(b.actor, name)
}

func (b *localBackend) ListProviders() ([]store.Provider, error) {
	var out []store.Provider
	for _, p := range b.st.ListProviders() {
		full, err := b.st.GetProvider(b.actor, p.Name)
		if err != nil {
			return nil, err
		}
		out = append(out, full)
	}
	return out, nil
}

func (b *localBackend) CountSubscribers(provider string) (int, error) {
	return b.st.CountSubscribers(b.actor, provider)
}

func (b *localBackend) PatchProvider(name string, p providerPatch) (store.Provider, error) {
	if p.Defaults != nil {
		if _, err := b.st.SetProviderDefaults(b.actor, name, *p.Defaults); err != nil {
			return store.Provider{}, err
		}
	}
	if p.DefaultPermissions != nil {
		if _, err := b.st.SetProviderDefaultPermissions(b.actor, name, *p.DefaultPermissions); err != nil {
			return store.Provider{}, err
		}
	}
	if p.Route != nil {
		if _, err := b.st.SetProviderRoute(b.actor, name, *p.Route); err != nil {
			return store.Provider{}, err
		}
	}
	return b.st.GetProvider(b.actor, name)
}

func (b *localBackend) ProviderStir(name string) (stirJSON, error) {
	p, err := b.st.GetProvider(b.actor, name)
	return stirJSON{p.Name, p.Stir}, err
}

func (b *localBackend) PatchProviderStir(name string, patch stirPatch) (stirJSON, error) {
	p, err := b.st.GetProvider(b.actor, name)
	if err != nil {
		return stirJSON{}, err
	}
	pol := p.Stir
	patch.apply(&pol)
	if p, err = b.st.SetProviderStir(b.actor, name, pol); err != nil {
		return stirJSON{}, err
	}
	return stirJSON{p.Name, p.Stir}, nil
}

func (b *localBackend) DeleteProvider(name string) error { return b.st.DeleteProvider(b.actor, name) }

func (b *localBackend) AllocateNumbers(provider string, ranges []store.Range) error {
	return b.st.AllocateNumbers(b.actor, provider, ranges...)
}

func (b *localBackend) ReleaseNumbers(provider string, r store.Range) error {
	return b.st.ReleaseNumbers(b.actor, provider, r)
}

func (b *localBackend) CreateSubscriber(spec store.SubscriberSpec) (store.Subscriber, error) {
	s, err := b.st.CreateSubscriber(b.actor, spec)
	if err != nil {
		return s, err
	}
	if full, err := b.st.GetSubscriber(b.actor, s.Name); err == nil {
		s = full
	}
	return s, nil
}

func (b *localBackend) GetSubscriber(ref string) (store.Subscriber, error) {
	return b.st.GetSubscriber(b.actor, ref)
}

func (b *localBackend) Treatment(ref string) (treatmentJSON, error) {
	s, err := b.st.GetSubscriber(b.actor, ref)
	if err != nil {
		return treatmentJSON{}, err
	}
	eff, err := b.st.EffectiveSettings(b.actor, s.Name)
	if err != nil {
		return treatmentJSON{}, err
	}
	src, err := b.st.SettingSources(b.actor, s.Name)
	if err != nil {
		return treatmentJSON{}, err
	}
	return treatmentJSON{Subscriber: s.Name, Own: s.Settings, SetByProvider: s.SetByProvider, Effective: newEffective(eff),
		Sources: src, Permissions: s.Permissions}, nil
}

func (b *localBackend) ListSubscribers(provider string, limit int) ([]store.Subscriber, error) {
	return b.st.ListSubscribers(b.actor, provider, 0, limit)
}

func (b *localBackend) AssignNumbers(ref string, numbers []string) (store.Subscriber, error) {
	return b.st.AssignNumbers(b.actor, ref, numbers...)
}

func (b *localBackend) UnassignNumbers(ref string, numbers []string) (store.Subscriber, error) {
	return b.st.UnassignNumbers(b.actor, ref, numbers...)
}

func (b *localBackend) PatchSubscriber(ref string, p subscriberPatch) (store.Subscriber, error) {
	var s store.Subscriber
	var err error
	if p.Permissions != nil {
		if s, err = b.st.SetPermissions(b.actor, ref, *p.Permissions); err != nil {
			return s, err
		}
	}
	if p.Settings != nil {
		if s, err = b.st.SetTreatments(b.actor, ref, *p.Settings); err != nil {
			return s, err
		}
	}
	return s, nil
}

func (b *localBackend) DeleteSubscriber(ref string) error { return b.st.DeleteSubscriber(b.actor, ref) }

func (b *localBackend) ImportSubscribers(r io.Reader, dryRun bool, maxErrors int) (store.SubscriberImportReport, error) {
	return b.st.ImportSubscribers(r, store.SubscriberImportOptions{Actor: b.actor, DryRun: dryRun, MaxErrors: maxErrors})
}

func (b *localBackend) CreateEnterprise(spec store.EnterpriseSpec) (store.Enterprise, error) {
	en, err := b.st.CreateEnterprise(b.actor, spec)
	if err == nil && en.Provider == "" {
		en.Provider = spec.Provider
	}
	return en, err
}

// ListEnterprises names each enterprise's provider (the store's list has
// only its id).
func (b *localBackend) ListEnterprises() ([]store.Enterprise, error) {
	names := map[uint32]string{}
	for _, p := range b.st.ListProviders() {
		names[p.ID] = p.Name
	}
	ens := b.st.ListEnterprises()
	for i := range ens {
		if ens[i].Provider == "" {
			ens[i].Provider = names[ens[i].ProviderID]
		}
	}
	return ens, nil
}

func (b *localBackend) DeleteEnterprise(name string) error {
	return b.st.DeleteEnterprise(b.actor, name)
}

func (b *localBackend) EnterpriseSignals(name string) (enterpriseSignalsJSON, error) {
	en, err := b.st.GetEnterprise(b.actor, name)
	return signalsJSON(en, ""), err
}

func (b *localBackend) PatchEnterpriseSignals(name string, p signalsPatch) (enterpriseSignalsJSON, error) {
	en, err := b.st.UpdateEnterpriseSignals(b.actor, name, func(g *store.EnterpriseSignals) error { p.apply(g); return nil })
	return signalsJSON(en, ""), err
}

func (b *localBackend) IssueEnterpriseToken(name string, revokeKeys bool) (enterpriseSignalsJSON, error) {
	tok, hash, err := keys.IssueToken(name)
	if err != nil {
		return enterpriseSignalsJSON{}, err
	}
	en, err := b.st.UpdateEnterpriseSignals(b.actor, name, func(g *store.EnterpriseSignals) error { g.TokenHash = hash; return nil })
	j := signalsJSON(en, tok)
	if err == nil && revokeKeys {
		// After the token is replaced, as the API does; a failure is
		// reported with the token, which is shown only now.
		n, rerr := b.revokeSavedKeys(en, "token reissued")
		j.RevokedKeys = &n
		if rerr != nil {
			j.RevokeError = rerr.Error() + " (retry: callgate enterprise revoke-keys " + name + ")"
		}
	}
	return j, err
}

func (b *localBackend) RevokeEnterpriseKeys(name string) (int, error) {
	en, err := b.st.GetEnterprise(b.actor, name)
	if err != nil {
		return 0, err
	}
	return b.revokeSavedKeys(en, "")
}

// revokeSavedKeys revokes the enterprise's saved keys (no daemon runs) and
// records it in the audit log, as the API does (op keys.revoke). The keys
// are revoked whatever the store answers; a record that could not be
// written is said with the revocation's error.
func (b *localBackend) revokeSavedKeys(en store.Enterprise, reason string) (int, error) {
	n, err := daemon.RevokeSavedKeys(b.cfg, b.st, en.ID)
	if n == 0 && err != nil {
		return n, err // nothing revoked (keys off, replicated, unreadable)
	}
	rec := store.KeyRevocation{Revoked: n, Reason: reason}
	if err != nil {
		rec.Error = err.Error()
	}
	if aerr := b.st.AuditKeyRevocation(context.Background(), b.actor, en.Name, rec); aerr != nil {
		return n, errors.Join(err, fmt.Errorf("%d keys revoked, but %w", n, aerr))
	}
	return n, err
}

func (b *localBackend) AddToList(owner string, l store.List, numbers []string, note string) (int, error) {
	return b.st.AddToList(b.actor, owner, l, numbers, note)
}

func (b *localBackend) RemoveFromList(owner string, l store.List, numbers []string) (int, error) {
	return b.st.RemoveFromList(b.actor, owner, l, numbers)
}

func (b *localBackend) ListEntries(owner string, l store.List, after e164.Number, limit int) (store.ListPage, error) {
	return b.st.ListEntries(b.actor, owner, l, after, limit)
}

func (b *localBackend) SetPIN(subscriber, pin string) error {
	return b.st.SetPIN(b.actor, subscriber, pin)
}

func (b *localBackend) ClearPIN(subscriber string) error { return b.st.ClearPIN(b.actor, subscriber) }

func (b *localBackend) Import(r io.Reader, opts store.ImportOptions) (store.ImportReport, error) {
	opts.Actor = b.actor
	return b.st.Import(r, opts)
}

func (b *localBackend) Export(w io.Writer, opts store.ExportOptions) (int, error) {
	return b.st.Export(w, opts)
}

func (b *localBackend) SetRoute(spec store.RouteSpec) (store.Route, error) {
	return b.st.SetRoute(b.actor, spec)
}

func (b *localBackend) SetDefaultRoute(name string) error { return b.st.SetDefaultRoute(b.actor, name) }

func (b *localBackend) Routes() ([]store.Route, string, error) {
	rs, def := b.st.Routes()
	return rs, def, nil
}

func (b *localBackend) DeleteRoute(name string) error { return b.st.DeleteRoute(b.actor, name) }

func (b *localBackend) SearchAudit(q store.AuditQuery) ([]store.AuditRecord, error) {
	return b.st.SearchAudit(b.actor, q)
}

func (b *localBackend) APITokens() ([]store.APIToken, error) { return b.st.APITokens(b.actor) }

func (b *localBackend) CreateAPIToken(whom store.Actor, label string, ttl time.Duration) (store.APIToken, string, error) {
	return b.st.CreateAPIToken(b.actor, whom, label, ttl)
}

func (b *localBackend) CreateWebUser(whom store.Actor, name, password string) (store.WebUser, error) {
	return b.st.CreateWebUser(b.actor, whom, name, password)
}

func (b *localBackend) DeleteWebUser(name string) error { return b.st.DeleteWebUser(b.actor, name) }

func (b *localBackend) Decide(ctx context.Context, c policy.Call, w daemon.WhatIf) (decideResult, error) {
	sig, err := decideSignals(b.cfg, b.st, w)
	if err != nil {
		return decideResult{}, err
	}
	defer sig.Close()
	res, err := decideOnce(ctx, b.st, b.cfg, sig, c, w)
	res.Source = "store"
	return res, err
}

// ProviderSignals shows the platform defaults of this command's
// configuration: with no daemon running, they are what `callgate serve`
// with the same configuration applies.
func (b *localBackend) ProviderSignals(name string, change func(*store.ProviderSignals)) (providerSignals, error) {
	rep, miss, err := daemon.PlatformSignals(b.cfg)
	if err != nil {
		return providerSignals{}, err
	}
	p, err := b.st.GetProvider(b.actor, name)
	if err == nil && change != nil {
		sig := p.Signals
		change(&sig)
		p, err = b.st.SetProviderSignals(b.actor, name, sig)
	}
	if err != nil {
		return providerSignals{}, err
	}
	return providerSignals{Name: p.Name, Signals: p.Signals, Platform: rep, KeyMissing: miss, From: platformFromConfig}, nil
}
