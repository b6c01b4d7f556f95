package admin

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"callgate/store"
)

// principal is who a request comes from: the token that authenticated an
// API request, the web user of a browser session, or the local user on the
// owner's socket (socket.go).
type principal struct {
	token store.APIToken
	user  *store.WebUser
	local string // login name of the socket's client
}

// actorOf is the one place a principal becomes a store.Actor; everything
// the actor may do is decided by the store. The actor carries who it is
// and the path it came by for the audit log.
func actorOf(p principal) store.Actor {
	if p.local != "" {
		return store.Operator.By("cli:"+p.local, "cli")
	}
	if p.user != nil {
		return p.user.Actor().By("user "+p.user.Name, "web")
	}
	who := "token " + p.token.ID
	if p.token.Label != "" {
		who += " (" + p.token.Label + ")"
	}
	return p.token.Actor().By(who, "api")
}

type principalKey struct{}

// authenticate resolves the bearer token (on the socket: the connected
// user), or answers 401.
func (t *Tier) authenticate(w http.ResponseWriter, r *http.Request) (principal, bool) {
	if lp, ok := r.Context().Value(localPeerKey{}).(localPeer); ok {
		return t.authenticateLocal(w, lp)
	}
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		w.Header().Set("WWW-Authenticate", `Bearer realm="callgate"`)
		writeProblem(w, &apiError{status: http.StatusUnauthorized, field: "Authorization",
			err: fmt.Errorf("send an API token: Authorization: Bearer %s... (create one with `callgate admin bootstrap` or POST /api/v1/tokens)", store.TokenPrefix)})
		return principal{}, false
	}
	rec, err := t.st.Authenticate(strings.TrimSpace(tok))
	if err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="callgate", error="invalid_token"`)
		writeProblem(w, &apiError{status: http.StatusUnauthorized, field: "Authorization", err: err})
		return principal{}, false
	}
	return principal{token: rec}, true
}

func withPrincipal(ctx context.Context, p principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

func principalFrom(ctx context.Context) principal {
	p, _ := ctx.Value(principalKey{}).(principal)
	return p
}
