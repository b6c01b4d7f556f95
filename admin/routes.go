package admin

import (
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"callgate/store"
)

//go:embed openapi.json
var openapiDoc []byte

// route is one operation of the API. Its pattern is both the net/http
// pattern and the OpenAPI path (the test checks every route is in the
// document).
type route struct {
	method, pattern string
	handle          func(*call) (int, any, error)
}

// call is one authenticated request.
type call struct {
	w     http.ResponseWriter
	r     *http.Request
	t     *Tier
	actor store.Actor
}

// routeTable lists every operation.
func (t *Tier) routeTable() []route {
	return []route{
		{"POST", "/api/v1/tokens", createToken},
		{"GET", "/api/v1/tokens", listTokens},
		{"DELETE", "/api/v1/tokens/{id}", revokeToken},

		{"POST", "/api/v1/users", createUser},
		{"GET", "/api/v1/users", listUsers},
		{"DELETE", "/api/v1/users/{name}", deleteUser},

		{"GET", "/api/v1/providers", listProviders},
		{"POST", "/api/v1/providers", createProvider},
		{"GET", "/api/v1/providers/{provider}", getProvider},
		{"PATCH", "/api/v1/providers/{provider}", patchProvider},
		{"DELETE", "/api/v1/providers/{provider}", deleteProvider},
		{"POST", "/api/v1/providers/{provider}/allocations", allocate},
		{"DELETE", "/api/v1/providers/{provider}/allocations/{range}", release},
		{"GET", "/api/v1/providers/{provider}/signals", getProviderSignals}, // provider_signals.go
		{"PUT", "/api/v1/providers/{provider}/signals", putProviderSignals},
		{"GET", "/api/v1/providers/{provider}/stir", getProviderStir},     // providerstir.go
		{"PATCH", "/api/v1/providers/{provider}/stir", patchProviderStir}, // providerstir.go

		{"GET", "/api/v1/subscribers", listSubscribers},
		{"POST", "/api/v1/subscribers", createSubscriber},
		{"GET", "/api/v1/subscribers/{subscriber}", getSubscriber},
		{"PATCH", "/api/v1/subscribers/{subscriber}", patchSubscriber},
		{"DELETE", "/api/v1/subscribers/{subscriber}", deleteSubscriber},
		{"POST", "/api/v1/subscribers/{subscriber}/numbers", assignNumbers},
		{"DELETE", "/api/v1/subscribers/{subscriber}/numbers/{number}", unassignNumber},
		{"POST", "/api/v1/subscribers/{subscriber}/numbers/remove", unassignNumbers}, // bulk.go
		{"PUT", "/api/v1/subscribers/{subscriber}/pin", setPIN},
		{"DELETE", "/api/v1/subscribers/{subscriber}/pin", clearPIN},
		{"GET", "/api/v1/subscribers/{subscriber}/pin/lockout", getPINLockout}, // pinlock.go
		{"DELETE", "/api/v1/subscribers/{subscriber}/pin/lockout", clearPINLockout},
		{"GET", "/api/v1/pin-lockouts", listPINLockouts},
		{"GET", "/api/v1/subscribers/{subscriber}/treatment", getTreatment}, // treatment.go

		{"GET", "/api/v1/lists/{owner}/{list}", getList},
		{"POST", "/api/v1/lists/{owner}/{list}", addToList},
		{"DELETE", "/api/v1/lists/{owner}/{list}/{number}", removeFromList},
		{"POST", "/api/v1/lists/{owner}/{list}/remove", removeFromListBulk}, // bulk.go
		{"GET", "/api/v1/lists/export", exportLists},                        // export.go
		{"POST", "/api/v1/lists/import", importLists},
		{"POST", "/api/v1/subscribers:import", importSubscribers},
		{"GET", "/api/v1/subscribers:count", countSubscribers}, // tenants.go

		{"GET", "/api/v1/enterprises", listEnterprises},
		{"POST", "/api/v1/enterprises", createEnterprise},
		{"GET", "/api/v1/enterprises/{enterprise}", getEnterprise},
		{"DELETE", "/api/v1/enterprises/{enterprise}", deleteEnterprise},
		{"GET", "/api/v1/enterprises/{enterprise}/signals", getEnterpriseSignals},     // enterprisesignals.go
		{"PATCH", "/api/v1/enterprises/{enterprise}/signals", patchEnterpriseSignals}, // enterprisesignals.go
		{"POST", "/api/v1/enterprises/{enterprise}/token", issueEnterpriseToken},      // enterprisesignals.go
		{"DELETE", "/api/v1/enterprises/{enterprise}/keys", revokeEnterpriseKeys},     // keys.go

		{"GET", "/api/v1/routes", listRoutes},
		{"PUT", "/api/v1/routes/{route}", putRoute},
		{"DELETE", "/api/v1/routes/{route}", deleteRoute},
		{"PUT", "/api/v1/default-route", putDefaultRoute},

		{"GET", "/api/v1/decisions", searchDecisions},
		{"GET", "/api/v1/decisions/{at}", decisionStory},
		{"POST", "/api/v1/decide", decide},

		{"GET", "/api/v1/audit", searchAudit},

		{"GET", "/api/v1/fraud/groups", fraudStatus},
		{"GET", "/api/v1/fraud/groups/{group}", fraudGroupStatus},
		{"GET", "/api/v1/fraud/groups/{group}/history", fraudHistory},
		{"POST", "/api/v1/fraud/groups/{group}/unlock", fraudUnlock},
		{"POST", "/api/v1/fraud/rates", fraudRatesImport},
		{"GET", "/api/v1/fraud/rates", fraudRateVersions},
		{"POST", "/api/v1/fraud/cdrs", fraudCDRs},
	}
}

