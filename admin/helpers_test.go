package admin

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"callgate/store"
	"callgate/store/storetest"
)

// fixture is an API over a store with two providers (acme, globex), each
// with one subscriber (alice, bob), one enterprise (initech, umbrella)
// and a Blocked-list entry, and a token for every principal.
type fixture struct {
	st     *store.Store
	srv    *httptest.Server
	tokens map[string]string // "operator", "acme", "globex", "alice", "bob"
}

func newFixture(t testing.TB, opts ...Option) *fixture {
	t.Helper()
	st := storetest.Open(t)
	op := store.Operator
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := st.SetRoute(op, store.RouteSpec{Name: "east", SIPURI: "sip:b2bua.example"})
	must(err)
	tenants := []struct{ prov, first, sub, ent string }{
		{"acme", "+12025550100", "alice", "initech"},
		{"globex", "+13035550100", "bob", "umbrella"},
	}
	f := &fixture{st: st, tokens: map[string]string{}}
	for _, tn := range tenants {
		_, err := st.CreateProvider(op, store.ProviderSpec{Name: tn.prov})
		must(err)
		r, err := store.ParseRange(tn.first + ".." + tn.first[:len(tn.first)-2] + "99")
		must(err)
		must(st.AllocateNumbers(op, tn.prov, r))
		_, err = st.CreateSubscriber(op, store.SubscriberSpec{Name: tn.sub, Provider: tn.prov, Numbers: []string{tn.first}})
		must(err)
		_, err = st.CreateEnterprise(op, store.EnterpriseSpec{Name: tn.ent, Provider: tn.prov, Numbers: []string{tn.first[:len(tn.first)-2] + "50"}})
		must(err)
		_, err = st.AddToList(op, tn.sub, store.ListBlocked, []string{"+19005550100"}, "secret of "+tn.sub)
		must(err)
		_, err = st.AddToList(op, store.ProviderPrefix+tn.prov, store.ListBlocked, []string{"+19005550101"}, "secret of "+tn.prov)
		must(err)
		_, err = st.AddToList(op, store.ProviderPrefix+tn.prov, store.ListVIP, []string{"+19115550102"}, "secret of "+tn.prov+" vip")
		must(err)
	}
	for name, a := range map[string]store.Actor{
		"operator": op, "acme": store.ProviderActor("acme"), "globex": store.ProviderActor("globex"),
		"alice": store.SubscriberActor("alice"), "bob": store.SubscriberActor("bob"),
	} {
		_, tok, err := st.CreateAPIToken(op, a, "test", time.Hour)
		must(err)
		f.tokens[name] = tok
	}
	tier, err := New(Config{Listen: "127.0.0.1:0"}, st, opts...)
	must(err)
	f.srv = httptest.NewServer(tier.Handler())
	t.Cleanup(f.srv.Close)
	return f
}

// do sends a request as who ("" = no token) and returns the status, the
// body and the response headers.
func (f *fixture) do(t *testing.T, who, method, path string, body any, hdr ...string) (int, []byte, http.Header) {
	t.Helper()
	var rd io.Reader
	ctype := "application/json"
	switch b := body.(type) {
	case nil:
	case string:
		rd, ctype = strings.NewReader(b), "text/csv"
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, f.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", ctype)
	}
	if who != "" {
		req.Header.Set("Authorization", "Bearer "+f.tokens[who])
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out, resp.Header
}

// want checks the status and decodes the body into v (if not nil).
func (f *fixture) want(t *testing.T, status int, who, method, path string, body, v any, hdr ...string) http.Header {
	t.Helper()
	got, out, h := f.do(t, who, method, path, body, hdr...)
	if got != status {
		t.Fatalf("%s %s as %q: status %d, want %d: %s", method, path, who, got, status, out)
	}
	if v != nil {
		if err := json.Unmarshal(out, v); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, out)
		}
	}
	return h
}
