package admin

import (
	"errors"
	"net/http"

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

type providerSignalsView struct {
	Provider string                `json:"provider"`
	Signals  store.ProviderSignals `json:"signals"`
	Revision int64                 `json:"revision"`
}

func (c *call) providerSignalsAnswer(name string) (int, any, error) {
	p, err := c.t.st.GetProvider(c.actor, name)
	if err != nil {
		return 0, nil, fieldErr("provider", err)
	}
	c.setETag(p.Revision)
	return http.StatusOK, providerSignalsView{p.Name, p.Signals, p.Revision}, nil
}

func getProviderSignals(c *call) (int, any, error) {
	return c.providerSignalsAnswer(c.r.PathValue("provider"))
}

func putProviderSignals(c *call) (int, any, error) {
	rev, err := c.optIfMatch()
	if err != nil {
		return 0, nil, err
	}
	var req store.ProviderSignals
	if err := c.decode(&req); err != nil {
		return 0, nil, err
	}
	name := c.r.PathValue("provider")
	if _, err := c.t.st.SetProviderSignals(c.actor.At(rev), name, req); err != nil {
		field := "provider"
		if errors.Is(err, store.ErrInvalid) {
			field = "signals"
		}
		return 0, nil, fieldErr(field, err)
	}
	return c.providerSignalsAnswer(name)
}