// routes builds the handler: the OpenAPI document without authentication,
// every route behind it, except the enterprises' POST /api/v1/keys, which
// takes their own API token (keys.go).
func (t *Tier) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(openapiDoc)
	})
	for _, rt := range t.routeTable() {
		mux.HandleFunc(rt.method+" "+rt.pattern, func(w http.ResponseWriter, r *http.Request) {
			p, ok := t.authenticate(w, r)
			if !ok {
				return
			}
			r = r.WithContext(withPrincipal(r.Context(), p))
			if p.local == "" { // the owner's socket takes imports of any size, as the store file does
				r.Body = http.MaxBytesReader(w, r.Body, t.bodyLimit(rt.pattern))
			}
			c := &call{w: w, r: r, t: t, actor: actorOf(p)}
			status, body, err := rt.handle(c)
			if err != nil {
				if statusOf(err) == http.StatusInternalServerError {
					var ae *apiError
					if !errors.As(err, &ae) || ae.status == 0 {
						t.log.Error("api", "method", r.Method, "path", r.URL.Path, "err", err)
					}
				}
				writeProblem(w, err)
				return
			}
			if _, ok := body.(written); ok {
				return // the handler wrote its answer (a CSV stream, a streamed import)
			}
			if body == nil {
				w.WriteHeader(status)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			_ = enc.Encode(body)
		})
	}
	// The enterprises' key registration authenticates with their own
	// token, not a management one (keys.go).
	mux.HandleFunc("POST /api/v1/keys", t.serveKeys)
	mux.HandleFunc("DELETE /api/v1/keys", t.serveKeys)
	mux.HandleFunc("DELETE /api/v1/keys/{calling}/{called}", t.serveKeys)
	t.uiRoutes(mux)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/ui/", http.StatusSeeOther) })
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, &apiError{status: http.StatusNotFound, field: "path",
			err: fmt.Errorf("%s %s: no such operation (see /api/v1/openapi.json)", r.Method, r.URL.Path)})
	})
	return mux
}

// decode reads the JSON body into v, refusing unknown members; a type
// error names the member.
func (c *call) decode(v any) error {
	dec := json.NewDecoder(c.r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return badRequest(te.Field, "member %q: want a %s", te.Field, te.Type)
		}
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &apiError{status: http.StatusRequestEntityTooLarge, field: "body", err: err}
		}
		if errors.Is(err, io.EOF) {
			return badRequest("body", "empty body: want a JSON object")
		}
		if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			f = strings.Trim(f, `"`)
			return badRequest(f, "unknown member %q", f)
		}
		// Errors of our own UnmarshalText (a bad treatment or permission)
		// say what is wrong; the member is not known here.
		return badRequest("body", "%v", err)
	}
	return nil
}

