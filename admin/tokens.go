package admin

import (
	"net/http"
	"time"

	"callgate/store"
)

type tokenRequest struct {
	Role     string `json:"role"` // operator, provider or subscriber
	Name     string `json:"name,omitempty"`
	Label    string `json:"label,omitempty"`
	TTLHours int    `json:"ttl_hours,omitempty"` // default 720 (30 days)
	// TTLSeconds, when set, is the lifetime in seconds instead (the CLI's
	// --ttl takes any duration).
	TTLSeconds int64 `json:"ttl_seconds,omitempty"`
}

type tokenView struct {
	ID      string    `json:"id"`
	Role    string    `json:"role"`
	Name    string    `json:"name,omitempty"`
	Label   string    `json:"label,omitempty"`
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires"`
	Revoked time.Time `json:"revoked,omitzero"`
	By      string    `json:"created_by"`
	// Token is the secret, in the answer to its creation only.
	Token string `json:"token,omitempty"`
}

func viewToken(t store.APIToken) tokenView {
	return tokenView{ID: t.ID, Role: roleName(t.Role), Name: t.Name, Label: t.Label, Created: t.Created,
		Expires: t.Expires, Revoked: t.Revoked, By: t.By}
}

func roleName(r store.Role) string {
	switch r {
	case store.RoleOperator:
		return "operator"
	case store.RoleProvider:
		return "provider"
	case store.RoleSubscriber:
		return "subscriber"
	}
	return "none"
}

// ParseRole parses operator, provider or subscriber.
func ParseRole(s string) (store.Role, bool) {
	switch s {
	case "operator":
		return store.RoleOperator, true
	case "provider":
		return store.RoleProvider, true
	case "subscriber":
		return store.RoleSubscriber, true
	}
	return 0, false
}

func createToken(c *call) (int, any, error) {
	var req tokenRequest
	if err := c.decode(&req); err != nil {
		return 0, nil, err
	}
	role, ok := ParseRole(req.Role)
	if !ok {
		return 0, nil, badRequest("role", "role %q: want operator, provider or subscriber", req.Role)
	}
	if req.TTLHours == 0 {
		req.TTLHours = 720
	}
	ttl := time.Duration(req.TTLHours) * time.Hour
	if req.TTLSeconds != 0 {
		if req.TTLSeconds < 0 || req.TTLSeconds > int64(store.MaxTokenTTL/time.Second) {
			return 0, nil, badRequest("ttl_seconds", "ttl_seconds %d: want 1 to %d", req.TTLSeconds, int64(store.MaxTokenTTL/time.Second))
		}
		ttl = time.Duration(req.TTLSeconds) * time.Second
	}
	rec, secret, err := c.t.st.CreateAPIToken(c.actor, store.Actor{Role: role, Name: req.Name}, req.Label, ttl)
	if err != nil {
		return 0, nil, fieldErr("name", err)
	}
	v := viewToken(rec)
	v.Token = secret
	return http.StatusCreated, v, nil
}

func listTokens(c *call) (int, any, error) {
	recs, err := c.t.st.APITokens(c.actor)
	if err != nil {
		return 0, nil, err
	}
	out := page[tokenView]{Items: []tokenView{}}
	for _, r := range recs {
		out.Items = append(out.Items, viewToken(r))
	}
	return http.StatusOK, out, nil
}

func revokeToken(c *call) (int, any, error) {
	return http.StatusNoContent, nil, fieldErr("id", c.t.st.RevokeAPIToken(c.actor, c.r.PathValue("id")))
}
