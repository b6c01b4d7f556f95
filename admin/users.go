package admin

import (
	"net/http"
	"time"

	"callgate/store"
)

// Web UI users (store/webusers.go): created through the API or the CLI by
// whoever may issue a token for the same actor; no default password.

type userRequest struct {
	Name     string `json:"name"`
	Role     string `json:"role"`             // operator, provider or subscriber
	Tenant   string `json:"tenant,omitempty"` // provider or subscriber name
	Password string `json:"password"`
}

type userView struct {
	Name        string    `json:"name"`
	Role        string    `json:"role"`
	Tenant      string    `json:"tenant,omitempty"`
	Created     time.Time `json:"created"`
	By          string    `json:"created_by"`
	LockedUntil time.Time `json:"locked_until,omitzero"`
}

func viewUser(u store.WebUser) userView {
	return userView{Name: u.Name, Role: store.RoleName(u.Role), Tenant: u.Tenant, Created: u.Created, By: u.By, LockedUntil: u.LockedUntil}
}

func createUser(c *call) (int, any, error) {
	var req userRequest
	if err := c.decode(&req); err != nil {
		return 0, nil, err
	}
	role, ok := ParseRole(req.Role)
	if !ok {
		return 0, nil, badRequest("role", "role %q: want operator, provider or subscriber", req.Role)
	}
	u, err := c.t.st.CreateWebUser(c.actor, store.Actor{Role: role, Name: req.Tenant}, req.Name, req.Password)
	if err != nil {
		return 0, nil, fieldErr("name", err)
	}
	return http.StatusCreated, viewUser(u), nil
}

func listUsers(c *call) (int, any, error) {
	us, err := c.t.st.WebUsers(c.actor)
	if err != nil {
		return 0, nil, err
	}
	out := page[userView]{Items: []userView{}}
	for _, u := range us {
		out.Items = append(out.Items, viewUser(u))
	}
	return http.StatusOK, out, nil
}

func deleteUser(c *call) (int, any, error) {
	return http.StatusNoContent, nil, fieldErr("name", c.t.st.DeleteWebUser(c.actor, c.r.PathValue("name")))
}
