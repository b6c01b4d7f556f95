package admin

import (
	"errors"
	"net/http"

	"callgate/keys"
	"callgate/store"
)

// An enterprise's spoof-protection settings (store.EnterpriseSignals): the
// brand its verified calls show, whether it has an API token for
// POST /api/v1/keys (never the token or its hash), and SIP enrolment.

type signalsView struct {
	Name     string      `json:"name"`
	Brand    store.Brand `json:"brand"`
	HasToken bool        `json:"has_token"`
	Trunk    string      `json:"trunk,omitempty"`
	Onward   string      `json:"onward,omitempty"`
	// Token is the new token, in the answer to its issue only.
	Token string `json:"token,omitempty"`
	// RevokedKeys, in the answer to an issue with ?revoke_keys=true, is
	// how many of the enterprise's call keys were revoked; RevokeError
	// says why that failed (the token is issued all the same: retry with
	// DELETE /api/v1/enterprises/{enterprise}/keys).
	RevokedKeys *int   `json:"revoked_keys,omitempty"`
	RevokeError string `json:"revoke_error,omitempty"`
}

func viewSignals(en store.Enterprise, token string) signalsView {
	g := en.Signals
	return signalsView{Name: en.Name, Brand: g.Brand, HasToken: g.TokenHash != nil, Trunk: g.Trunk, Onward: g.Onward, Token: token}
}

// signalsPatch changes the members given and keeps the rest; "" clears.
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

func getEnterpriseSignals(c *call) (int, any, error) {
	en, err := c.t.st.GetEnterprise(c.actor, c.r.PathValue("enterprise"))
	if err != nil {
		return 0, nil, fieldErr("enterprise", err)
	}
	c.setETag(en.Revision)
	return http.StatusOK, viewSignals(en, ""), nil
}

// patchEnterpriseSignals changes the brand or SIP enrolment (If-Match
// optional: with it, only if the enterprise is unchanged).
func patchEnterpriseSignals(c *call) (int, any, error) {
	rev, err := c.optIfMatch()
	if err != nil {
		return 0, nil, err
	}
	var req signalsPatch
	if err := c.decode(&req); err != nil {
		return 0, nil, err
	}
	en, err := c.t.st.UpdateEnterpriseSignals(c.at(rev), c.r.PathValue("enterprise"), func(g *store.EnterpriseSignals) error {
		if b := req.Brand; b != nil {
			set(&g.Brand.Name, b.Name)
			set(&g.Brand.LogoURL, b.LogoURL)
			set(&g.Brand.Reason, b.Reason)
		}
		set(&g.Trunk, req.Trunk)
		set(&g.Onward, req.Onward)
		return nil
	})
	if err != nil {
		return 0, nil, fieldErr("body", err)
	}
	return http.StatusOK, viewSignals(en, ""), nil
}

func set(dst *string, v *string) {
	if v != nil {
		*dst = *v
	}
}

// issueEnterpriseToken issues the enterprise's API token for
// /api/v1/keys, revoking the previous one; the answer carries it once
// (only its hash is kept). With ?revoke_keys=true it also revokes every
// call key of the enterprise, after the new token is in place (so none
// registered with the old token in between survives): for a token that
// leaked, whose thief's keys cannot be told from the enterprise's own. It
// is not the default: a routine reissue must not block the calls the
// enterprise registered a moment ago.
func issueEnterpriseToken(c *call) (int, any, error) {
	name := c.r.PathValue("enterprise")
	revoke, err := revokeKeysParam(c)
	if err != nil {
		return 0, nil, err
	}
	if revoke && c.t.revoke == nil {
		return 0, nil, &apiError{status: http.StatusNotFound, field: "revoke_keys",
			err: errors.New("the daemon checks no call keys (keys.enabled is off in its configuration): there are none to revoke; issue the token without revoke_keys")}
	}
	tok, hash, err := keys.IssueToken(name)
	if err != nil {
		return 0, nil, err
	}
	en, err := c.t.st.UpdateEnterpriseSignals(c.actor, name, func(g *store.EnterpriseSignals) error { g.TokenHash = hash; return nil })
	if err != nil {
		return 0, nil, fieldErr("enterprise", err)
	}
	v := viewSignals(en, tok)
	if revoke {
		// The token is issued and shown once: a failed revocation is
		// reported in the answer, not as an error that would lose it.
		n, err := c.t.revokeKeys(c, en.ID, name, "token reissued")
		v.RevokedKeys = &n
		if err != nil {
			v.RevokeError = err.Error() + " (retry with DELETE /api/v1/enterprises/" + name + "/keys)"
		}
	}
	return http.StatusCreated, v, nil
}