// ifMatch returns the revisions of a required If-Match header: nil for
// "*" (any current representation, RFC 9110 §13.1.1: the write proceeds
// without a revision check), else the revisions its strong entity tags
// name, one of which the object must be at (see match).
func (c *call) ifMatch() ([]int64, error) {
	h := strings.TrimSpace(c.r.Header.Get("If-Match"))
	if h == "" {
		return nil, &apiError{status: http.StatusPreconditionRequired, field: "If-Match",
			err: errors.New("send If-Match with the ETag of the object as you read it, so a concurrent change is not overwritten")}
	}
	return parseIfMatch(h)
}

// optIfMatch returns the If-Match revisions, nil when the header is absent.
func (c *call) optIfMatch() ([]int64, error) {
	if c.r.Header.Get("If-Match") == "" {
		return nil, nil
	}
	return c.ifMatch()
}

// at is the caller's actor with the If-Match precondition revs.
func (c *call) at(revs []int64) store.Actor { return c.actor.AtAny(revs) }

func etag(rev int64) string { return `"` + strconv.FormatInt(rev, 10) + `"` }

// parseIfMatch reads an If-Match field value (RFC 9110 §13.1.1): "*", or
// a comma-separated list of entity tags. If-Match compares strongly, so a
// weak tag (W/"5") never matches, nor does a tag that is not one of our
// revisions: a list with no tag that could match is 412 at once, as the
// RFC requires, rather than 400. A value that is not entity-tag syntax at
// all is 400.
func parseIfMatch(h string) ([]int64, error) {
	if strings.TrimSpace(h) == "*" {
		return nil, nil
	}
	var revs []int64
	for m := range strings.SplitSeq(h, ",") {
		m = strings.TrimSpace(m)
		if m == "" {
			continue // RFC 9110 §5.6.1: empty list elements are ignored
		}
		weak := strings.HasPrefix(m, "W/")
		opaque := strings.TrimPrefix(m, "W/")
		if len(opaque) < 2 || opaque[0] != '"' || opaque[len(opaque)-1] != '"' || strings.Contains(opaque[1:len(opaque)-1], `"`) {
			return nil, badRequest("If-Match", "If-Match %q: want \"*\" or ETags as returned by GET (quoted revisions, comma-separated)", h)
		}
		if weak {
			continue
		}
		rev, err := strconv.ParseInt(opaque[1:len(opaque)-1], 10, 64)
		if err != nil || rev <= 0 || strconv.FormatInt(rev, 10) != opaque[1:len(opaque)-1] {
			continue
		}
		revs = append(revs, rev)
	}
	if len(revs) == 0 {
		return nil, &apiError{status: http.StatusPreconditionFailed, field: "If-Match",
			err: fmt.Errorf("If-Match %q names no current ETag (If-Match compares strongly: a weak W/ tag never matches): send the ETag as returned by GET", h)}
	}
	return revs, nil
}

func (c *call) setETag(rev int64) {
	if rev > 0 {
		c.w.Header().Set("ETag", etag(rev))
	}
}

// limit parses the limit query parameter (default def, at most max).
func (c *call) limit(def, max int) (int, error) {
	s := c.r.URL.Query().Get("limit")
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > max {
		return 0, badRequest("limit", "limit %q: want 1 to %d", s, max)
	}
	return n, nil
}

// Cursors are opaque to clients: base64url of the position to continue
// after.
func encodeCursor(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func (c *call) cursor() (string, error) {
	s := c.r.URL.Query().Get("cursor")
	if s == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return "", badRequest("cursor", "cursor %q: not one this API returned (pass next_cursor unchanged)", s)
	}
	return string(b), nil
}

// page is one page of a collection.
type page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
	Total      int    `json:"total,omitempty"`
	Revision   int64  `json:"revision,omitempty"`
}
