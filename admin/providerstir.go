package admin

import (
	"net/http"

	"callgate/store"
)

// A provider's STIR/SHAKEN policy for calls to its subscribers
// (store.StirPolicy): what C-attested and failed calls get, and the
// display-name tags.

type stirView struct {
	Provider string           `json:"provider"`
	Stir     store.StirPolicy `json:"stir"`
}

// stirPatch changes the members given and keeps the rest.
type stirPatch struct {
	OnC         *store.StirAction `json:"on_c,omitempty"`
	OnFailed    *store.StirAction `json:"on_failed,omitempty"`
	Tag         *bool             `json:"tag,omitempty"`
	VerifiedTag *string           `json:"verified_tag,omitempty"`
	UnknownTag  *string           `json:"unknown_tag,omitempty"`
}

func getProviderStir(c *call) (int, any, error) {
	p, err := c.t.st.GetProvider(c.actor, c.r.PathValue("provider"))
	if err != nil {
		return 0, nil, fieldErr("provider", err)
	}
	c.setETag(p.Revision)
	return http.StatusOK, stirView{p.Name, p.Stir}, nil
}

// patchProviderStir applies the patch to the policy as read, at the
// revision read (or If-Match's): a concurrent change is refused (412), not
// overwritten.
func patchProviderStir(c *call) (int, any, error) {
	rev, err := c.optIfMatch()
	if err != nil {
		return 0, nil, err
	}
	var req stirPatch
	if err := c.decode(&req); err != nil {
		return 0, nil, err
	}
	p, err := c.t.st.GetProvider(c.actor, c.r.PathValue("provider"))
	if err != nil {
		return 0, nil, fieldErr("provider", err)
	}
	if rev == nil {
		rev = []int64{p.Revision}
	}
	pol := p.Stir
	if req.OnC != nil {
		pol.OnC = *req.OnC
	}
	if req.OnFailed != nil {
		pol.OnFailed = *req.OnFailed
	}
	if req.Tag != nil {
		pol.Tag = *req.Tag
	}
	if req.VerifiedTag != nil {
		pol.VerifiedTag = *req.VerifiedTag
	}
	if req.UnknownTag != nil {
		pol.UnknownTag = *req.UnknownTag
	}
	if _, err = c.t.st.SetProviderStir(c.at(rev), p.Name, pol); err != nil {
		return 0, nil, fieldErr("stir", err)
	}
	return getProviderStir(c)
}
