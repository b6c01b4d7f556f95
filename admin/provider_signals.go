package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"slices"

	"callgate/policy"
	"callgate/store"
)

// A provider's signal policy (store.ProviderSignals): what its
// subscribers' calls get for each spam-risk answer and for a missing call
// key. A setting left at "default" takes the platform's, configured for
// the whole platform (reputation.actions, keys.on_missing); the engine's
// trace of each call says which applied (setting=provider|platform).
//
//	GET /api/v1/providers/{provider}/signals   the settings, with an ETag
//	PUT /api/v1/providers/{provider}/signals   replace them (the provider
//	    itself or the platform owner; If-Match optional), audited as
//	    provider.signals
//
// Both answer with the platform's defaults too (platform): the ones this
// daemon's engine applies (WithPlatformSignals), which may differ from a
// configuration file the caller reads, so "default" is never a guess.

// PlatformSignals are the platform's signal defaults the engine runs with
// (the daemon's reputation.actions and keys.on_missing).
type PlatformSignals struct {
	Reputation policy.ReputationPolicy
	KeyMissing policy.ReputationAction
}

// WithPlatformSignals tells the API the platform's signal defaults, shown
// with each provider's signal policy. Without it the answer has no
// platform member.
func WithPlatformSignals(p PlatformSignals) Option {
	return func(t *Tier) { t.platformSignals = &p }
}

type providerSignalsView struct {
	Provider string                `json:"provider"`
	Signals  store.ProviderSignals `json:"signals"`
	Platform *platformSignalsView  `json:"platform,omitempty"`
	Revision int64                 `json:"revision"`
}

// platformSignalsView is PlatformSignals by action name.
type platformSignalsView struct {
	Reputation platformReputationView `json:"reputation"`
	KeyMissing string                 `json:"key_missing"`
}

type platformReputationView struct {
	Low     string `json:"low"`
	Medium  string `json:"medium"`
	High    string `json:"high"`
	Exempt  string `json:"exempt"`
	Unknown string `json:"unknown"`
}

func (t *Tier) platformSignalsView() *platformSignalsView {
	p := t.platformSignals
	if p == nil {
		return nil
	}
	r := &p.Reputation
	return &platformSignalsView{
		Reputation: platformReputationView{Low: r.Low.String(), Medium: r.Medium.String(), High: r.High.String(),
			Exempt: r.Exempt.String(), Unknown: r.Unknown.String()},
		KeyMissing: p.KeyMissing.String(),
	}
}

func (c *call) providerSignalsAnswer(name string) (int, any, error) {
	p, err := c.t.st.GetProvider(c.actor, name)
	if err != nil {
		return 0, nil, fieldErr("provider", err)
	}
	c.setETag(p.Revision)
	return http.StatusOK, providerSignalsView{Provider: p.Name, Signals: p.Signals, Platform: c.t.platformSignalsView(), Revision: p.Revision}, nil
}

func getProviderSignals(c *call) (int, any, error) {
	return c.providerSignalsAnswer(c.r.PathValue("provider"))
}

// putProviderSignals replaces the settings. A bad one is refused naming
// its member (reputation.medium, key_missing): a name that is no action
// (400, as the document's enum says) or an action the member does not take
// (422).
func putProviderSignals(c *call) (int, any, error) {
	rev, err := c.optIfMatch()
	if err != nil {
		return 0, nil, err
	}
	var req store.ProviderSignals
	var body bytes.Buffer
	c.r.Body = struct {
		io.Reader
		io.Closer
	}{io.TeeReader(c.r.Body, &body), c.r.Body}
	if err := c.decode(&req); err != nil {
		// An action's own UnmarshalText names the value, not where it
		// is: find the member.
		var ae *apiError
		if errors.As(err, &ae) && ae.field == "body" {
			if m := badSignalMember(body.Bytes(), ""); m != "" {
				ae.field = m
			}
		}
		return 0, nil, err
	}
	if m, err := req.Invalid(); err != nil {
		return 0, nil, fieldErr(m, err)
	}
	name := c.r.PathValue("provider")
	if _, err := c.t.st.SetProviderSignals(c.at(rev), name, req); err != nil {
		field := "provider"
		if errors.Is(err, store.ErrInvalid) {
			field = "signals"
		}
		return 0, nil, fieldErr(field, err)
	}
	return c.providerSignalsAnswer(name)
}

// badSignalMember returns the dotted name of the first member of the JSON
// object raw (under prefix) whose string value is no signal action, ""
// when there is none. Every leaf of store.ProviderSignals is an action.
func badSignalMember(raw []byte, prefix string) string {
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil {
		return ""
	}
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		v := obj[k]
		name := prefix + k
		var s string
		if json.Unmarshal(v, &s) == nil {
			if _, err := store.ParseSignalAction(s); err != nil {
				return name
			}
			continue
		}
		if m := badSignalMember(v, name+"."); m != "" {
			return m
		}
	}
	return ""
}
