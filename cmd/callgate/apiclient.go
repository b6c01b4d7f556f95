package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"

	"callgate/admin"
	"callgate/store"
)

// apiClient speaks the management API (/api/v1) on the daemon's unix
// socket. No token is sent: the daemon names the caller by the socket's
// peer credentials. Every request names the store file this command means
// (admin.StoreHeader), so a daemon of another store refuses instead of
// answering in its place.
type apiClient struct {
	ctx    context.Context
	hc     *http.Client
	socket string
	store  string
}

func newAPIClient(ctx context.Context, socket, storePath string) *apiClient {
	if ctx == nil {
		ctx = context.Background()
	}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
		DisableCompression: true,
	}
	return &apiClient{ctx: ctx, hc: &http.Client{Transport: tr}, socket: socket, store: storePath}
}

// close closes the connections kept for more requests (a command is
// done with the daemon).
func (a *apiClient) close() { a.hc.CloseIdleConnections() }

// problem is the daemon's RFC 9457 answer to a refused request.
type problem struct {
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Field  string `json:"field"`
	Errors []struct {
		Line  int    `json:"line"`
		Error string `json:"error"`
	} `json:"errors"`
}

// apiError is a refused request: its message is the daemon's (the store's
// error, as the command would have had it on the file), and it matches
// the store's sentinel errors by status.
type apiError struct{ problem }

func (e *apiError) Error() string {
	if e.Status == http.StatusInternalServerError {
		return "the daemon failed with an internal error (see its log)"
	}
	return e.Detail
}

func (e *apiError) Is(target error) bool {
	switch e.Status {
	case http.StatusNotFound:
		return target == store.ErrNotFound
	case http.StatusForbidden:
		return target == store.ErrForbidden
	case http.StatusPreconditionFailed:
		return target == store.ErrStale
	case http.StatusUnprocessableEntity:
		return target == store.ErrInvalid
	}
	return false
}

// path joins /api/v1 and the segments, each escaped.
func apiPath(segs ...string) string {
	var b strings.Builder
	b.WriteString("/api/v1")
	for _, s := range segs {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(s))
	}
	return b.String()
}

// request is one API call.
type request struct {
	method, path string
	query        url.Values
	json         any       // the body as JSON, or
	body         io.Reader // the body as is (CSV)
	ifMatch      string
}

// send sends req and returns the response of a 2xx answer (the caller
// closes its body); any other answer is an *apiError.
func (a *apiClient) send(req request) (*http.Response, error) {
	u := "http://callgate" + req.path
	if len(req.query) > 0 {
		u += "?" + req.query.Encode()
	}
	body, ctype := req.body, "text/csv"
	if req.json != nil {
		b, err := json.Marshal(req.json)
		if err != nil {
			return nil, err
		}
		body, ctype = bytes.NewReader(b), "application/json"
	}
	hr, err := http.NewRequestWithContext(a.ctx, req.method, u, body)
	if err != nil {
		return nil, err
	}
	if body != nil {
		hr.Header.Set("Content-Type", ctype)
	}
	if req.ifMatch != "" {
		hr.Header.Set("If-Match", req.ifMatch)
	}
	hr.Header.Set(admin.StoreHeader, a.store)
	resp, err := a.hc.Do(hr)
	if err != nil {
		return nil, fmt.Errorf("asking the daemon on its socket %s: %w", a.socket, err)
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var p problem
	if err := json.Unmarshal(b, &p); err != nil || p.Detail == "" {
		return nil, fmt.Errorf("the daemon on %s answered %s: %s", a.socket, resp.Status, strings.TrimSpace(string(b)))
	}
	p.Status = resp.StatusCode
	return nil, &apiError{p}
}

// do sends req and decodes a JSON answer into out (if not nil); it
// returns the answer's ETag.
func (a *apiClient) do(req request, out any) (etag string, err error) {
	resp, err := a.send(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return "", fmt.Errorf("reading the daemon's answer to %s %s: %w", req.method, req.path, err)
		}
	}
	return resp.Header.Get("ETag"), nil
}

// patch reads the object at path for its ETag and sends the change at
// that revision; when someone else changed the object in between (412) it
// reads it again and retries, a few times: a patch only sets the members
// it names, so it applies as well to the newer revision.
func (a *apiClient) patch(path string, change, out any) error {
	var err error
	for range 3 {
		var tag string
		if tag, err = a.do(request{method: http.MethodGet, path: path}, nil); err != nil {
			return err
		}
		if _, err = a.do(request{method: http.MethodPatch, path: path, json: change, ifMatch: tag}, out); !errors.Is(err, store.ErrStale) {
			return err
		}
	}
	return err
}
